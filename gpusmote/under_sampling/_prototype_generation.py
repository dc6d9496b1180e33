"""ClusterCentroids: replace a class by the centres of its k-means clusters."""

from __future__ import annotations

import numpy as np
import torch

from .._device import compute_dtype, floating
from .._docs import fill_doc
from .._io import Replaced, host_numpy
from .._typing import Backend, Device, Memory, RandomState, Strategy
from .._validation import fmt_error
from ..base import _clone
from ..neighbors import kneighbors
from ._base import BaseUnderSampler

__all__ = ["ClusterCentroids"]


@fill_doc
class ClusterCentroids(BaseUnderSampler):
    """Under-sampling by cluster centroids, imbalanced-learn compatible.

    Each class to under-sample is clustered into as many clusters as rows it keeps
    (``estimator``, default `gpusmote.cluster.KMeans` on the compute device); the
    class's rows are replaced by the centroids (``voting="soft"``) or by the row
    nearest each centroid (``"hard"``). Output class by class, in sorted order. With the
    same clustering estimator (e.g. scikit-learn's ``KMeans(random_state=0)``,
    imbalanced-learn's default) the output equals imbalanced-learn's.

    Parameters
    ----------
    {sampling_strategy_under}
    random_state : None, int, numpy.random.RandomState or torch.Generator
        Seeds the default `gpusmote.cluster.KMeans`.
    estimator : None or a clustering estimator with ``n_clusters`` and
        ``cluster_centers_`` (cloned; a scikit-learn one gets numpy)
    voting : {"auto", "soft", "hard"}; "auto" is "soft" for dense input and "hard" for
        sparse input, as imbalanced-learn
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import ClusterCentroids
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = ClusterCentroids(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [20, 20]
    """

    _sets_sample_indices = False  # new rows (centroids), not a subset

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        estimator: object | None = None,
        voting: str = "auto",
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.estimator = estimator
        self.voting = voting
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _check_params(self):
        super()._check_params()
        if self.voting not in ("auto", "soft", "hard"):
            raise ValueError(fmt_error("voting", '"auto", "soft" or "hard"', self.voting))
        est = self.estimator
        if est is not None and not (
            hasattr(est, "fit") and hasattr(est, "get_params") and "n_clusters" in est.get_params()
        ):
            raise ValueError(
                fmt_error(
                    "estimator",
                    "None or a clustering estimator with an n_clusters parameter and a fitted "
                    "cluster_centers_",
                    est,
                )
            )

    def _estimator(self):
        if self.estimator is None:
            from ..cluster import KMeans

            return KMeans(random_state=self.random_state, device=self.device_)
        return _clone(self.estimator)

    def _fit_resample(self, data) -> Replaced:
        if self.voting == "auto":
            self.voting_ = "hard" if getattr(self, "_sparse_in", False) else "soft"
        else:
            self.voting_ = self.voting
        dev = self.device_
        X_all = data.X.to(dev)
        codes = data.codes.to(dev)
        est = self.estimator_ = self._estimator()
        ours = type(est).__module__.startswith("gpusmote.")
        blocks, rows = [], []
        for ci, label in enumerate(data.classes):
            members = (codes == ci).nonzero().squeeze(1)
            X_c = floating(X_all[members])  # integer rows: float64, as centres are
            if label not in self.sampling_strategy_:
                rows.append(X_c)
                blocks.append((ci, members.numel()))
                continue
            n = self.sampling_strategy_[label]
            est.set_params(n_clusters=n)
            est.fit(X_c if ours else host_numpy(X_c))
            if not hasattr(est, "cluster_centers_"):
                raise RuntimeError(
                    "`estimator` should be a clustering estimator exposing a fitted parameter "
                    "`cluster_centers_`."
                )
            centres = torch.as_tensor(
                np.asarray(est.cluster_centers_) if not ours else est._centres
            )
            centres = centres.to(dev, X_c.dtype)
            if self.voting_ == "hard":
                search = self._search_kwargs()
                X_search = X_c.to(compute_dtype(X_c.dtype))
                nearest = kneighbors(
                    X_search,
                    1,
                    Y=centres.to(X_search.dtype),
                    exclude_self=False,
                    return_distance=False,
                    **search,
                )[:, 0]
                rows.append(X_c[nearest])
            else:
                rows.append(centres)
            blocks.append((ci, n))
        return Replaced(torch.cat(rows), blocks)
