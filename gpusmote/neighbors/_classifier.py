"""``KNeighborsClassifier``: the k-NN rule (uniform votes) over `NearestNeighbors`."""

from __future__ import annotations

import numpy as np
import torch

from .._io import host_numpy
from .._params import ParamsMixin
from .._typing import ArrayLike, Labels
from .._validation import check_int
from .._votes import mode_rows
from ..exceptions import NotFittedError
from ._estimator import NearestNeighbors

__all__ = ["KNeighborsClassifier"]


class KNeighborsClassifier(ParamsMixin):
    """The k-nearest-neighbour rule with scikit-learn's interface (uniform weights).

    The fitted k-NN rules of `gpusmote.under_sampling.CondensedNearestNeighbour` and
    `gpusmote.under_sampling.OneSidedSelection` (their ``estimators_``) are of this
    class unless a scikit-learn classifier was given. The search is gpusmote's exact
    one (ties by lower index); a tied vote goes to the smallest class, as
    scikit-learn's does.

    Parameters
    ----------
    n_neighbors : int, default=5
    backend, device, max_memory, n_jobs
        As for `gpusmote.neighbors.NearestNeighbors`.

    Attributes
    ----------
    classes_ : ndarray
        The sorted labels seen by ``fit``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.neighbors import KNeighborsClassifier
    >>> X = np.array([[0.0], [1.0], [5.0], [6.0]])
    >>> clf = KNeighborsClassifier(n_neighbors=1, device="cpu").fit(X, [0, 0, 1, 1])
    >>> clf.predict([[0.4], [5.6]]).tolist()
    [0, 1]
    """

    def __init__(
        self, n_neighbors: int = 5, *, backend="auto", device="auto", max_memory=None, n_jobs=None
    ):
        self.n_neighbors = n_neighbors
        self.backend = backend
        self.device = device
        self.max_memory = max_memory
        self.n_jobs = n_jobs

    def fit(self, X: ArrayLike, y: Labels):
        """Keep ``(X, y)`` as the rule's rows and labels.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features)
        y : array-like or tensor of shape (n_samples,)

        Returns
        -------
        self
        """
        check_int(self.n_neighbors, "n_neighbors", minimum=1)
        labels = host_numpy(y) if isinstance(y, torch.Tensor) else np.asarray(y)
        self.classes_, codes = np.unique(labels, return_inverse=True)
        self._nn = NearestNeighbors(
            self.n_neighbors,
            backend=self.backend,
            device=self.device,
            max_memory=self.max_memory,
            n_jobs=self.n_jobs,
        ).fit(X)
        self._codes = torch.as_tensor(codes.reshape(-1), device=self._nn.device_)
        self.n_features_in_ = self._nn.n_features_in_
        return self

    def _votes(self, X) -> torch.Tensor:
        if not hasattr(self, "_nn"):
            raise NotFittedError(
                "This KNeighborsClassifier instance is not fitted yet; call fit(X, y) first."
            )
        ind = self._nn.kneighbors(X, return_distance=False)
        return self._codes[torch.as_tensor(ind, device=self._codes.device)]

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The majority label of each row's ``n_neighbors`` nearest fitted rows.

        Parameters
        ----------
        X : array-like or tensor of shape (n_queries, n_features)

        Returns
        -------
        ndarray of shape (n_queries,)
        """
        votes = self._votes(X)
        return self.classes_[mode_rows(votes).cpu().numpy()]

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """The share of each class among each row's neighbours.

        Parameters
        ----------
        X : array-like or tensor of shape (n_queries, n_features)

        Returns
        -------
        ndarray of shape (n_queries, n_classes)
        """
        votes = self._votes(X)
        counts = torch.nn.functional.one_hot(votes, len(self.classes_)).sum(1)
        return (counts.to(torch.float64) / votes.shape[1]).cpu().numpy()
