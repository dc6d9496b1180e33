"""KMeansSMOTE: cluster first, then SMOTE inside the clusters where the class is dense."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from .._docs import fill_doc
from .._interpolate import interpolate_into
from .._io import NewRows, host_numpy
from .._progress import phase
from .._random import Stream
from .._typing import Backend, Device, Memory, Neighbours, RandomState, Strategy
from .._validation import fmt_error
from ..base import _clone
from ..neighbors._farthest import mean_pairwise_distance
from ._base import BaseSMOTE

__all__ = ["KMeansSMOTE"]


@fill_doc
class KMeansSMOTE(BaseSMOTE):
    """K-Means SMOTE, imbalanced-learn compatible.

    The whole training set is clustered; for each class to over-sample, the clusters
    where the class makes up at least ``cluster_balance_threshold`` of the rows (and has
    more rows than ``k_neighbors``) get SMOTE rows from the class's rows inside them,
    in proportion to each cluster's sparsity (mean distance between the class's rows,
    raised to ``density_exponent``, over their number). The number of rows of a
    cluster is rounded up, so a class can get a few more rows than
    ``sampling_strategy_`` says (as in imbalanced-learn).

    With ``kmeans_estimator=sklearn.cluster.MiniBatchKMeans(random_state=s)``
    (imbalanced-learn's default clustering) and ``random_state=s``, the output equals
    ``imblearn.over_sampling.KMeansSMOTE(random_state=s)``'s row for row. The default
    clustering is `gpusmote.cluster.KMeans` (Lloyd on the compute device), so the
    default output has the same construction, not the same rows.

    Parameters
    ----------
    {sampling_strategy_over}
    {random_state}
    k_neighbors : int or object with ``kneighbors``, default=2
        Neighbours per row among the class's rows of its cluster; an object is used as
        by `gpusmote.SMOTE`.
    kmeans_estimator : None, int or clustering estimator
        None: ``gpusmote.cluster.KMeans(random_state=random_state)`` (8 clusters); an
        int: that many clusters; or any estimator with ``fit_predict`` (or ``fit`` and
        ``predict``) and ``n_clusters``, cloned before use (a scikit-learn one is given
        the data as numpy).
    cluster_balance_threshold : "auto" or float, default="auto"
        "auto": the class's share of the rows to generate, halved.
    density_exponent : "auto" or float, default="auto"
        "auto": ``0.16 * log_1.6(n)^1.8`` for a cluster with ``n`` rows of the class.
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Attributes
    ----------
    kmeans_estimator_ : the fitted clustering estimator
    cluster_balance_threshold_ : "auto" or float

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote import KMeansSMOTE
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (200, 2)), rng.normal(3, 0.5, (40, 2))]
    >>> y = np.r_[np.zeros(200, int), np.ones(40, int)]
    >>> sampler = KMeansSMOTE(random_state=0, kmeans_estimator=2, device="cpu")
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [200, 200]
    """

    _exact_counts = False  # each cluster's share is rounded up

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        k_neighbors: Neighbours = 2,
        kmeans_estimator: int | object | None = None,
        cluster_balance_threshold: float | str = "auto",
        density_exponent: float | str = "auto",
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory
        self.kmeans_estimator = kmeans_estimator
        self.cluster_balance_threshold = cluster_balance_threshold
        self.density_exponent = density_exponent

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("cluster_balance_threshold", "density_exponent"):
            value = getattr(self, name)
            ok = (isinstance(value, str) and value == "auto") or (
                isinstance(value, numbers.Real) and not isinstance(value, bool)
            )
            if not ok:
                raise ValueError(fmt_error(name, '"auto" or a float', value))

    def _fit(self, data) -> None:
        self._kmeans()

    def _kmeans(self):
        """The clustering estimator to fit: ``kmeans_estimator`` checked and cloned."""
        est = self.kmeans_estimator
        if est is None or (isinstance(est, numbers.Integral) and not isinstance(est, bool)):
            if est is not None and est < 1:
                raise ValueError(fmt_error("kmeans_estimator", "an int >= 1", est))
            from ..cluster import KMeans

            return KMeans(
                n_clusters=8 if est is None else int(est),
                random_state=self.random_state,
                device=self.device_,
            )
        fits = hasattr(est, "fit_predict") or (hasattr(est, "fit") and hasattr(est, "predict"))
        if not fits or not hasattr(est, "n_clusters"):
            raise TypeError(
                fmt_error(
                    "kmeans_estimator",
                    "None, an int or a clustering estimator with fit_predict and n_clusters",
                    est,
                )
            )
        return _clone(est)

    def _fit_resample(self, data) -> NewRows:
        dev = self.device_
        est = self._kmeans()
        self.kmeans_estimator_ = est
        n_clusters = int(est.n_clusters)
        self.cluster_balance_threshold_ = (
            self.cluster_balance_threshold if n_clusters != 1 else -np.inf
        )
        k_plus_one = (
            int(self.k_neighbors) + 1
            if isinstance(self.k_neighbors, numbers.Integral)
            else int(getattr(self.k_neighbors, "n_neighbors", 1))
        )
        X_all = data.X.to(dev)
        codes = data.codes.to(dev)
        ours = type(est).__module__.startswith("gpusmote.")
        # a clustering seeded by an int is a function of X: fit it once for all classes
        seeded = isinstance(getattr(est, "random_state", None), numbers.Integral)
        labels = None
        total = sum(self.sampling_strategy_.values())
        phase("clustering")
        plans = []
        for label, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            if labels is None or not seeded:
                labels = self._cluster(est, X_all if ours else host_numpy(data.X), dev)
                # each cluster's rows, in index order: a slice of the stable sort
                order = torch.argsort(labels, stable=True)
                sizes = torch.bincount(labels, minlength=n_clusters).tolist()
                starts = np.cumsum([0] + sizes)
            ci = data.classes.index(label)
            threshold = self.cluster_balance_threshold_
            if isinstance(threshold, str):
                threshold = n_samples / total / 2
            valid = []
            for cluster in range(n_clusters):
                size = sizes[cluster]
                if size == 0:
                    continue
                members = order[starts[cluster] : starts[cluster] + size]
                in_class = codes[members] == ci
                mean = int(in_class.sum()) / size
                if mean < threshold or mean * size < k_plus_one:
                    continue
                valid.append(X_all[members[in_class]])
            # One valid cluster gets every row: its weight is sparsity / sparsity = 1
            # whenever the sparsity is finite and positive, which a bound proves
            # without the quadratic pass; otherwise (or with several) compute them.
            if len(valid) == 1 and self._surely_weight_one(valid[0]):
                sparsity = [1.0]
            else:
                sparsity = [self._sparsity(rows) for rows in valid]
            if not valid:
                raise RuntimeError(
                    f"No clusters found with sufficient samples of class {label!r}. Try "
                    "lowering the cluster_balance_threshold or increasing the number of "
                    "clusters."
                )
            with np.errstate(invalid="ignore", divide="ignore"):
                weights = np.asarray(sparsity) / np.sum(sparsity)
            if not np.isfinite(weights).all():
                raise ValueError(
                    fmt_error(
                        "X",
                        f"rows of class {label!r} with some spread in their clusters (KMeansSMOTE "
                        "weighs clusters by their rows' mean distance; here every distance is "
                        "0, or infinite)",
                        f"cluster sparsities {sparsity}",
                    )
                )
            for rows, weight in zip(valid, weights, strict=True):
                Xc, nn = self._graph(rows, label)
                plans.append((ci, int(math.ceil(n_samples * weight)), Xc, nn))
        stream = Stream(self.random_state, dev)
        return NewRows([(ci, n, self._filler(stream, n, Xc, nn)) for ci, n, Xc, nn in plans])

    def _filler(self, stream, n: int, Xc, nn):
        """The block's ``fill``: SMOTE's draws in one cluster, made when it is written."""

        def fill(dest: torch.Tensor) -> None:
            flat, steps = stream.for_class().smote(nn.numel(), n)
            interpolate_into(
                Xc, flat // nn.shape[1], nn.view(-1)[flat], steps, dest, self.max_memory
            )

        return fill

    @staticmethod
    def _cluster(est, X, dev) -> torch.Tensor:
        out = est.fit_predict(X) if hasattr(est, "fit_predict") else est.fit(X).predict(X)
        return torch.as_tensor(np.asarray(out) if not isinstance(out, torch.Tensor) else out).to(
            dev, torch.int64
        )

    def _exponent(self, n: int) -> float:
        if isinstance(self.density_exponent, str):
            return math.log(n, 1.6) ** 1.8 * 0.16
        return float(self.density_exponent)

    def _surely_weight_one(self, rows: torch.Tensor) -> bool:
        """True when the cluster's sparsity is provably finite and positive: its rows
        are not all equal, and twice the largest distance from their mean (a bound
        on the mean pairwise distance) raised to the exponent does not overflow."""
        X = rows.to(torch.float64)
        if bool((X == X[0]).all()):
            return False
        bound = 2.0 * float((X - X.mean(0)).square().sum(1).max().sqrt())
        exponent = self._exponent(rows.shape[0])
        try:
            return exponent > 0 and math.isfinite(bound**exponent) and bound > 0
        except OverflowError:
            return False

    def _sparsity(self, rows: torch.Tensor) -> float:
        """imbalanced-learn's cluster sparsity: mean distance ** exponent / rows."""
        n = rows.shape[0]
        mean_distance = mean_pairwise_distance(rows, self.max_memory)
        return (mean_distance ** self._exponent(n)) / n
