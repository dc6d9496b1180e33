"""What the under-samplers and cleaning methods share: keep a subset of the rows."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._device import compute_dtype
from .._io import Kept, host_numpy
from .._validation import fmt_error
from ..base import BaseSampler, _clone
from ..neighbors import NearestNeighbors, kneighbors

__all__ = ["BaseUnderSampler", "BaseCleaningSampler"]


class BaseUnderSampler(BaseSampler):
    """Samplers whose output is a subset of the input rows, with ``sample_indices_``.

    Subclasses compute the kept indices (``_select``); the rows are taken from the
    user's own containers, so values, dtypes, pandas index labels and devices are kept.
    """

    _sampling_type = "under-sampling"

    def _fit_resample(self, data) -> Kept:
        return Kept(self._select(data))

    def _select(self, data) -> np.ndarray:
        """(r,) int64: the positions of the rows kept, in output order."""
        raise NotImplementedError

    def _cleaned(self, data) -> torch.Tensor:
        """(n_classes,) bool on the compute device: which classes ``sampling_strategy_``
        resamples, by class code."""
        return torch.tensor(
            [c in self.sampling_strategy_ for c in data.classes], device=self.device_
        )

    # neighbour searches shared by the methods ------------------------------------------

    def _points(self, data) -> torch.Tensor:
        """All rows on the compute device in the compute dtype (cached per fit)."""
        X = data.X.to(self.device_)
        return X.to(compute_dtype(X.dtype))

    def _neighbours(self, param: str, spec, X_all, queries, own, extra: int = 1):
        """imbalanced-learn's ``nn.fit(X_all).kneighbors(queries)[:, 1:]`` for ``queries``
        that are rows ``own`` of ``X_all``: ``spec`` neighbours (an int, searched with
        the engine excluding the row's own index) or an estimator's (its first column
        dropped)."""
        if isinstance(spec, numbers.Integral):
            k = int(spec)
            if k + extra > X_all.shape[0]:
                raise ValueError(
                    fmt_error(
                        param,
                        f"at most {X_all.shape[0] - extra} (the rows searched, less the row)",
                        k,
                    )
                )
            if queries.shape[0] == 0:  # nothing asked about (NCR: no misclassified row)
                return torch.empty((0, k), dtype=torch.int64, device=X_all.device)
            if extra:
                return kneighbors(X_all, k, rows=own, return_distance=False, **self._search())
            return kneighbors(
                X_all, k, Y=queries, exclude_self=False, return_distance=False, **self._search()
            )
        if queries.shape[0] == 0:
            width = int(getattr(spec, "n_neighbors", extra)) - extra
            return torch.empty((0, max(width, 0)), dtype=torch.int64, device=X_all.device)
        est = _clone(spec)
        ours = isinstance(est, NearestNeighbors)
        points = X_all if ours else host_numpy(X_all)
        est.fit(points)
        nns = est.kneighbors(queries if ours else host_numpy(queries), return_distance=False)
        nns = torch.as_tensor(nns).to(X_all.device, torch.int64)
        return nns[:, extra:].contiguous() if extra else nns


class BaseCleaningSampler(BaseUnderSampler):
    _sampling_type = "clean-sampling"
