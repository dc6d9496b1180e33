"""Type names for the public signatures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, Union

import numpy as np
import torch

__all__ = [
    "ArrayLike",
    "Backend",
    "Device",
    "FrameLike",
    "Labels",
    "Memory",
    "Neighbours",
    "RandomState",
    "Strategy",
]


class FrameLike(Protocol):
    """A pandas DataFrame or Series (pandas itself is optional)."""

    def to_numpy(self, *args, **kwargs) -> np.ndarray: ...


# What the samplers take and give back: numpy, pandas, nested lists or a tensor on any
# device; the output is in the input's kind of container.
ArrayLike = Union[np.ndarray, torch.Tensor, FrameLike, Sequence]  # noqa: UP007
Labels = ArrayLike
RandomState = Union[None, int, np.random.RandomState, torch.Generator]  # noqa: UP007

# the samplers' shared parameters
Strategy = Union[float, str, dict, list, Callable]  # noqa: UP007
Device = Union[str, torch.device]  # noqa: UP007
Backend = Union[str, object]  # noqa: UP007  (a name, or a FaissFlat/FaissIVF/FaissHNSW spec)
Memory = Union[int, str, None]  # noqa: UP007
Neighbours = Union[int, object]  # noqa: UP007  (a count, or an object with kneighbors)
