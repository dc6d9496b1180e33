"""CondensedNearestNeighbour and OneSidedSelection: keep the rows a k-NN rule needs."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._docs import fill_doc
from .._io import host_numpy
from .._random import Stream, check_random_state
from .._typing import Backend, Device, Memory, Neighbours, RandomState, Strategy
from .._validation import check_int, fmt_error
from .._votes import mode_rows
from ..neighbors import KNeighborsClassifier, kneighbors
from ._base import BaseCleaningSampler
from ._tomek import links_among

__all__ = ["CondensedNearestNeighbour", "OneSidedSelection"]


def _check_classifier_k(value) -> int:
    """``n_neighbors``: None (1), an int, or a k-NN classifier (its ``n_neighbors``;
    Euclidean distance and uniform weights only)."""
    if value is None:
        return 1
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return check_int(value, "n_neighbors", minimum=1)
    k = getattr(value, "n_neighbors", None)
    metric = getattr(value, "metric", "minkowski")
    euclidean = metric == "euclidean" or (metric == "minkowski" and getattr(value, "p", 2) == 2)
    if (
        isinstance(k, numbers.Integral)
        and euclidean
        and getattr(value, "weights", "uniform") == "uniform"
    ):
        return int(k)
    raise TypeError(
        fmt_error(
            "n_neighbors",
            "None, an int or a KNeighborsClassifier (Euclidean, uniform weights)",
            value,
        )
    )


class _KNNState:
    """Each S row's k nearest rows of a growing reference set C, and its vote."""

    def __init__(self, C, c_codes, S, k, search):
        self.k, self.codes = k, c_codes
        self.S = S.to(torch.float64)
        dist, pos = kneighbors(C, k, Y=S, exclude_self=False, **search)
        self.dist, self.pos = dist.to(torch.float64), pos

    def add(self, row: torch.Tensor, code: torch.Tensor) -> None:
        """Append ``row`` (class ``code``) to C: it displaces a neighbour only when
        strictly nearer (ties keep the earlier, lower-position row)."""
        d = (self.S - row.to(torch.float64)).square().sum(1).sqrt()
        new_pos = self.codes.numel()
        self.codes = torch.cat([self.codes, code.reshape(1)])
        better = d < self.dist[:, -1]
        if bool(better.any()):
            dist = torch.cat([self.dist[better], d[better, None]], 1)
            pos = torch.cat([self.pos[better], torch.full_like(self.pos[better, :1], new_pos)], 1)
            order = dist.argsort(dim=1, stable=True)[:, : self.k]
            self.dist[better] = dist.gather(1, order)
            self.pos[better] = pos.gather(1, order)

    def predict(self) -> torch.Tensor:
        """The k-NN vote of every S row (ties to the smallest class code)."""
        return mode_rows(self.codes[self.pos])


class _SeededKNN(BaseCleaningSampler):
    """Parameters and checks shared by CNN and OSS."""

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        n_neighbors: Neighbours | None = None,
        n_seeds_S: int = 1,
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.n_seeds_S = n_seeds_S
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _check_params(self):
        super()._check_params()
        rs = check_random_state(self.random_state)
        if isinstance(rs, torch.Generator):
            raise TypeError(
                fmt_error("random_state", "None, an int or a RandomState (not a Generator)", rs)
            )
        _check_classifier_k(self.n_neighbors)
        check_int(self.n_seeds_S, "n_seeds_S", minimum=1)

    def _select(self, data) -> np.ndarray:
        X, codes = self._points(data), data.codes.to(self.device_)
        k = _check_classifier_k(self.n_neighbors)
        rs = Stream(self.random_state, X.device).continuing()
        counts = data.class_counts()
        mi = data.classes.index(min(counts, key=counts.get))
        minority = (codes == mi).nonzero().squeeze(1)
        parts = []
        self.estimators_ = []
        for ci, label in enumerate(data.classes):
            members = (codes == ci).nonzero().squeeze(1)
            if label not in self.sampling_strategy_:
                parts.append(members)
                continue
            sel = rs.integers(counts[label], self.n_seeds_S)
            kept, rule = self._keep(X, codes, minority, members, sel.to(X.device), ci, k)
            parts.append(kept)
            self.estimators_.append(self._rule(X[rule], data, codes[rule], k))
        return self._finish_selection(X, codes, torch.cat(parts), data).cpu().numpy()

    def _keep(self, X, codes, minority, members, sel, ci, k):
        """``(kept, rule)``: the rows of class ``ci`` kept, given the seed positions
        ``sel``, and the rows of the k-NN rule that decided."""
        raise NotImplementedError

    def _rule(self, X_rule, data, codes_rule, k: int):
        """imbalanced-learn's ``estimators_`` entry: the k-NN rule fitted on its rows
        and their labels (the ``n_neighbors`` classifier given, cloned, or
        `gpusmote.neighbors.KNeighborsClassifier`)."""
        labels = np.asarray(data.classes, dtype=object)[codes_rule.cpu().numpy()]
        labels = labels.astype(np.asarray(data.classes).dtype)
        if isinstance(self.n_neighbors, numbers.Integral) or self.n_neighbors is None:
            clf = KNeighborsClassifier(k, n_jobs=self.n_jobs, **self._search_kwargs())
            return clf.fit(X_rule, labels)
        return self._estimator(self.n_neighbors).fit(host_numpy(X_rule), labels)

    def _finish_selection(self, X, codes, under, data) -> torch.Tensor:
        return under


