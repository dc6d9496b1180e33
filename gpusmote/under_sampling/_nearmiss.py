"""NearMiss 1, 2 and 3: keep the majority rows closest to (or farthest from) the minority."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch

from .._docs import fill_doc
from .._io import host_numpy
from .._typing import Backend, Device, Memory, Neighbours, Strategy
from .._validation import check_neighbours, fmt_error
from ..neighbors import NearestNeighbors, kneighbors
from ..neighbors._farthest import farthest_distances
from ._base import BaseUnderSampler

__all__ = ["NearMiss"]


@fill_doc
class NearMiss(BaseUnderSampler):
    """NearMiss under-sampling, imbalanced-learn compatible.

    For each class to under-sample, rows are ranked by the mean distance to minority
    rows and the first ``n`` kept (stable order on ties, as Python's ``sorted``):

    - version 1: the ``n_neighbors`` nearest minority rows, smallest first;
    - version 2: the ``n_neighbors`` farthest minority rows, smallest first;
    - version 3: among the class's rows that are one of the ``n_neighbors_ver3``
      nearest of some minority row, the ``n_neighbors`` nearest minority rows, largest
      first (so fewer rows than asked may remain, with a warning, as there).

    Distances are exact (float64 differences), searched on the compute device; a
    neighbours object given as ``n_neighbors`` or ``n_neighbors_ver3`` searches instead
    (with its own metric), on the host.
    ``sample_indices_`` equals imbalanced-learn's: class by class, each in rank order.

    Parameters
    ----------
    {sampling_strategy_under}
    version : {1, 2, 3}, default=1
    n_neighbors : int or object with ``kneighbors``, default=3
        Minority rows whose mean distance ranks each row.
    n_neighbors_ver3 : int or object with ``kneighbors``, default=3
        Version 3: the nearest rows of each minority row that stay candidates.
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import NearMiss
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = NearMiss(version=1).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [20, 20]
    """

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        version: int = 1,
        n_neighbors: Neighbours = 3,
        n_neighbors_ver3: Neighbours = 3,
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.version = version
        self.n_neighbors = n_neighbors
        self.n_neighbors_ver3 = n_neighbors_ver3
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _check_params(self):
        super()._check_params()
        if self.version not in (1, 2, 3) or isinstance(self.version, bool):
            raise ValueError(fmt_error("version", "1, 2 or 3", self.version))
        check_neighbours(self.n_neighbors, "n_neighbors")
        check_neighbours(self.n_neighbors_ver3, "n_neighbors_ver3")

    def _k(self, spec) -> int:
        return int(spec) if isinstance(spec, numbers.Integral) else int(spec.n_neighbors)

    def _as_estimator(self, spec):
        """imbalanced-learn's ``nn_`` / ``nn_ver3_``: the neighbours object given, cloned,
        or for an int a `gpusmote.neighbors.NearestNeighbors` of that many."""
        if isinstance(spec, numbers.Integral):
            return NearestNeighbors(
                n_neighbors=int(spec), n_jobs=self.n_jobs, **self._search_kwargs()
            )
        return self._estimator(spec)

    def _distances(self, database, queries, k: int):
        """(q, k) distances of each query's k nearest rows of ``database``, ascending:
        gpusmote's exact search, or the ``n_neighbors`` object's own (its metric)."""
        if k > database.shape[0]:
            raise ValueError(
                fmt_error(
                    "n_neighbors",
                    f"at most the number of minority rows ({database.shape[0]})",
                    k,
                )
            )
        if not isinstance(self.n_neighbors, numbers.Integral):
            return self._object_search(self.n_neighbors, database, queries, k)[0]
        dist, _ = kneighbors(database, k, Y=queries, exclude_self=False, **self._search_kwargs())
        return dist.to(torch.float64)

    def _object_search(self, spec, database, queries, k: int):
        """``clone(spec).fit(database).kneighbors(queries, n_neighbors=k)`` as tensors."""
        est = self._estimator(spec)
        est.fit(host_numpy(database))
        dist, ind = est.kneighbors(host_numpy(queries), n_neighbors=k)
        dev = queries.device
        return torch.as_tensor(dist, dtype=torch.float64, device=dev), torch.as_tensor(
            ind, device=dev
        )

    def _select(self, data) -> np.ndarray:
        X, codes = self._points(data), data.codes.to(self.device_)
        counts = data.class_counts()
        minority = min(counts, key=counts.get)
        mi = data.classes.index(minority)
        X_min = X[codes == mi]
        k = self._k(self.n_neighbors)
        self.nn_ = self._as_estimator(self.n_neighbors)
        if self.version == 3:
            self.nn_ver3_ = self._as_estimator(self.n_neighbors_ver3)
        parts = []
        for ci, label in enumerate(data.classes):
            members = (codes == ci).nonzero().squeeze(1)
            if label not in self.sampling_strategy_:
                parts.append(members.cpu().numpy())
                continue
            n = self.sampling_strategy_[label]
            X_c = X[members]
            if self.version == 1:
                score = self._distances(X_min, X_c, k).sum(1)
                order = _stable_order(score, descending=False)
                chosen = order
            elif self.version == 2:
                if isinstance(self.n_neighbors, numbers.Integral):
                    far = farthest_distances(X_min, X_c, k, self.max_memory)
                else:  # the object's metric: all minority distances, as imbalanced-learn
                    far = self._object_search(self.n_neighbors, X_min, X_c, X_min.shape[0])[0]
                    far = far[:, -k:]
                score = far.sum(1)
                chosen = _stable_order(score, descending=False)
            else:
                k3 = self._k(self.n_neighbors_ver3)
                if k3 > X_c.shape[0]:
                    raise ValueError(
                        fmt_error(
                            "n_neighbors_ver3",
                            f"at most the number of rows of class {label!r} ({X_c.shape[0]})",
                            k3,
                        )
                    )
                if isinstance(self.n_neighbors_ver3, numbers.Integral):
                    near = kneighbors(
                        X_c,
                        k3,
                        Y=X_min,
                        exclude_self=False,
                        return_distance=False,
                        **self._search_kwargs(),
                    )
                else:
                    near = self._object_search(self.n_neighbors_ver3, X_c, X_min, k3)[1]
                candidates = torch.unique(near.reshape(-1))  # sorted, as np.unique
                score = self._distances(X_min, X_c[candidates], k).sum(1)
                chosen = candidates.cpu().numpy()[_stable_order(score, descending=True)]
            if len(chosen) < n:
                warnings.warn(
                    "The number of the samples to be selected is larger than the number of "
                    "samples available. The balancing ratio cannot be ensure and all samples "
                    "will be returned.",
                    UserWarning,
                    stacklevel=5,  # the caller of fit_resample
                )
            parts.append(members.cpu().numpy()[np.asarray(chosen[:n], dtype=np.int64)])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _stable_order(score: torch.Tensor, *, descending: bool) -> np.ndarray:
    """Python's ``sorted(range(n), key=score, reverse=descending)``: stable both ways."""
    values = score.cpu().numpy()
    keys = -values if descending else values
    return np.argsort(keys, kind="stable")
