"""``NearestNeighbors``: scikit-learn's estimator interface over `kneighbors`."""

from __future__ import annotations

import warnings

import torch

from .._device import resolve_device, resolve_jobs, thread_cap
from .._io import as_feature_tensor, to_like
from .._io._sparse import SparseRows, as_sparse_rows, is_sparse
from .._params import ParamsMixin
from .._typing import ArrayLike
from .._validation import check_bool, check_int, fmt_error
from ..exceptions import NotFittedError
from ._api import collect_stats, kneighbors
from ._backend import resolve_auto_backend, resolve_backend
from ._memory import resolve_budget

__all__ = ["NearestNeighbors"]

_TENSOR = torch.empty(0)  # "the output is a tensor", for `to_like`


class NearestNeighbors(ParamsMixin):
    """Exact (or faiss-approximate) k-nearest-neighbour search with scikit-learn's API.

    numpy/pandas/lists in -> numpy out; a torch tensor in -> a tensor out on the compute
    device. It can be passed wherever imbalanced-learn or gpusmote accepts a neighbours
    object (``SMOTE(k_neighbors=NearestNeighbors(n_neighbors=6))``).

    Parameters
    ----------
    n_neighbors : int
        Neighbours returned by default.
    backend : str or faiss spec object
        See `gpusmote.neighbors.kneighbors`.
    device : "auto", "cpu", "cuda" or torch.device
        Where to compute. "auto": the device of a tensor passed to ``fit``, else CUDA
        when available, else the CPU.
    max_memory : int or str, optional
        Working-memory bound of each search; see `gpusmote.neighbors.kneighbors`.
    n_jobs : int or None, default=None
        CPU threads of each search (torch's intra-op threads, restored afterwards, and
        the KD-tree's workers); None: torch's own setting; -1: every core.

    Attributes
    ----------
    n_samples_fit_ : int
    n_features_in_ : int
    device_ : torch.device
    backend_ : str
        The engine of the last search ("torch", "kdtree", "faiss-flat", ...); after
        ``fit`` and before a search, what ``backend="auto"``'s static rule expects
        (each search may still pick the KD-tree or change precision on the data).

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.neighbors import NearestNeighbors
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> nn = NearestNeighbors(n_neighbors=1, device="cpu").fit(X)
    >>> nn.kneighbors(return_distance=False).ravel().tolist()
    [1, 0, 1, 2]
    >>> nn.kneighbors([[2.9]], return_distance=False).tolist()
    [[2]]
    """

    def __init__(
        self, n_neighbors: int = 5, *, backend="auto", device="auto", max_memory=None, n_jobs=None
    ):
        self.n_neighbors = n_neighbors
        self.backend = backend
        self.device = device
        self.max_memory = max_memory
        self.n_jobs = n_jobs

    def fit(self, X: ArrayLike, y=None):
        """Store ``X`` (on the compute device) as the rows to search.

        Parameters
        ----------
        X : array-like, DataFrame or tensor of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        spec = resolve_backend(self.backend)
        check_int(self.n_neighbors, "n_neighbors", minimum=1)
        data_device = X.device if isinstance(X, (torch.Tensor, SparseRows)) else None
        self.device_ = resolve_device(self.device, data_device=data_device)
        if is_sparse(X):  # searched as sparse rows (`_sparse`)
            self._fit_X = as_sparse_rows(X, "X", self.device_)
        else:
            self._fit_X = as_feature_tensor(X, "X", self.device_, integers=True)
        self._fit_input_is_tensor = isinstance(X, (torch.Tensor, SparseRows))
        self.n_samples_fit_, self.n_features_in_ = self._fit_X.shape
        self._spec = spec
        if isinstance(self._fit_X, SparseRows):
            self.backend_ = "torch-sparse"
            return self
        if spec == "auto":  # the static rule until a search says what it ran
            n, d = self._fit_X.shape
            budget = resolve_budget(self.max_memory, self.device_)
            spec = resolve_auto_backend(self.device_, n, n, d, budget)
        self.backend_ = spec if isinstance(spec, str) else spec.name
        return self

    def kneighbors(
        self,
        X: ArrayLike | None = None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ):
        """The nearest fitted rows of each query, exact (ties by lower index).

        Parameters
        ----------
        X : array-like or tensor of shape (n_queries, n_features), optional
            The queries. None: the fitted rows, each excluding itself (scikit-learn's
            convention).
        n_neighbors : int, optional
            Default: the constructor's ``n_neighbors``.
        return_distance : bool, default=True

        Returns
        -------
        distances : (n_queries, n_neighbors), only with ``return_distance``
        indices : (n_queries, n_neighbors) int64
            numpy unless ``X`` (or, for ``X=None``, the fitted data) is a tensor.
        """
        if not hasattr(self, "_fit_X"):
            raise NotFittedError(
                "This NearestNeighbors instance is not fitted yet; call fit(X) first."
            )
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        return_distance = check_bool(return_distance, "return_distance")
        if X is None:
            like = _TENSOR if self._fit_input_is_tensor else None
            Y, exclude = None, True
        else:
            like, Y, exclude = X, X, False
        with collect_stats() as stats, thread_cap(resolve_jobs(self.n_jobs)):
            result = kneighbors(
                self._fit_X,
                k,
                Y=Y,
                exclude_self=exclude,
                backend=self._spec,
                device=self.device_,
                max_memory=self.max_memory,
                return_distance=return_distance,
            )
        self.backend_ = stats[-1].backend
        if return_distance:
            return tuple(to_like(t, like) for t in result)
        return to_like(result, like)

    def kneighbors_graph(
        self, X: ArrayLike | None = None, n_neighbors: int | None = None, mode: str = "connectivity"
    ):
        """The neighbours as a sparse graph, as scikit-learn's ``kneighbors_graph``.

        Parameters
        ----------
        X, n_neighbors
            As for `kneighbors`.
        mode : {"connectivity", "distance"}, default="connectivity"
            Ones, or the Euclidean distances.

        Returns
        -------
        graph : sparse matrix of shape ``(n_queries, n_samples_fit_)``
            A scipy CSR matrix for non-tensor input (needs scipy, which scikit-learn
            brings), a torch sparse CSR tensor for tensor input.
        """
        if mode not in ("connectivity", "distance"):
            raise ValueError(fmt_error("mode", '"connectivity" or "distance"', mode))
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        as_tensor = isinstance(ind, torch.Tensor)
        dist_t = dist if as_tensor else torch.from_numpy(dist)
        ind_t = ind if as_tensor else torch.from_numpy(ind)
        n_queries, k = ind_t.shape
        values = (
            dist_t.reshape(-1)
            if mode == "distance"
            else torch.ones(n_queries * k, dtype=dist_t.dtype, device=dist_t.device)
        )
        crow = torch.arange(0, n_queries * k + 1, k, device=ind_t.device)
        if as_tensor:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                return torch.sparse_csr_tensor(
                    crow,
                    ind_t.reshape(-1),
                    values,
                    size=(n_queries, self.n_samples_fit_),
                    check_invariants=False,  # sorted, in-range columns by construction
                )
        try:
            from scipy.sparse import csr_matrix
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                "kneighbors_graph on numpy input needs scipy: pip install scipy "
                "(or pass a torch tensor to get a torch sparse tensor)."
            ) from None
        return csr_matrix(
            (values.numpy(), ind_t.reshape(-1).numpy(), crow.numpy()),
            shape=(n_queries, self.n_samples_fit_),
        )