@fill_doc
class CondensedNearestNeighbour(_SeededKNN):
    """Condensed nearest neighbour, imbalanced-learn compatible.

    For each class to under-sample: start from the minority rows and ``n_seeds_S``
    random rows of the class, then walk the class's rows in order and add each one the
    current k-NN rule misclassifies, as imbalanced-learn does (including which rows it
    skips). Each addition updates every row's neighbours incrementally on the compute
    device instead of refitting. Same ``sample_indices_`` as imbalanced-learn for the
    same integer ``random_state``.

    Parameters
    ----------
    {sampling_strategy_clean}
    {random_state_numpy}
    {n_neighbors_knn_rule}
    {n_seeds_S}
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import CondensedNearestNeighbour
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = CondensedNearestNeighbour(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [22, 20]
    """

    def _keep(self, X, codes, minority, members, sel, ci, k):
        chosen = self._condense(X, codes, minority, members, members[sel], ci, k)
        return chosen, torch.cat([minority, chosen])

    def _condense(self, X, codes, minority, members, seeds, ci, k) -> torch.Tensor:
        C = torch.cat([minority, seeds])
        state = _KNNState(X[C], codes[C], X[members], k, self._search_kwargs())
        n_s = members.numel()
        positions = torch.arange(n_s, device=X.device)
        # imbalanced-learn skips a position p when p is among the chosen rows' *indices*
        # (it compares a position with row indices) or, after the first addition, when
        # the current rule classifies row p correctly
        skip = torch.zeros(n_s, dtype=torch.bool, device=X.device)
        small = seeds[seeds < n_s]
        skip[small] = True
        chosen = seeds.clone()
        wrong = state.predict() != ci
        candidates = wrong & ~skip  # before any addition, only the skip list counts
        start = 0
        while True:
            later = candidates & (positions >= start)
            if not bool(later.any()):
                break
            p = int(later.nonzero()[0, 0])
            row = members[p]
            chosen = torch.cat([chosen, row.reshape(1)])
            if int(row) < n_s:
                skip[int(row)] = True
            state.add(X[row], codes[row])
            wrong = state.predict() != ci
            candidates = wrong & ~skip
            start = p + 1
        return chosen


@fill_doc
class OneSidedSelection(_SeededKNN):
    """One-sided selection, imbalanced-learn compatible.

    For each class to under-sample: the minority rows and ``n_seeds_S`` random rows of
    the class form a k-NN rule; the class keeps its seeds and the rows that rule
    misclassifies. Tomek links among the kept rows are then removed. Same
    ``sample_indices_`` as imbalanced-learn for the same integer ``random_state``.

    Parameters
    ----------
    {sampling_strategy_clean}
    {random_state_numpy}
    {n_neighbors_knn_rule}
    {n_seeds_S}
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import OneSidedSelection
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = OneSidedSelection(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [53, 20]
    """

    def _keep(self, X, codes, minority, members, sel, ci, k):
        seeds = members[sel]
        rest = torch.ones(members.numel(), dtype=torch.bool, device=X.device)
        rest[sel] = False
        others = members[rest]
        C = torch.cat([minority, seeds])
        wrong = _KNNState(X[C], codes[C], X[others], k, self._search_kwargs()).predict() != ci
        return torch.cat([seeds, others[wrong]]), C

    def _finish_selection(self, X, codes, under, data) -> torch.Tensor:
        """Tomek links among the kept rows are removed too."""
        cleaned = self._cleaned(data)
        return under[~links_among(X[under], codes[under], cleaned, self._search_kwargs())]
