"""Edited nearest neighbours and the methods that repeat it: ENN, RENN, AllKNN."""

from __future__ import annotations

import numbers
from collections import Counter

import numpy as np
import torch

from .._docs import fill_doc
from .._io import Kept
from .._strategy import resolve
from .._typing import Backend, Device, Memory, Neighbours, Strategy
from .._validation import check_bool, check_int, check_neighbours, fmt_error
from .._votes import mode_rows
from ..neighbors import NearestNeighbors
from ._base import BaseCleaningSampler

__all__ = ["EditedNearestNeighbours", "RepeatedEditedNearestNeighbours", "AllKNN", "enn_keeps"]

_KINDS = ("all", "mode")


def enn_keeps(neighbour_codes: torch.Tensor, own: torch.Tensor, kind_sel: str) -> torch.Tensor:
    """ENN's rule, (r,) bool: a row stays when the classes ``neighbour_codes`` (r, k) of
    its neighbours agree with its own ``own`` (r,): all of them (``kind_sel="all"``) or
    their most frequent (``"mode"``, ties to the smallest code)."""
    if kind_sel == "mode":
        return mode_rows(neighbour_codes) == own
    return (neighbour_codes == own.unsqueeze(1)).all(1)


def _check_kind(kind_sel) -> None:
    if kind_sel not in _KINDS:
        raise ValueError(fmt_error("kind_sel", '"all" or "mode"', kind_sel))


class _ENNCore(BaseCleaningSampler):
    """One ENN pass as a function of the rows still in play."""

    _sparse_native = True

    def _enn_pass(self, X, codes, classes, strategy, n_neighbors, kind_sel):
        """Kept positions (into ``X``) after one ENN pass, class by class in sorted
        order, each class's rows in their order (imbalanced-learn's layout)."""
        counts = torch.bincount(codes, minlength=len(classes)).tolist()
        present = {c: n for c, n in zip(classes, counts, strict=True) if n}
        y_now = (
            np.asarray(classes, dtype=object)[codes.cpu().numpy()] if callable(strategy) else None
        )
        cleaned = resolve(strategy, present, "clean-sampling", y=y_now)
        groups = [(ci, (codes == ci).nonzero().squeeze(1)) for ci in range(len(classes))]
        # one search for the rows of every class cleaned (on the CPU, a self-search of
        # all rows when they are most of them), split by class below
        asked = [m for ci, m in groups if classes[ci] in cleaned and m.numel()]
        table, at = None, 0
        if asked:
            rows = torch.cat(asked)
            table = self._neighbours("n_neighbors", n_neighbors, X, own=rows, attr="nn_")
        kept = []
        for ci, members in groups:
            if members.numel() == 0:
                continue
            if classes[ci] not in cleaned:
                kept.append(members)
                continue
            nns, at = table[at : at + members.numel()], at + members.numel()
            kept.append(members[enn_keeps(codes[nns], codes[members], kind_sel)])
        return torch.cat(kept) if kept else codes.new_zeros(0)

    def _inner_enn(self, n_neighbors):
        """``enn_``: the EditedNearestNeighbours each pass applies (imbalanced-learn's
        fitted attribute of RENN and AllKNN; here unfitted, its parameters only)."""
        return EditedNearestNeighbours(
            sampling_strategy=self.sampling_strategy,
            n_neighbors=n_neighbors,
            kind_sel=self.kind_sel,
            n_jobs=self.n_jobs,
            device=self.device,
            backend=self.backend,
            max_memory=self.max_memory,
        )

    def _check_enn(self):
        check_neighbours(self.n_neighbors, "n_neighbors")
        _check_kind(self.kind_sel)


@fill_doc
class EditedNearestNeighbours(_ENNCore):
    """Edited nearest neighbours, imbalanced-learn compatible.

    A row of a class to clean is removed when its ``n_neighbors`` nearest rows (of all
    rows, itself excluded) disagree with it: any of them of another class
    (``kind_sel="all"``) or their most frequent class another (``"mode"``, ties to the
    smallest label). One search on the compute device. ``sample_indices_`` equals
    imbalanced-learn's: class by class in sorted order, each in its original order.

    Parameters
    ----------
    {sampling_strategy_clean}
    {n_neighbors_clean}
    {kind_sel}
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import EditedNearestNeighbours
    >>> X = np.r_[np.zeros((10, 2)), np.ones((3, 2)), [[0.01, 0.0]]]
    >>> y = np.r_[np.zeros(10, int), np.ones(3, int), [0]]
    >>> X_res, y_res = EditedNearestNeighbours(n_neighbors=2).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [11, 3]
    """

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        n_neighbors: Neighbours = 3,
        kind_sel: str = "all",
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _check_params(self):
        super()._check_params()
        self._check_enn()

    def _select(self, data) -> np.ndarray:
        X, codes = self._points(data), data.codes.to(self.device_)
        kept = self._enn_pass(
            X, codes, data.classes, self.sampling_strategy, self.n_neighbors, self.kind_sel
        )
        return kept.cpu().numpy()


