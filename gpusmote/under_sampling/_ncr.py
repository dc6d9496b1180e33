"""NeighbourhoodCleaningRule: ENN, plus the neighbours of misclassified minority rows."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._docs import fill_doc
from .._io import host_numpy
from .._typing import Backend, Device, Memory, Neighbours, Strategy
from .._validation import check_neighbours, fmt_error
from .._votes import mode_rows
from ._base import BaseCleaningSampler
from ._enn import EditedNearestNeighbours

__all__ = ["NeighbourhoodCleaningRule"]


@fill_doc
class NeighbourhoodCleaningRule(BaseCleaningSampler):
    """Neighbourhood cleaning rule, imbalanced-learn compatible.

    Removes the rows that ``edited_nearest_neighbours`` removes (default: ENN with
    ``n_neighbors`` and ``kind_sel="mode"``), and, for each minority row that its
    ``n_neighbors`` nearest rows (itself included, as a k-NN classifier votes; ties to
    the smallest label) misclassify, its ``n_neighbors`` nearest other rows that belong
    to a class to clean with more than ``threshold_cleaning`` times the minority's
    rows. ``sample_indices_`` equals imbalanced-learn's (kept rows in original order).

    Parameters
    ----------
    {sampling_strategy_clean}
    edited_nearest_neighbours : None or an ENN sampler (gpusmote's or
        imbalanced-learn's), cloned
    n_neighbors : int or a ``NearestNeighbors`` (its ``n_neighbors - 1``), default=3
    threshold_cleaning : float, default=0.5
        A class is cleaned of a misclassified minority row's neighbours only when it has
        more than this times the minority's rows.
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Attributes
    ----------
    sample_indices_, classes_to_clean_

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import NeighbourhoodCleaningRule
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = NeighbourhoodCleaningRule().fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [39, 20]
    """

    _sparse_native = True

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        edited_nearest_neighbours: object | None = None,
        n_neighbors: Neighbours = 3,
        threshold_cleaning: float = 0.5,
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.edited_nearest_neighbours = edited_nearest_neighbours
        self.n_neighbors = n_neighbors
        self.threshold_cleaning = threshold_cleaning
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _check_params(self):
        super()._check_params()
        check_neighbours(self.n_neighbors, "n_neighbors")
        t = self.threshold_cleaning
        if not isinstance(t, numbers.Real) or isinstance(t, bool) or not t > 0:
            raise ValueError(fmt_error("threshold_cleaning", "a float > 0", t))
        enn = self.edited_nearest_neighbours
        if enn is not None and not hasattr(enn, "fit_resample"):
            raise TypeError(
                fmt_error("edited_nearest_neighbours", "None or a sampler with fit_resample", enn)
            )

    def _k(self) -> int:
        """The classifier's k: the int; a neighbours object's ``n_neighbors - 1`` (it
        counted the row itself); a k-NN classifier's own ``n_neighbors``."""
        k = self.n_neighbors
        if isinstance(k, numbers.Integral):
            return int(k)
        return int(k.n_neighbors) - (0 if hasattr(k, "predict") else 1)

    def _enn(self):
        if self.edited_nearest_neighbours is not None:
            return self._estimator(self.edited_nearest_neighbours)
        return EditedNearestNeighbours(
            sampling_strategy=self.sampling_strategy,
            n_neighbors=self.n_neighbors,
            kind_sel="mode",
            n_jobs=self.n_jobs,
            device=self.device_,
            backend=self.backend,
            max_memory=self.max_memory,
        )

    def _select(self, data) -> np.ndarray:
        X, codes = self._points(data), data.codes.to(self.device_)
        n = X.shape[0]
        enn = self._enn()
        ours = type(enn).__module__.startswith("gpusmote.")
        enn.fit_resample(data.X_in if ours else host_numpy(data.X), _labels_for(data, ours))
        self.edited_nearest_neighbours_ = enn
        removed = torch.ones(n, dtype=torch.bool, device=X.device)
        removed[torch.as_tensor(np.asarray(enn.sample_indices_), device=X.device)] = False
        counts = data.class_counts()
        minority = min(counts, key=counts.get)
        self.classes_to_clean_ = [
            c
            for c, count in counts.items()
            if c in self.sampling_strategy_ and count > counts[minority] * self.threshold_cleaning
        ]
        clean = torch.tensor([c in self.classes_to_clean_ for c in data.classes], device=X.device)
        mi = data.classes.index(minority)
        members = (codes == mi).nonzero().squeeze(1)
        k = self._k()
        # the k-NN classifier's vote: k nearest of all rows, the row itself included
        voters = self._neighbours("n_neighbors", k, X, own=members, extra=0, attr="nn_")
        wrong = mode_rows(codes[voters]) != mi
        others = self._neighbours("n_neighbors", k, X, own=members[wrong])
        if not isinstance(self.n_neighbors, numbers.Integral):
            self.nn_ = self._estimator(self.n_neighbors)  # imbalanced-learn's nn_
        flagged = torch.unique(others.reshape(-1))
        removed[flagged[clean[codes[flagged]]]] = True
        return (~removed).nonzero().squeeze(1).cpu().numpy()


def _labels_for(data, ours: bool):
    if ours:
        return data.y_in
    if isinstance(data.y_in, torch.Tensor):
        return data.y_in.cpu().numpy()
    return data.labels_for_callable()
