"""ADASYN: more synthetic rows where the class is harder to learn."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._docs import fill_doc
from .._interpolate import interpolate_into
from .._io import NewRows
from .._random import Stream
from .._typing import Backend, Device, Memory, Neighbours, RandomState, Strategy
from .._validation import check_neighbours, fmt_error
from ..base import BaseSampler

__all__ = ["ADASYN"]


@fill_doc
class ADASYN(BaseSampler):
    """Adaptive Synthetic sampling, imbalanced-learn compatible.

    Each row of a class gets synthetic rows in proportion to the share of other classes
    among its ``n_neighbors`` nearest rows of the whole training set (one search over all
    rows, on the compute device); the rows themselves are SMOTE interpolations with the
    class's own neighbours. Same output as ``imblearn.over_sampling.ADASYN`` for the same
    ``random_state`` (one stream for all classes, as there); as there, the number of
    rows generated per class can differ slightly from ``sampling_strategy_`` (rounding).

    Parameters
    ----------
    {sampling_strategy_over}
    {random_state}
    n_neighbors : int or object with ``kneighbors``, default=5
        Neighbours of each row, among all rows for its weight and among its class's rows
        for the interpolation. An estimator (e.g. scikit-learn's ``NearestNeighbors``)
        is cloned and used as imbalanced-learn does: its first neighbour is the row.
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote import ADASYN
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (90, 2)), rng.normal(1, 1, (10, 2))]
    >>> y = np.r_[np.zeros(90, int), np.ones(10, int)]
    >>> X_res, y_res = ADASYN(random_state=0, device="cpu").fit_resample(X, y)
    >>> abs(int((y_res == 1).sum()) - 90) <= 5
    True
    """

    _exact_counts = False  # rows per class follow per-row rounding, not exactly the strategy

    _sparse_native = True

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        n_neighbors: Neighbours = 5,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _check_params(self) -> None:
        super()._check_params()
        check_neighbours(self.n_neighbors, "n_neighbors")

    def _fit_resample(self, data) -> NewRows:
        spec, dev = self.n_neighbors, self.device_
        X_all = data.X.to(dev)
        codes = data.codes.to(dev)
        draws = Stream(self.random_state, dev).continuing()
        blocks = []
        for ci, n in self._targets(data):
            label = data.classes[ci]
            members = (codes == ci).nonzero().squeeze(1)
            if isinstance(spec, numbers.Integral) and members.numel() <= spec:
                raise ValueError(
                    fmt_error(
                        "n_neighbors",
                        f"smaller than the number of rows of class {label!r}, "
                        f"which has {members.numel()}",
                        spec,
                    )
                )
            nns = self._neighbours("n_neighbors", spec, X_all, own=members, attr="nn_")
            k = nns.shape[1]
            others = (codes[nns] != ci).sum(1).cpu().numpy()
            ratio = others / k
            if not np.sum(ratio):
                raise RuntimeError(
                    f"ADASYN: no neighbour of class {label!r} belongs to another class, so its "
                    "weights are 0/0; ADASYN is not suited to this data: use SMOTE instead."
                )
            ratio /= np.sum(ratio)
            per_row = np.rint(ratio * n).astype(int)
            if not per_row.sum():
                raise ValueError("No samples will be generated with the provided ratio settings.")
            Xc = X_all[members]  # own dtype: the search and interpolation convert
            nn = self._neighbours("n_neighbors", spec, Xc, attr="nn_")
            blocks.append((ci, int(per_row.sum()), self._filler(draws, Xc, nn, per_row)))
        return NewRows(blocks)

    def _filler(self, draws, Xc, nn, per_row):
        """The block's ``fill``: each row ``per_row`` times, towards random neighbours;
        drawn when written, in imbalanced-learn's order (all searches first)."""

        def fill(dest: torch.Tensor) -> None:
            n, k = dest.shape[0], nn.shape[1]
            counts = torch.from_numpy(per_row).to(Xc.device)
            rows = torch.repeat_interleave(torch.arange(Xc.shape[0], device=Xc.device), counts)
            # imbalanced-learn's choice(k, n) then uniform(n): SMOTE's draw over k columns
            cols, steps = draws.smote(k, n)
            interpolate_into(Xc, rows, nn[rows, cols], steps, dest, self.max_memory)

        return fill
