"""SVMSMOTE: SMOTE from the support vectors of an SVM."""

from __future__ import annotations

import copy
import numbers

import numpy as np
import torch

from .._docs import fill_doc
from .._interpolate import interpolate_into
from .._io import NewRows, host_numpy
from .._random import Stream
from .._typing import Backend, Device, Memory, Neighbours, RandomState, Strategy
from .._validation import fmt_error
from ._borderline import _WholeSetSMOTE

__all__ = ["SVMSMOTE"]


@fill_doc
class SVMSMOTE(_WholeSetSMOTE):
    """SVM-SMOTE, imbalanced-learn compatible.

    An SVM fitted on all rows picks each class's support vectors; those whose
    ``m_neighbors`` nearest rows all belong to other classes are dropped as noise.
    Support vectors in danger (at least half of their neighbours in other classes)
    interpolate towards their ``k_neighbors`` nearest rows of the class; the safe ones
    extrapolate away from them by up to ``out_step``. The split between the two is a
    Beta(10, 10) draw, as in ``imblearn.over_sampling.SVMSMOTE``, which gives the same
    rows for the same ``random_state`` and the same SVM.

    Parameters
    ----------
    {sampling_strategy_over}
    {random_state}
    {k_neighbors}
    m_neighbors : int or object with ``kneighbors``, default=10
        Neighbours of each support vector among all rows (itself excluded) that decide
        whether it is noise, in danger or safe. An estimator is cloned; its first
        neighbour is the row.
    svm_estimator : estimator with ``fit`` and ``support_``, optional
        Default: scikit-learn's ``SVC(gamma="scale", random_state=random_state)`` (needs
        scikit-learn). It is cloned and fitted on the host: SVMs here run on the CPU.
    out_step : float in [0, 1], default=0.5
        How far a safe support vector's new rows may extrapolate away from it.
    {device}
    {backend}
    {max_memory}

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote import SVMSMOTE
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (90, 2)), rng.normal(1.5, 1, (20, 2))]
    >>> y = np.r_[np.zeros(90, int), np.ones(20, int)]
    >>> X_res, y_res = SVMSMOTE(random_state=0, device="cpu").fit_resample(X, y)
    >>> int((y_res == 1).sum()) <= 90
    True
    """

    # runs scikit-learn's SVC even by default: torch's thread setting stays the caller's
    _external_estimators = True

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        k_neighbors: Neighbours = 5,
        m_neighbors: int = 10,
        svm_estimator: object | None = None,
        out_step: float = 0.5,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.device = device
        self.backend = backend
        self.max_memory = max_memory
        self.m_neighbors = m_neighbors
        self.svm_estimator = svm_estimator
        self.out_step = out_step

    def _svm(self):
        if self.svm_estimator is not None:
            if not (hasattr(self.svm_estimator, "fit") and hasattr(self.svm_estimator, "predict")):
                raise TypeError(
                    fmt_error(
                        "svm_estimator", "an estimator with fit and predict", self.svm_estimator
                    )
                )
            return (
                self._estimator(self.svm_estimator)
                if hasattr(self.svm_estimator, "get_params")
                else copy.deepcopy(self.svm_estimator)
            )
        try:
            from sklearn.svm import SVC
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                "SVMSMOTE's default SVM is scikit-learn's SVC: pip install scikit-learn "
                '(or pip install "gpusmote[test]"), or pass svm_estimator=...'
            ) from None
        seed = self.random_state if not isinstance(self.random_state, torch.Generator) else None
        return SVC(gamma="scale", random_state=seed)

    def _check_params(self) -> None:
        super()._check_params()
        if not isinstance(self.out_step, numbers.Real) or not 0 <= self.out_step <= 1:
            raise ValueError(fmt_error("out_step", "a float in [0, 1]", self.out_step))

    def _fit_resample(self, data) -> NewRows:
        ctx = self._setup(data)
        dev, X_all, codes = ctx.dev, ctx.X_all, ctx.codes
        svm = self._svm()
        X_host, codes_host = host_numpy(data.X), data.codes.cpu().numpy()
        y_host = data.labels_for_callable()
        stream = Stream(self.random_state, dev)
        shared = stream.continuing()  # imbalanced-learn's first check_random_state: the Beta draws
        blocks = []
        for ci, n in self._targets(data):
            members = (codes == ci).nonzero().squeeze(1)
            svm.fit(X_host, y_host)
            if not hasattr(svm, "support_"):
                raise RuntimeError(
                    "`svm_estimator` must expose a fitted `support_` attribute (the indices "
                    "of its support vectors), as support vector machines do."
                )
            support = np.asarray(svm.support_)
            support = torch.from_numpy(support[codes_host[support] == ci]).to(dev)
            n_other = ctx.others_among_neighbours(support, ci)
            m = ctx.m
            support = support[n_other != m]  # all neighbours elsewhere: noise
            n_other = n_other[n_other != m]
            if support.numel() == 0:
                raise ValueError(
                    "All support vectors are considered as noise. SVM-SMOTE is not adapted "
                    "to your dataset. Try another SMOTE variant."
                )
            danger = (n_other >= m / 2) & (n_other < m)
            n_danger = int(shared.beta_10_10() * (n + 1))
            # positions of the support vectors among the class's rows
            position = torch.full((data.n,), -1, dtype=torch.int64, device=dev)
            position[members] = torch.arange(members.numel(), device=dev)
            Xc = X_all[members]
            parts = []
            if bool(danger.any()):
                parts.append((position[support[danger]], n_danger, 1.0))
            if bool((~danger).any()):
                parts.append((position[support[~danger]], n - n_danger, -float(self.out_step)))
            for rows_c, count, step_size in parts:
                nn = ctx.neighbours(Xc, rows_c)
                k = nn.shape[1]
                # drawn now, in imbalanced-learn's order: a shared RandomState also feeds
                # the next class's SVM fit and Beta draw
                flat, steps = stream.for_class().smote(nn.numel(), count)
                job = (Xc, rows_c[flat // k], nn.view(-1)[flat], steps * step_size)
                blocks.append((ci, count, self._filler(job)))
        self.svm_estimator_ = svm
        return NewRows(blocks)

    def _filler(self, job):
        Xc, rows, partners, steps = job
        return lambda dest: interpolate_into(Xc, rows, partners, steps, dest, self.max_memory)
