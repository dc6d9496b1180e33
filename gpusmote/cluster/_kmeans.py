"""k-means (Lloyd) in PyTorch, with scikit-learn's k-means++ seeding and stopping rule."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from .._device import compute_dtype, default_memory_budget
from .._io import as_feature_tensor, to_like
from .._params import ParamsMixin
from .._random import Stream, check_random_state
from .._typing import ArrayLike
from .._validation import check_finite, check_int, fmt_error
from ..exceptions import NotFittedError

__all__ = ["KMeans"]


class KMeans(ParamsMixin):
    """k-means clustering on the compute device, scikit-learn's ``KMeans`` interface.

    Lloyd iterations on the GPU (or CPU): each step assigns every row to its nearest
    centre (ties to the lower centre index) and moves each centre to the mean of its
    rows. Seeding is scikit-learn's greedy k-means++ (``2 + log(n_clusters)`` trials per
    centre); the run stops when the centres move less than ``tol`` times the mean
    feature variance (squared, summed), or when no label changes, as in scikit-learn.
    An empty cluster takes the row farthest from its centre. Started from the same
    ``init`` centres, the labels equal scikit-learn's ``KMeans(algorithm="lloyd")``
    (up to float rounding on exact ties).

    Parameters
    ----------
    n_clusters : int, default=8
    init : "k-means++", "random" or array of shape (n_clusters, n_features)
    n_init : "auto" or int, default="auto"
        Runs from different seeds, the lowest inertia kept; "auto": 1 for "k-means++"
        and an array, 10 for "random" (scikit-learn's rule).
    max_iter : int, default=300
    tol : float, default=1e-4
    random_state : None, int, numpy.random.RandomState or torch.Generator
    device : "auto", "cpu", "cuda" or torch.device

    Attributes
    ----------
    cluster_centers_ : (n_clusters, n_features) array (a tensor for tensor input)
    labels_ : (n_samples,) int64 array (a tensor for tensor input)
    inertia_ : float, the sum of squared distances of rows to their centre
    n_iter_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.cluster import KMeans
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2)) * 10]
    >>> labels = KMeans(n_clusters=2, random_state=0, device="cpu").fit_predict(X)
    >>> len(set(labels[:5].tolist())), len(set(labels.tolist()))
    (1, 2)
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
        device="auto",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.device = device

    # validation ----------------------------------------------------------------------
    def _check_params(self, n: int, d: int):
        k = check_int(self.n_clusters, "n_clusters", minimum=1)
        if k > n:
            raise ValueError(fmt_error("n_clusters", f"at most the number of rows ({n})", k))
        check_int(self.max_iter, "max_iter", minimum=1)
        if not isinstance(self.tol, numbers.Real) or isinstance(self.tol, bool) or self.tol < 0:
            raise ValueError(fmt_error("tol", "a float >= 0", self.tol))
        check_random_state(self.random_state)
        init = self.init
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValueError(fmt_error("init", '"k-means++", "random" or an array', init))
        else:
            shape = tuple(getattr(init, "shape", np.shape(init)))
            if shape != (k, d):
                raise ValueError(
                    fmt_error("init", f"an array of shape ({k}, {d})", f"shape {shape}")
                )
        if isinstance(self.n_init, str):
            if self.n_init != "auto":
                raise ValueError(fmt_error("n_init", '"auto" or an int >= 1', self.n_init))
            runs = 10 if isinstance(init, str) and init == "random" else 1
        else:
            runs = check_int(self.n_init, "n_init", minimum=1)
        return k, runs

    def _data(self, X):
        from .._device import resolve_device

        data_device = X.device if isinstance(X, torch.Tensor) else None
        self.device_ = resolve_device(self.device, data_device=data_device)
        t = as_feature_tensor(X, "X", self.device_)
        check_finite(t, "X")
        return t.to(compute_dtype(t.dtype))

    # fitting -------------------------------------------------------------------------
    def fit(self, X: ArrayLike, y=None):
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
            With ``cluster_centers_``, ``labels_``, ``inertia_``, ``n_iter_``.
        """
        Xt = self._data(X)
        n, d = Xt.shape
        k, runs = self._check_params(n, d)
        mean = Xt.to(torch.float64).mean(0)
        Xc = (Xt - mean.to(Xt.dtype)).contiguous()  # centred, as scikit-learn does
        variance = float(Xt.to(torch.float64).var(0, unbiased=False).mean())
        tol = float(self.tol) * variance
        chunk = max(1, default_memory_budget(self.device_) // 8 // max(1, (k + d) * 8))
        draws = Stream(self.random_state, self.device_).continuing()
        x_norm = _row_norms(Xc, chunk)
        best = None
        for _ in range(runs):
            centres = self._initial(Xc, x_norm, k, mean, draws, chunk)
            labels, inertia, centres, n_iter = _lloyd(
                Xc, x_norm, centres, self.max_iter, tol, chunk
            )
            if best is None or inertia < best[1]:
                best = (labels, inertia, centres, n_iter)
        labels, inertia, centres, n_iter = best
        self._centres = centres + mean.to(centres.dtype)
        self.cluster_centers_ = to_like(self._centres, X)
        self.labels_ = to_like(labels, X)
        self.inertia_ = float(inertia)
        self.n_iter_ = n_iter
        self.n_features_in_ = d
        return self

    def _initial(self, Xc, x_norm, k, mean, draws, chunk):
        if isinstance(self.init, str) and self.init == "k-means++":
            return _kmeans_plusplus(Xc, x_norm, k, draws, chunk)
        if isinstance(self.init, str):  # "random": k distinct rows
            return Xc[draws.permutation(Xc.shape[0])[:k]].clone()
        given = as_feature_tensor(self.init, "init", self.device_).to(torch.float64)
        return (given - mean).to(Xc.dtype)

    def predict(self, X: ArrayLike):
        """The nearest centre of each row.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features)

        Returns
        -------
        labels : (n_samples,) int64
            The index of the nearest centre (ties: the lower index), numpy unless ``X``
            is a tensor.
        """
        if not hasattr(self, "_centres"):
            raise NotFittedError("This KMeans instance is not fitted yet; call fit(X) first.")
        Xt = as_feature_tensor(X, "X", self._centres.device)
        if Xt.shape[1] != self.n_features_in_:
            raise ValueError(
                fmt_error("X", f"{self.n_features_in_} features", f"{Xt.shape[1]} features")
            )
        check_finite(Xt, "X")
        Xt = Xt.to(self._centres.dtype)
        chunk = max(1, default_memory_budget(Xt.device) // 8 // max(1, self._centres.numel() * 8))
        labels, _ = _assign(Xt, self._centres, chunk)
        return to_like(labels, X)

    def fit_predict(self, X: ArrayLike, y=None):
        """Cluster ``X`` and return its labels.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        labels : (n_samples,) int64
            ``labels_`` after ``fit(X)``.
        """
        return self.fit(X).labels_


def _assign(X, C, chunk, x_norm=None):
    """(labels (n,), squared distances (n,) float64) of each row's nearest centre.

    ``x_norm`` (n,) float64 squared row norms, when the caller has them.
    """
    c_norm = C.square().sum(1)
    labels = torch.empty(X.shape[0], dtype=torch.int64, device=X.device)
    dist = torch.empty(X.shape[0], dtype=torch.float64, device=X.device)
    for a in range(0, X.shape[0], chunk):
        x = X[a : a + chunk]
        scores = torch.addmm(c_norm, x, C.T, alpha=-2.0)  # |c|^2 - 2 x.c
        best, idx = scores.min(1)  # the first minimum: ties to the lower index
        labels[a : a + chunk] = idx
        norm = x.to(torch.float64).square().sum(1) if x_norm is None else x_norm[a : a + chunk]
        dist[a : a + chunk] = (best.to(torch.float64) + norm).clamp_(min=0.0)
    return labels, dist


def _row_norms(X, chunk):
    """Squared norms (n,) float64 of the rows of X."""
    parts = [
        X[a : a + chunk].to(torch.float64).square().sum(1) for a in range(0, X.shape[0], chunk)
    ]
    return torch.cat(parts)


def _sq_dist_to(X, x_norm, P, chunk):
    """Squared distances (n, p) float64 of every row of X to the rows of P (p, d)."""
    p_norm = P.to(torch.float64).square().sum(1)
    out = torch.empty((X.shape[0], P.shape[0]), dtype=torch.float64, device=X.device)
    for a in range(0, X.shape[0], chunk):
        dots = (X[a : a + chunk] @ P.T).to(torch.float64)
        out[a : a + chunk] = (x_norm[a : a + chunk, None] - 2.0 * dots + p_norm).clamp_(min=0.0)
    return out


def _kmeans_plusplus(X, x_norm, k, draws, chunk):
    """scikit-learn's greedy k-means++: the best of ``2 + log(k)`` D^2-sampled trials."""
    n = X.shape[0]
    trials = 2 + int(math.log(k))
    centres = torch.empty((k, X.shape[1]), dtype=X.dtype, device=X.device)
    first = draws.integer(n)
    centres[0] = X[first]
    closest = _sq_dist_to(X, x_norm, X[first : first + 1], chunk)[:, 0]
    potential = closest.sum()
    for c in range(1, k):
        targets = draws.uniform(trials) * potential
        ids = torch.searchsorted(torch.cumsum(closest, 0), targets).clamp_(max=n - 1)
        dist = torch.minimum(closest[:, None], _sq_dist_to(X, x_norm, X[ids], chunk))
        pots = dist.sum(0)
        best = int(pots.argmin())  # the first best trial, as numpy's argmin
        centres[c] = X[ids[best]]
        closest, potential = dist[:, best].contiguous(), pots[best]
    return centres


