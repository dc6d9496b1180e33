"""SMOTE, then a cleaning method on its output."""

from __future__ import annotations

from .._docs import fill_doc
from .._io import Passed
from .._typing import Backend, Device, Memory, RandomState, Strategy
from .._validation import fmt_error
from ..base import BaseSampler, _clone
from ..over_sampling import SMOTE
from ..under_sampling import EditedNearestNeighbours, TomekLinks

__all__ = ["SMOTEENN", "SMOTETomek"]


class _SMOTEThenClean(BaseSampler):
    _cleaner_param = ""
    _sparse_native = True

    def _default_cleaner(self):
        """The cleaner of all classes on the same device and engine as the SMOTE."""
        search = {"device": self.device, "backend": self.backend, "max_memory": self.max_memory}
        return self._cleaner_class(sampling_strategy="all", n_jobs=self.n_jobs, **search)

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("smote", self._cleaner_param):
            value = getattr(self, name)
            if value is not None and not hasattr(value, "fit_resample"):
                raise TypeError(fmt_error(name, "None or a sampler with fit_resample", value))

    def _fit_resample(self, data) -> Passed:
        """The inner samplers run on the user's own containers (they validate them
        again, as imbalanced-learn's do)."""
        self.smote_ = (
            _clone(self.smote)
            if self.smote is not None
            else SMOTE(
                sampling_strategy=self.sampling_strategy,
                random_state=self.random_state,
                device=self.device,
                backend=self.backend,
                max_memory=self.max_memory,
            )
        )
        cleaner = getattr(self, self._cleaner_param)
        cleaner = self._estimator(cleaner) if cleaner is not None else self._default_cleaner()
        setattr(self, self._cleaner_param + "_", cleaner)
        self.sampling_strategy_ = self.sampling_strategy  # imbalanced-learn keeps it raw
        X_res, y_res = self.smote_.fit_resample(data.X_in, data.y_in)
        return Passed(*cleaner.fit_resample(X_res, y_res))


@fill_doc
class SMOTEENN(_SMOTEThenClean):
    """SMOTE, then EditedNearestNeighbours over every class; imbalanced-learn compatible.

    Parameters
    ----------
    {sampling_strategy_combine}
    {random_state}
    {smote_for_combine}
    enn : None or a cleaning sampler with ``fit_resample``, default=None
        Cloned and run on SMOTE's output; None:
        ``EditedNearestNeighbours(sampling_strategy="all")``.
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.combine import SMOTEENN
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = SMOTEENN(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [32, 37]
    """

    _cleaner_param, _cleaner_class = "enn", EditedNearestNeighbours

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        smote: object | None = None,
        enn: object | None = None,
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.enn = enn
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory


@fill_doc
class SMOTETomek(_SMOTEThenClean):
    """SMOTE, then TomekLinks over every class; imbalanced-learn compatible.

    Parameters
    ----------
    {sampling_strategy_combine}
    {random_state}
    {smote_for_combine}
    tomek : None or a cleaning sampler with ``fit_resample``, default=None
        Cloned and run on SMOTE's output; None: ``TomekLinks(sampling_strategy="all")``.
    {n_jobs}
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.combine import SMOTETomek
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = SMOTETomek(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [54, 54]
    """

    _cleaner_param, _cleaner_class = "tomek", TomekLinks

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        smote: object | None = None,
        tomek: object | None = None,
        n_jobs: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.tomek = tomek
        self.n_jobs = n_jobs
        self.device = device
        self.backend = backend
        self.max_memory = max_memory
