"""TomekLinks: remove the rows of a cross-class nearest-neighbour pair."""

from __future__ import annotations

import numpy as np
import torch

from .._docs import fill_doc
from .._typing import Backend, Device, Memory, Strategy
from ..neighbors import kneighbors
from ._base import BaseCleaningSampler

__all__ = ["TomekLinks", "tomek_links", "links_among"]


def tomek_links(nearest: torch.Tensor, codes, cleaned: torch.Tensor, rows=None) -> torch.Tensor:
    """TomekLinks' rule, (r,) bool: which of ``rows`` (default all; (r,) int64) belong to
    a class flagged in ``cleaned`` (per class code) and form a Tomek link: their nearest
    row is of another class and has them as its nearest. ``nearest`` (n,): each row's
    nearest other row; ``codes`` (n,): each row's class code."""
    rows = torch.arange(nearest.shape[0], device=nearest.device) if rows is None else rows
    nn = nearest[rows]
    own = codes[rows]
    return (nearest[nn] == rows) & (codes[nn] != own) & cleaned[own]


@fill_doc
class TomekLinks(BaseCleaningSampler):
    """Tomek links removal, imbalanced-learn compatible.

    A Tomek link is a pair of rows of different classes that are each other's nearest
    neighbour (one search over all rows, on the compute device; a row's own index is
    excluded, ties to the lower index). The rows of the classes in
    ``sampling_strategy_`` (default: all but the minority) that belong to a link are
    removed; ``sample_indices_`` lists the kept rows in their original order, the same
    as imbalanced-learn's.

    Parameters
    ----------
    {sampling_strategy_clean}
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import TomekLinks
    >>> X = np.array([[0.0], [1.0], [1.1], [5.0], [9.0]])
    >>> y = np.array([0, 0, 1, 0, 0])
    >>> TomekLinks().fit_resample(X, y)[1].tolist()
    [0, 1, 0, 0]
    """

    _sparse_native = True

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _select(self, data) -> np.ndarray:
        X, codes = self._points(data), data.codes.to(self.device_)
        links = links_among(X, codes, self._cleaned(data), self._search_kwargs())
        return (~links).nonzero().squeeze(1).cpu().numpy()


def links_among(X, codes, cleaned: torch.Tensor, search: dict) -> torch.Tensor:
    """(n,) bool: the rows of ``X`` that `tomek_links` flags, after one search for each
    row's nearest other row."""
    nearest = kneighbors(X, 1, return_distance=False, **search)[:, 0]
    return tomek_links(nearest, codes, cleaned)
