"""Conversion between user arrays and torch tensors: the only place that does it."""

from __future__ import annotations

import numpy as np
import torch

from ._validation import fmt_error

__all__ = ["as_feature_tensor", "is_tensor", "to_like"]

_FLOAT_TENSOR_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def is_tensor(X) -> bool:
    return isinstance(X, torch.Tensor)


def _describe(X) -> str:
    shape = getattr(X, "shape", None)
    dtype = getattr(X, "dtype", None)
    return f"<{type(X).__name__} shape={tuple(shape) if shape is not None else '?'} dtype={dtype}>"


def as_feature_tensor(X, param: str, device: torch.device) -> torch.Tensor:
    """A 2-D floating tensor on ``device`` holding ``X``'s values; ``X`` itself is never written.

    Floating inputs keep their precision (float16/bfloat16/float32/float64); integers and
    bools become float64 so that their distances stay exact. The result may share memory
    with ``X``: callers treat it as read-only.
    """
    if isinstance(X, torch.Tensor):
        t = X
        if t.is_complex():
            raise TypeError(fmt_error(param, "a real numeric tensor", _describe(X)))
        if t.dtype not in _FLOAT_TENSOR_DTYPES:
            t = t.to(torch.float64)
    else:
        t = torch.from_numpy(_as_numeric_numpy(X, param))
    if t.ndim != 2:
        raise ValueError(
            fmt_error(param, "a 2-D array of shape (n_samples, n_features)", _describe(t))
        )
    if t.shape[0] == 0:
        raise ValueError(fmt_error(param, "an array with at least one row", _describe(t)))
    if t.shape[1] == 0:
        raise ValueError(
            fmt_error(param, "an array with at least one feature column", _describe(t))
        )
    return t.to(device)


def _as_numeric_numpy(X, param: str) -> np.ndarray:
    if hasattr(X, "select_dtypes") and hasattr(X, "to_numpy"):  # pandas DataFrame
        bad = [str(c) for c in X.select_dtypes(exclude=["number", "bool"]).columns]
        if bad:
            raise TypeError(
                fmt_error(param, f"numeric data; non-numeric columns {bad}", _describe(X))
            )
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise TypeError(
            fmt_error(param, f"an array-like of numbers ({exc})", type(X).__name__)
        ) from None
    if arr.dtype.kind in "OUSV":
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise TypeError(fmt_error(param, "numeric data", _describe(arr))) from None
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise TypeError(fmt_error(param, "real numeric data", _describe(arr)))
    elif arr.dtype not in (np.float16, np.float32, np.float64):
        arr = arr.astype(np.float64)  # longdouble has no torch dtype
    # torch.from_numpy refuses negative strides and warns on read-only memory.
    if not arr.flags.writeable or any(step < 0 for step in arr.strides):
        arr = arr.copy()
    return arr


def to_like(t: torch.Tensor, like):
    """``t`` in the kind of container ``like`` was: a tensor stays a tensor, else numpy."""
    if isinstance(like, torch.Tensor):
        return t
    return t.detach().cpu().numpy()
