"""Device resolution, dtype rules and default memory budgets."""

from __future__ import annotations

import torch

from ._validation import fmt_error

__all__ = ["resolve_device", "compute_dtype", "default_memory_budget"]

_CPU_DEFAULT_BUDGET = 256 * 1024**2
# Half of what the driver reports free: room for the caching allocator's slack and
# for whatever else the user's process allocates while the search runs.
_CUDA_FREE_FRACTION = 0.5


def resolve_device(device, *, data_device: torch.device | None = None, param: str = "device"):
    """Turn ``None``/``"auto"``/a name/a ``torch.device`` into a usable ``torch.device``.

    ``None`` and ``"auto"`` mean: where the data already is when it is a tensor, else
    CUDA when available, else the CPU.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        if data_device is not None:
            return data_device
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if isinstance(device, str):
        try:
            device = torch.device(device)
        except RuntimeError:
            raise ValueError(
                fmt_error(param, '"auto", "cpu", "cuda", "cuda:N" or a torch.device', device)
            ) from None
    if not isinstance(device, torch.device):
        raise TypeError(fmt_error(param, '"auto", "cpu", "cuda" or a torch.device', device))
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"`{param}` is {str(device)!r} but CUDA is not available in this PyTorch build "
                f'or on this machine; use device="cpu" or device="auto".'
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                fmt_error(
                    param, f"a CUDA device index below {torch.cuda.device_count()}", str(device)
                )
            )
    elif device.type != "cpu":
        raise ValueError(fmt_error(param, '"auto", "cpu" or a CUDA device', str(device)))
    return device


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; float16/bfloat16/float32 compute in float32.

    Half-precision distances lose neighbour order after a few hundred features, so
    they are never computed in the input's own precision.
    """
    return torch.float64 if dtype == torch.float64 else torch.float32


def default_memory_budget(device: torch.device) -> int:
    """Bytes the neighbour engine may use for its working set when the user gives none."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free * _CUDA_FREE_FRACTION)
    return _CPU_DEFAULT_BUDGET