def _stop_counts(codes_kept, classes, target_counts):
    """(a class other than the original minority fell below it, a class vanished)."""
    minority = min(target_counts, key=target_counts.get)
    now = Counter(classes[int(c)] for c in codes_kept.tolist())
    below = any(n < target_counts[minority] for c, n in now.items() if c != minority)
    return below, len(now) < len(target_counts)


@fill_doc
class RepeatedEditedNearestNeighbours(_ENNCore):
    """ENN repeated until nothing changes, a class other than the minority becomes
    smaller than the minority, a class disappears, or ``max_iter`` passes; as
    imbalanced-learn (including how it composes ``sample_indices_`` on convergence).

    Parameters
    ----------
    {sampling_strategy_clean}
    {n_neighbors_clean}
    {kind_sel}
    {n_jobs}
    {device}
    {backend}
    {max_memory}
    max_iter : int, default=100
        The most ENN passes.

    Attributes
    ----------
    sample_indices_ : ndarray of the kept rows' indices
    n_iter_ : int
        The passes run.

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import RepeatedEditedNearestNeighbours
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = RepeatedEditedNearestNeighbours().fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [29, 20]
    """

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        n_neighbors: Neighbours = 3,
        max_iter: int = 100,
        kind_sel: str = "all",
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.max_iter = max_iter
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _check_params(self):
        super()._check_params()
        self._check_enn()
        check_int(self.max_iter, "max_iter", minimum=1)

    def _select(self, data) -> np.ndarray:
        X, codes = self._points(data), data.codes.to(self.device_)
        target = data.class_counts()
        index = torch.arange(X.shape[0], device=self.device_)
        X_, codes_ = X, codes
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            prev = codes_.numel()
            kept = self._enn_pass(
                X_, codes_, data.classes, self.sampling_strategy, self.n_neighbors, self.kind_sel
            )
            converged = prev == kept.numel()
            below, vanished = _stop_counts(codes_[kept], data.classes, target)
            X_, codes_ = X_[kept], codes_[kept]
            index = index[kept]
            reported = index
            if converged or below or vanished:
                if converged:  # imbalanced-learn's sample_indices_ composes the last
                    # pass twice here; its rows are the pass's output, composed once
                    reported = index[kept]
                break
        self.n_iter_ = n_iter
        self.enn_ = self._inner_enn(self.n_neighbors)
        self._reported = reported.cpu().numpy()
        return index.cpu().numpy()

    def _fit_resample(self, data) -> Kept:
        rows = self._select(data)
        return Kept(rows, reported=self._reported)


@fill_doc
class AllKNN(_ENNCore):
    """ENN with 1, 2, ..., ``n_neighbors`` neighbours in turn, stopping early when a
    class other than the minority becomes smaller than it (unless
    ``allow_minority``) or a class disappears; as imbalanced-learn.

    Parameters
    ----------
    {sampling_strategy_clean}
    {n_neighbors_clean}
    {kind_sel}
    {n_jobs}
    {device}
    {backend}
    {max_memory}
    allow_minority : bool, default=False
        Whether a class other than the minority may become smaller than it.

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import AllKNN
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = AllKNN().fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [31, 20]
    """

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        n_neighbors: Neighbours = 3,
        kind_sel: str = "all",
        allow_minority: bool = False,
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.allow_minority = allow_minority
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _check_params(self):
        super()._check_params()
        self._check_enn()
        check_bool(self.allow_minority, "allow_minority")

    def _select(self, data) -> np.ndarray:
        X, codes = self._points(data), data.codes.to(self.device_)
        target = data.class_counts()
        k = self.n_neighbors
        total = int(k) if isinstance(k, numbers.Integral) else int(k.n_neighbors) - 1
        index = torch.arange(X.shape[0], device=self.device_)
        X_, codes_ = X, codes
        for size in range(1, total + 1):
            kept = self._enn_pass(
                X_, codes_, data.classes, self.sampling_strategy, size, self.kind_sel
            )
            below, vanished = _stop_counts(codes_[kept], data.classes, target)
            if self.allow_minority:
                below = False
            X_, codes_ = X_[kept], codes_[kept]
            index = index[kept]
            if below or vanished:
                break
        # imbalanced-learn's fitted attributes: the neighbours object of n_neighbors
        # (for an int, one of n_neighbors + 1) and the ENN of the last pass
        if isinstance(k, numbers.Integral):
            self.nn_ = NearestNeighbors(
                n_neighbors=total + 1, n_jobs=self.n_jobs, **self._search_kwargs()
            )
        else:
            self.nn_ = self._estimator(k)
        self.enn_ = self._inner_enn(size if total else 0)
        return index.cpu().numpy()
