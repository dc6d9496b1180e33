"""BorderlineSMOTE: SMOTE from the rows on the class border only."""

from __future__ import annotations

import numbers
import warnings

import torch

from .._docs import fill_doc
from .._interpolate import interpolate_into
from .._io import NewRows
from .._random import Stream
from .._typing import Backend, Device, Memory, Neighbours, RandomState, Strategy
from .._validation import check_neighbours, fmt_error
from ._base import BaseSMOTE, require_more_rows

__all__ = ["BorderlineSMOTE"]


class _Searched:
    """What the whole-set variants share after validation (see `_WholeSetSMOTE._setup`)."""

    def __init__(self, sampler, data, dev, X_all, codes):
        self.sampler, self.data, self.dev, self.X_all, self.codes = sampler, data, dev, X_all, codes
        self.m = None  # m_neighbors' count, known after the first search

    def others_among_neighbours(self, rows: torch.Tensor, class_index: int) -> torch.Tensor:
        """(r,) how many of the ``m`` nearest rows (of all rows) of ``rows`` are of
        another class than ``class_index``; ``nn_m_`` keeps the estimator."""
        spec = self.sampler.m_neighbors
        nns = self.sampler._neighbours("m_neighbors", spec, self.X_all, own=rows, attr="nn_m_")
        self.m = nns.shape[1]
        return (self.codes[nns] != class_index).sum(1)

    def neighbours(self, source: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """(r, k): ``k_neighbors`` nearest rows of ``source`` of its rows ``rows`` (each
        excluding itself); ``nn_k_`` keeps the estimator."""
        spec = self.sampler.k_neighbors
        return self.sampler._neighbours("k_neighbors", spec, source, own=rows, attr="nn_k_")


class _WholeSetSMOTE(BaseSMOTE):
    """SMOTE variants that first judge rows by a search over the whole training set
    (``m_neighbors``): ints, or neighbours estimators as imbalanced-learn takes them."""

    def _check_params(self) -> None:
        super()._check_params()
        check_neighbours(self.m_neighbors, "m_neighbors")

    def _fit(self, data) -> None:
        self._setup(data)

    def _setup(self, data) -> _Searched:
        m = self.m_neighbors
        if isinstance(m, numbers.Integral) and data.n <= m:
            raise ValueError(
                fmt_error("m_neighbors", f"smaller than the number of rows ({data.n})", m)
            )
        dev = self.device_
        X_all = data.X.to(dev)  # own dtype: searches and interpolation convert their rows
        return _Searched(self, data, dev, X_all, data.codes.to(dev))


@fill_doc
class BorderlineSMOTE(_WholeSetSMOTE):
    """Borderline-SMOTE, imbalanced-learn compatible.

    A row of a class is "in danger" when at least half, but not all, of its
    ``m_neighbors`` nearest rows in the whole training set belong to other classes (one
    search over all rows, on the compute device). New rows are SMOTE interpolations from
    the danger rows only: towards their ``k_neighbors`` nearest rows of the same class
    ("borderline-1"), or of the whole set ("borderline-2", with the step towards another
    class's row shortened by a factor drawn in [0, 0.5)). Same output as
    ``imblearn.over_sampling.BorderlineSMOTE`` for the same ``random_state``.

    Parameters
    ----------
    {sampling_strategy_over}
    {random_state}
    k_neighbors : int or object with ``kneighbors``, default=5
        Neighbours per danger row: among its class's rows ("borderline-1") or all rows
        ("borderline-2"). An estimator is cloned; its first neighbour is the row.
    m_neighbors : int or object with ``kneighbors``, default=10
        Neighbours of each row among all rows (itself excluded) that decide whether it
        is in danger. An estimator is cloned; its first neighbour is the row.
    kind : {"borderline-1", "borderline-2"}, default="borderline-1"
    {device}
    {backend}
    {max_memory}

    Attributes
    ----------
    in_danger_indices : dict
        ``{class: indices of X}`` of the danger rows of each over-sampled class.
    nn_k_, nn_m_ : estimator
        The ``k_neighbors`` and ``m_neighbors`` estimators of the last searches (for an
        int, a `gpusmote.neighbors.NearestNeighbors` of one more neighbour, the row).

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote import BorderlineSMOTE
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (90, 2)), rng.normal(1, 1, (20, 2))]
    >>> y = np.r_[np.zeros(90, int), np.ones(20, int)]
    >>> X_res, y_res = BorderlineSMOTE(random_state=0, device="cpu").fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [90, 90]
    """

    _sparse_native = True

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        k_neighbors: Neighbours = 5,
        m_neighbors: int = 10,
        kind: str = "borderline-1",
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.device = device
        self.backend = backend
        self.max_memory = max_memory
        self.m_neighbors = m_neighbors
        self.kind = kind

    def _check_params(self) -> None:
        super()._check_params()
        if self.kind not in ("borderline-1", "borderline-2"):
            raise ValueError(fmt_error("kind", '"borderline-1" or "borderline-2"', self.kind))

    def _fit_resample(self, data) -> NewRows:
        ctx = self._setup(data)
        dev, X_all, codes = ctx.dev, ctx.X_all, ctx.codes
        self.in_danger_indices = {}
        stream = Stream(self.random_state, dev)
        blocks = []
        for ci, n in self._targets(data):
            label = data.classes[ci]
            members = (codes == ci).nonzero().squeeze(1)
            n_other = ctx.others_among_neighbours(members, ci)
            m = ctx.m
            danger = (n_other >= m / 2) & (n_other < m)
            if not bool(danger.any()):
                warnings.warn(
                    f"BorderlineSMOTE: no row of class {label!r} is in danger (at least half "
                    f"but not all of its {m} nearest rows in other classes); the class is "
                    "not over-sampled, as in imbalanced-learn.",
                    UserWarning,
                    stacklevel=4,  # the caller of fit_resample
                )
                continue
            self.in_danger_indices[label] = members[danger].cpu().numpy()
            if self.kind == "borderline-1":
                if isinstance(self.k_neighbors, numbers.Integral):
                    require_more_rows(members.numel(), self.k_neighbors, label)
                source = X_all[members]  # rows and neighbours index the class's rows
                base_rows = danger.nonzero().squeeze(1)
            else:
                source = X_all  # neighbours among all rows
                base_rows = members[danger]
            nn = ctx.neighbours(source, base_rows)
            blocks.append((ci, n, self._filler(stream, ci, n, source, base_rows, nn, codes)))
        return NewRows(blocks)

    def _filler(self, stream, ci, n, source, base_rows, nn, codes):
        """The block's ``fill``: its draws, made when it is written (imbalanced-learn's
        order: class by class, after every search)."""

        def fill(dest: torch.Tensor) -> None:
            k = nn.shape[1]
            flat, steps = stream.for_class().smote(nn.numel(), n)
            rows, partners = base_rows[flat // k], nn.view(-1)[flat]
            scale = None
            if self.kind == "borderline-2":
                other = codes[partners] != ci
                # imbalanced-learn draws these with a fresh check_random_state
                shrink = stream.for_class().uniform(int(other.sum()), high=0.5)
                scale = torch.ones(n, dtype=torch.float64, device=source.device)
                scale[other] = shrink.to(source.device)
            interpolate_into(source, rows, partners, steps, dest, self.max_memory, scale)

        return fill
