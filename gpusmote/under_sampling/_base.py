"""What the under-samplers and cleaning methods share: keep a subset of the rows."""

from __future__ import annotations

import numpy as np
import torch

from .._io import Kept
from ..base import BaseSampler

__all__ = ["BaseUnderSampler", "BaseCleaningSampler"]


class BaseUnderSampler(BaseSampler):
    """Samplers whose output is a subset of the input rows, with ``sample_indices_``.

    Subclasses compute the kept indices (``_select``); the rows are taken from the
    user's own containers, so values, dtypes, pandas index labels and devices are kept.
    """

    _sampling_type = "under-sampling"
    _sets_sample_indices = True

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
        """All rows on the compute device, in their own dtype: the searches convert each
        tile, and the rest converts the rows it computes with."""
        return data.X.to(self.device_)


class BaseCleaningSampler(BaseUnderSampler):
    _sampling_type = "clean-sampling"
