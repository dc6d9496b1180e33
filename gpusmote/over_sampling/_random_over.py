"""RandomOverSampler: bootstrap (optionally smoothed) rows, imbalanced-learn compatible."""

from __future__ import annotations

import numbers

import torch

from .._io import take_rows
from .._random import Stream, check_random_state
from .._validation import fmt_error
from ..base import BaseSampler

__all__ = ["RandomOverSampler"]


class RandomOverSampler(BaseSampler):
    """Over-sample by drawing rows of each class with replacement.

    With ``shrinkage``, each drawn row gets Gaussian noise scaled per feature (the
    smoothed bootstrap of imbalanced-learn). Same draws and rows as
    ``imblearn.over_sampling.RandomOverSampler`` for the same ``random_state`` (one
    stream for all classes, as there); a ``torch.Generator`` draws on its device.

    Parameters
    ----------
    sampling_strategy, random_state : as for `gpusmote.SMOTE`
    shrinkage : float, dict or None
        None: a plain bootstrap. A float (or ``{class: float}``) >= 0: the smoothing
        factor of the smoothed bootstrap.
    device : keyword-only, as for `gpusmote.SMOTE`

    Attributes
    ----------
    sampling_strategy_, sample_indices_ (the row of X behind every output row),
    shrinkage_, device_, n_features_in_

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

    def __init__(
        self, *, sampling_strategy="auto", random_state=None, shrinkage=None, device="auto"
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.shrinkage = shrinkage
        self.device = device

    def fit(self, X, y):
        self._validated(X, y).release()
        return self

    def _validated(self, X, y):
        """The input, ``sampling_strategy_`` and ``shrinkage_``. A plain bootstrap only
        indexes rows, so any X passes (strings, NaN, mixed dtypes), as in
        imbalanced-learn; the smoothed one needs finite numbers."""
        check_random_state(self.random_state)
        data = self._prepare_labels(X, y) if self.shrinkage is None else self._prepare(X, y)
        self.shrinkage_ = self._check_shrinkage()
        return data

    def fit_resample(self, X, y):
        data = self._validated(X, y)
        plain = self.shrinkage_ is None
        gen = Stream(self.random_state, data.X.device).continuing()
        index = {c: i for i, c in enumerate(data.classes)}
        blocks = [(index[c], n) for c, n in self.sampling_strategy_.items()]
        if not plain:
            X_buf, dest = data.x_buffer(sum(n for _, n in blocks))
        boots, start = [], 0
        for class_index, n in blocks:  # each class's noise follows its draws, as there
            members = (data.codes == class_index).nonzero().squeeze(1)
            boot = self._bootstrap(gen, members, n)
            boots.append(boot.cpu())
            if not plain and n:
                label = data.classes[class_index]
                self._smooth_into(gen, data, label, members, boot, dest[start : start + n])
            start += n
        self.sample_indices_ = torch.cat([torch.arange(data.n)] + boots).numpy()
        if plain:
            return take_rows(X, self.sample_indices_), take_rows(y, self.sample_indices_)
        X_out, y_out = data.finish(X_buf, data.y_buffer(blocks))
        data.release()
        return X_out, y_out

    def _smooth_into(self, gen, data, label, members, boot, target: torch.Tensor) -> None:
        """imbalanced-learn's smoothed bootstrap of rows ``boot`` of class ``label`` (whose
        rows are ``members``) into ``target`` (n, d): noise ~ N(0, (h * c * std_j)^2) per
        feature ``j``."""
        (n_rows, d), n = data.X.shape, boot.numel()
        constant = (4 / ((d + 2) * n_rows)) ** (1 / (d + 4))
        scale = data.X[members].std(0, unbiased=False).to(torch.float64)
        scale = scale * (self.shrinkage_[label] * constant)
        noise = gen.normal((n, d))
        rows = data.X[boot.to(data.X.device)]
        target.copy_(noise.to(rows.device).mul_(scale.to(rows.device)).add_(rows))
        _check_smoothed(target, label, self.shrinkage_[label])

    @staticmethod
    def _bootstrap(gen, members: torch.Tensor, n: int) -> torch.Tensor:
        """(n,) int64: ``n`` of a class's rows ``members`` drawn with replacement."""
        return members[gen.choice(members.numel(), n).to(members.device)]

    def _check_shrinkage(self):
        shrinkage = self.shrinkage
        if shrinkage is None:
            return None
        if isinstance(shrinkage, numbers.Real) and not isinstance(shrinkage, bool):
            shrinkage = {c: shrinkage for c in self.sampling_strategy_}
        elif not isinstance(shrinkage, dict):
            raise TypeError(
                fmt_error("shrinkage", "None, a float or a dict {class: float}", shrinkage)
            )
        missing = self.sampling_strategy_.keys() - shrinkage.keys()
        if missing:
            raise ValueError(
                "`shrinkage` should contain a shrinkage factor for each class that will be "
                f"resampled. The missing classes are: {missing!r}"
            )
        for klass, factor in shrinkage.items():
            if factor < 0:
                raise ValueError(
                    f"The shrinkage factor needs to be >= 0. Got {factor} for class {klass}."
                )
        return shrinkage


def _check_smoothed(rows: torch.Tensor, label, shrinkage) -> None:
    """The smoothed rows, in the output's dtype, must be finite: noise added to values
    near the dtype's largest would overflow it."""
    if not bool(torch.isfinite(rows).all()):
        raise ValueError(
            fmt_error(
                "X",
                f"small enough for the smoothed rows of class {label!r} (shrinkage "
                f"{shrinkage}) to fit in {rows.dtype}; scale X or pass a wider dtype",
                f"rows that overflow {rows.dtype}",
            )
        )
