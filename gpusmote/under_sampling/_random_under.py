"""RandomUnderSampler: keep a random subset of each class."""

from __future__ import annotations

import torch

from .._docs import fill_doc
from .._io import Kept
from .._random import Stream
from .._typing import Device, RandomState, Strategy
from .._validation import check_bool
from ._base import BaseUnderSampler

__all__ = ["RandomUnderSampler"]


@fill_doc
class RandomUnderSampler(BaseUnderSampler):
    """Random under-sampling, imbalanced-learn compatible.

    Each class in ``sampling_strategy_`` keeps ``n`` rows drawn at random (with
    ``replacement`` or without); the others keep every row. ``X`` is only indexed: any
    rows (strings, NaN, mixed dtypes) pass through unchanged. With the same
    ``random_state`` (None/int/RandomState), the same rows as imbalanced-learn, in its
    order (class by class, sorted). A ``torch.Generator`` draws on its own device.

    Parameters
    ----------
    {sampling_strategy_under}
    {random_state}
    replacement : bool, default=False
        Whether rows are drawn with replacement.
    {device}

    Attributes
    ----------
    sampling_strategy_ : OrderedDict ``{class: rows kept}``
    sample_indices_ : ndarray of the kept rows' indices

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.under_sampling import RandomUnderSampler
    >>> X = np.arange(20).reshape(10, 2)
    >>> y = np.r_[np.zeros(7, int), np.ones(3, int)]
    >>> X_res, y_res = RandomUnderSampler(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [3, 3]
    """

    _sparse_native = True

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        replacement: bool = False,
        device: Device = "auto",
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.replacement = replacement
        self.device = device

    def _check_params(self) -> None:
        super()._check_params()
        check_bool(self.replacement, "replacement")

    def _prepare(self, X, y):
        return self._prepare_labels(X, y)  # X is only indexed

    def _fit_resample(self, data) -> Kept:
        draws = Stream(self.random_state).continuing()
        parts = []
        for ci, label in enumerate(data.classes):
            members = (data.codes == ci).nonzero().squeeze(1).cpu()
            if label in self.sampling_strategy_:
                n = self.sampling_strategy_[label]
                members = members[draws.choice(members.numel(), n, bool(self.replacement))]
            parts.append(members)
        # imbalanced-learn's RandomUnderSampler skips validation: pandas keep their labels
        return Kept(torch.cat(parts).numpy(), reset_index=False)
