"""RandomOverSampler: bootstrap (optionally smoothed) rows, imbalanced-learn compatible."""

from __future__ import annotations

import numbers

import torch

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

    def fit_resample(self, X, y):
        check_random_state(self.random_state)
        data = self._prepare(X, y)
        self.shrinkage_ = self._check_shrinkage()
        gen = Stream(self.random_state).continuing()
        index = {c: i for i, c in enumerate(data.classes)}
        blocks = [(index[c], n) for c, n in self.sampling_strategy_.items()]
        X_buf, dest = data.x_buffer(sum(n for _, n in blocks))
        picked, start = [], 0
        n_rows, d = data.X.shape
        for class_index, n in blocks:
            members = (data.codes == class_index).nonzero().squeeze(1)
            if isinstance(gen, torch.Generator):
                choice = torch.randint(0, members.numel(), (n,), generator=gen, device=gen.device)
                boot = members[choice.to(members.device)]
            else:
                boot = torch.from_numpy(gen.choice(members.cpu().numpy(), size=n, replace=True))
                boot = boot.to(data.X.device)
            target = dest[start : start + n]
            if self.shrinkage_ is None and target.dtype == data.X.dtype:
                if target.device == data.X.device:  # gather straight into the output
                    torch.index_select(data.X, 0, boot, out=target)
                else:
                    target.copy_(data.X[boot])
                picked.append(boot.cpu())
                start += n
                continue
            rows = data.X[boot]
            if self.shrinkage_ is not None and n:
                label = data.classes[class_index]
                # imbalanced-learn's smoothed bootstrap: noise ~ N(0, (h * c * std_j)^2)
                constant = (4 / ((d + 2) * n_rows)) ** (1 / (d + 4))
                scale = data.X[members].std(0, unbiased=False).to(torch.float64)
                scale = scale * (self.shrinkage_[label] * constant)
                if isinstance(gen, torch.Generator):
                    noise = torch.randn(
                        (n, d), generator=gen, device=gen.device, dtype=torch.float64
                    )
                else:
                    noise = torch.from_numpy(gen.randn(n, d))
                rows = noise.to(rows.device).mul_(scale.to(rows.device)).add_(rows)
            dest[start : start + n].copy_(rows)
            picked.append(boot.cpu())
            start += n
        self.sample_indices_ = torch.cat([torch.arange(data.n)] + picked).numpy()
        X_out, y_out = data.finish(X_buf, data.y_buffer(blocks))
        data.release()
        return X_out, y_out

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
