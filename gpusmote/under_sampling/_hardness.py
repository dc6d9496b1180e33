"""InstanceHardnessThreshold: drop the rows a classifier finds hardest."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._docs import fill_doc
from .._io import host_numpy
from .._random import check_random_state
from .._typing import Device, RandomState, Strategy
from .._validation import check_int, fmt_error
from ._base import BaseUnderSampler

__all__ = ["InstanceHardnessThreshold"]


def _sklearn():
    try:
        from sklearn.base import clone, is_classifier
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "InstanceHardnessThreshold needs scikit-learn (its default estimator and the "
            "cross-validation); install it with `pip install gpusmote[test]` or "
            "`pip install scikit-learn`."
        ) from None
    return clone, is_classifier, RandomForestClassifier, StratifiedKFold, cross_val_predict


@fill_doc
class InstanceHardnessThreshold(BaseUnderSampler):
    """Instance hardness threshold, imbalanced-learn compatible.

    A classifier's cross-validated probability of each row's own class measures how
    easy the row is; each class to under-sample keeps its rows at or above the
    percentile that leaves the requested count (ties can keep a few more, as there).
    The classifier and the folds are scikit-learn's, run as imbalanced-learn runs them,
    so the kept rows are the same for the same ``random_state``. Nothing here is a
    neighbour search: it runs on the CPU whatever the device.

    Parameters
    ----------
    estimator : None or a classifier with ``predict_proba`` (cloned, its random states
        set from ``random_state``); None: ``RandomForestClassifier(n_estimators=100)``
    {sampling_strategy_under}
    {random_state_numpy}
    cv : int, default=5
    n_jobs : int or None, for scikit-learn
    device : "auto", "cpu", "cuda" or torch.device, keyword-only
        Where the labels are handled; the classifier runs on the CPU.

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import InstanceHardnessThreshold
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(20, int)]
    >>> X_res, y_res = InstanceHardnessThreshold(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [21, 20]
    """

    # runs a scikit-learn classifier even by default: torch's thread setting stays the caller's
    _external_estimators = True

    def __init__(
        self,
        *,
        estimator: object | None = None,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        cv: int = 5,
        n_jobs: int | None = None,
        device: Device = "auto",
    ):
        self.estimator = estimator
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.cv = cv
        self.n_jobs = n_jobs
        self.device = device

    def _check_params(self):
        super()._check_params()
        check_int(self.cv, "cv", minimum=2)
        if self.n_jobs is not None and not isinstance(self.n_jobs, numbers.Integral):
            raise TypeError(fmt_error("n_jobs", "None or an int", self.n_jobs))
        if isinstance(check_random_state(self.random_state), torch.Generator):
            raise TypeError(
                fmt_error("random_state", "None, an int or a RandomState", self.random_state)
            )

    def _select(self, data) -> np.ndarray:
        clone, is_classifier, Forest, StratifiedKFold, cross_val_predict = _sklearn()
        rs = self.random_state  # None: a fresh OS-seeded stream, never numpy's global one
        random_state = rs if isinstance(rs, np.random.RandomState) else np.random.RandomState(rs)
        est = self.estimator
        if est is None:
            self.estimator_ = Forest(
                n_estimators=100, random_state=self.random_state, n_jobs=self.n_jobs
            )
        elif is_classifier(est) and hasattr(est, "predict_proba"):
            from sklearn.ensemble._base import _set_random_states

            self.estimator_ = clone(est)
            _set_random_states(self.estimator_, random_state)
        else:
            raise ValueError(fmt_error("estimator", "None or a classifier with predict_proba", est))
        X = host_numpy(data.X)
        codes = data.codes.cpu().numpy()
        folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=random_state)
        proba = cross_val_predict(
            self.estimator_, X, codes, cv=folds, n_jobs=self.n_jobs, method="predict_proba"
        )
        proba = proba[np.arange(len(codes)), codes]
        parts = []
        for ci, label in enumerate(data.classes):
            members = np.flatnonzero(codes == ci)
            if label not in self.sampling_strategy_:
                parts.append(members)
                continue
            n = self.sampling_strategy_[label]
            threshold = np.percentile(proba[members], (1.0 - n / members.size) * 100.0)
            parts.append(members[proba[members] >= threshold])
        return np.concatenate(parts)
