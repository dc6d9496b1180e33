"""SMOTEN: SMOTE for categorical data, with the Value Difference Metric on the device."""

from __future__ import annotations

import numbers

import torch

from .._docs import fill_doc
from .._io import TableRows
from .._random import Stream
from .._typing import Device, Memory, Neighbours, RandomState, Strategy
from .._votes import mode_rows
from ..base import _clone
from ..neighbors._vdm import vdm_block, vdm_kneighbors, vdm_tables
from ._base import require_more_rows
from ._smotenc import _TableSampler

__all__ = ["SMOTEN"]


@fill_doc
class SMOTEN(_TableSampler):
    """SMOTE for Nominal features, imbalanced-learn compatible.

    Every column is categorical. Rows of a class are compared with the Value Difference
    Metric (``k=1, r=2``: for each column the L1 distance between the class-conditional
    distributions of the two values, squared and summed over columns), computed tile by
    tile on the compute device from per-column tables; the ``k_neighbors + 1`` nearest
    rows of each row (itself included, ties to the lower index) vote column by column,
    and a new row is the vote (most frequent value, ties to the first category) of a
    row drawn at random. With the same data and ``random_state`` the output equals
    ``imblearn.over_sampling.SMOTEN``'s, except where several rows tie at the k-th
    distance: imbalanced-learn then keeps whichever its partial sort leaves.

    Parameters
    ----------
    categorical_encoder : None or an encoder such as ``OrdinalEncoder``
        Only its categories (and their order, which breaks ties in the vote) are used.
        None: each column's sorted unique values.
    {sampling_strategy_over}
    {random_state}
    k_neighbors : int or object with ``kneighbors``, default=5
        Neighbours per row among the rows of its class (itself included in the vote). An
        object is given the class's full distance matrix (``metric="precomputed"``), as
        imbalanced-learn does: memory quadratic in the class's rows.
    {device}
    {max_memory}

    Attributes
    ----------
    categories_ : list of the categories of each column
    categorical_encoder_ : the fitted clone of ``categorical_encoder``, or None

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote import SMOTEN
    >>> X = np.array(["A"] * 10 + ["B"] * 20 + ["C"] * 30, dtype=object).reshape(-1, 1)
    >>> y = np.array([0] * 20 + [1] * 40)
    >>> X_res, y_res = SMOTEN(random_state=0, device="cpu").fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [40, 40]
    """

    def __init__(
        self,
        categorical_encoder: object | None = None,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        k_neighbors: Neighbours = 5,
        device: Device = "auto",
        max_memory: Memory = None,
    ):
        self.categorical_encoder = categorical_encoder
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.device = device
        self.max_memory = max_memory

    _all_categorical = True

    def _fit_resample(self, data) -> TableRows:
        table = data.table
        dev = self.device_
        codes = table.codes.to(dev)
        labels = data.codes.to(dev)
        n_classes = len(data.classes)
        tables = vdm_tables(codes, labels, n_classes, [len(c) for c in table.categories])
        stream = Stream(self.random_state, dev)
        new_codes, blocks = [], []
        for label, n in self.sampling_strategy_.items():
            if n == 0:
                continue
            ci = data.classes.index(label)
            Cc = codes[labels == ci]
            nn = self._vdm_neighbours(Cc, tables, label)
            votes = _mode(Cc, nn)  # (n_c, n_features): each row's neighbourhood vote
            # imbalanced-learn's choice(n_c, size=n) with replacement
            picks = stream.for_class().choice(Cc.shape[0], n)
            new_codes.append(votes[picks])
            blocks.append((ci, n))
        return self._rows(table, blocks, None, new_codes)

    def _vdm_neighbours(self, Cc, tables, label) -> torch.Tensor:
        n_c = Cc.shape[0]
        k = self.k_neighbors
        if isinstance(k, numbers.Integral):
            require_more_rows(n_c, k, label)
            return vdm_kneighbors(Cc, tables, int(k) + 1, self.max_memory)
        est = _clone(k)
        est.set_params(metric="precomputed")
        dist = vdm_block(Cc, Cc, tables).cpu().numpy()
        est.fit(dist)
        return torch.as_tensor(est.kneighbors(dist, return_distance=False)).to(Cc.device)


def _mode(Cc: torch.Tensor, nn: torch.Tensor) -> torch.Tensor:
    """(n_c, n_features): per row and column, the most frequent code among the rows
    ``nn`` (n_c, k), ties to the smallest code (scipy.stats.mode)."""
    return torch.stack([mode_rows(Cc[:, f][nn]) for f in range(Cc.shape[1])], 1)
