"""RandomOverSampler: bootstrap (optionally smoothed) rows, imbalanced-learn compatible."""

from __future__ import annotations

import numbers

import torch

from .._device import floating
from .._docs import fill_doc
from .._io import Kept, NewRows
from .._random import Stream
from .._typing import Device, RandomState, Strategy
from .._validation import check_fits, fmt_error
from ..base import BaseSampler

__all__ = ["RandomOverSampler"]


@fill_doc
class RandomOverSampler(BaseSampler):
    """Over-sample by drawing rows of each class with replacement.

    With ``shrinkage``, each drawn row gets Gaussian noise scaled per feature (the
    smoothed bootstrap of imbalanced-learn). Same draws and rows as
    ``imblearn.over_sampling.RandomOverSampler`` for the same ``random_state`` (one
    stream for all classes, as there); a ``torch.Generator`` draws on its device.

    Parameters
    ----------
    {sampling_strategy_over}
    {random_state}
    shrinkage : float, dict or None
        None: a plain bootstrap. A float (or ``{class: float}``) >= 0: the smoothing
        factor of the smoothed bootstrap.
    {device}

    Attributes
    ----------
    sample_indices_ : ndarray, the row of X behind every output row

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote import RandomOverSampler
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> y = np.array([0, 0, 0, 0, 1, 1])
    >>> ros = RandomOverSampler(random_state=0, device="cpu")
    >>> X_res, y_res = ros.fit_resample(X, y)
    >>> ros.sample_indices_.tolist()
    [0, 1, 2, 3, 4, 5, 4, 5]
    """

    _sets_sample_indices = True

    @property
    def _sparse_native(self) -> bool:
        return self.shrinkage is None  # the smoothed bootstrap adds dense noise

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        shrinkage: float | dict | None = None,
        device: Device = "auto",
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.shrinkage = shrinkage
        self.device = device

    def _prepare(self, X, y):
        # a plain bootstrap only indexes rows: any X passes (strings, NaN), as there
        data = self._prepare_labels(X, y) if self.shrinkage is None else super()._prepare(X, y)
        self.shrinkage_ = self._check_shrinkage()
        return data

    def _fit_resample(self, data):
        draws = Stream(self.random_state, data.X.device).continuing()
        boots, blocks = [], []
        for ci, n in self._targets(data, skip_empty=False):  # one stream, class by class
            members = (data.codes == ci).nonzero().squeeze(1)
            boots.append(members[draws.choice(members.numel(), n).to(members.device)])
            if self.shrinkage_ is not None:  # the noise follows the class's draws
                blocks.append((ci, n, self._smoothed(draws, data, ci, members, boots[-1])))
        self.sample_indices_ = torch.cat([torch.arange(data.n)] + [b.cpu() for b in boots]).numpy()
        if self.shrinkage_ is None:
            return Kept(self.sample_indices_)
        return NewRows(blocks, floating=True)  # noise on integer rows is not rounded off, as there

    def _smoothed(self, draws, data, ci, members, boot):
        """The ``fill`` of rows ``boot`` of class ``ci`` (rows ``members``), smoothed as
        imbalanced-learn does: noise ~ N(0, (h * c * std_j)^2) per feature ``j``."""
        label, h = data.classes[ci], self.shrinkage_[data.classes[ci]]
        (n_rows, d), n = data.X.shape, boot.numel()
        c = (4 / ((d + 2) * n_rows)) ** (1 / (d + 4))
        scale = floating(data.X[members]).std(0, unbiased=False).to(torch.float64) * (h * c)
        rows = draws.normal((n, d)).mul_(scale).add_(data.X[boot])
        what = f"the smoothed rows of class {label!r} (shrinkage {h})"
        return lambda dest: check_fits(dest.copy_(rows), "X", what)

    def _check_shrinkage(self):
        shrinkage = self.shrinkage
        if shrinkage is None:
            return None
        if isinstance(shrinkage, numbers.Real) and not isinstance(shrinkage, bool):
            shrinkage = dict.fromkeys(self.sampling_strategy_, shrinkage)
        elif not isinstance(shrinkage, dict):
            raise TypeError(
                fmt_error("shrinkage", "None, a float or a dict {class: float}", shrinkage)
            )
        if missing := self.sampling_strategy_.keys() - shrinkage.keys():
            raise ValueError(
                "`shrinkage` should contain a shrinkage factor for each class that will be "
                f"resampled. The missing classes are: {missing!r}"
            )
        for klass, factor in shrinkage.items():
            if not isinstance(factor, numbers.Real) or isinstance(factor, bool):
                raise TypeError(fmt_error(f"shrinkage[{klass!r}]", "a float >= 0", factor))
            if not 0 <= factor < float("inf"):  # NaN fails both
                raise ValueError(
                    f"The shrinkage factor needs to be >= 0 and finite. Got {factor} for "
                    f"class {klass}."
                )
        return shrinkage