def _lloyd(X, x_norm, centres, max_iter, tol, chunk):
    """Lloyd iterations from ``centres``; returns (labels, inertia, centres, n_iter).

    One pass over X per iteration: each chunk is assigned and added to its centres'
    sums while it is in cache. Sums are one-hot products (no atomics on the GPU), in
    the data's precision as scikit-learn's are.
    """
    k, n = centres.shape[0], X.shape[0]
    labels = torch.full((n,), -1, dtype=torch.int64, device=X.device)
    new_labels = torch.empty_like(labels)
    dist = torch.empty(n, dtype=torch.float64, device=X.device)
    if X.device.type == "cpu":
        chunk = min(chunk, 16384)  # a chunk of rows stays in the core's cache
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        c_norm = centres.square().sum(1)
        sums = torch.zeros((k, X.shape[1]), dtype=X.dtype, device=X.device)
        for a in range(0, n, chunk):
            x = X[a : a + chunk]
            best, idx = torch.addmm(c_norm, x, centres.T, alpha=-2.0).min(1)
            new_labels[a : a + chunk] = idx
            dist[a : a + chunk] = best
            onehot = torch.zeros((k, x.shape[0]), dtype=X.dtype, device=X.device)
            onehot[idx, torch.arange(x.shape[0], device=X.device)] = 1.0
            sums.addmm_(onehot, x)
        counts = torch.bincount(new_labels, minlength=k)
        empty = (counts == 0).nonzero().squeeze(1)
        if empty.numel():  # relocate: the rows farthest from their centres
            far = (dist + x_norm).topk(empty.numel()).indices
            for e, row in zip(empty.tolist(), far.tolist(), strict=True):
                old = int(new_labels[row])
                sums[old] -= X[row]
                counts[old] -= 1
                sums[e] = X[row]
                counts[e] = 1
        new_centres = sums / counts.clamp(min=1).unsqueeze(1).to(X.dtype)
        shift = float((new_centres.to(torch.float64) - centres.to(torch.float64)).square().sum())
        unchanged = bool(torch.equal(new_labels, labels))
        centres = new_centres
        labels, new_labels = new_labels, labels
        if unchanged or shift <= tol:
            break
    labels, dist = _assign(X, centres, chunk, x_norm)  # labels that match the final centres
    return labels, float(dist.sum()), centres, n_iter
