"""Counter-based random numbers: the same value for the same key on any device or process.

SplitMix64's finaliser on int64 tensors (wrapping multiplication, logical shifts done
with masks), so synthetic row ``t`` of epoch ``e`` can be recomputed anywhere, any time,
without storing or sharing a generator's state.
"""

from __future__ import annotations

import torch

__all__ = ["key", "uniform_int", "uniform_float"]

_M1 = 0xBF58476D1CE4E5B9 - 2**64
_M2 = 0x94D049BB133111EB - 2**64
_GOLDEN = 0x9E3779B97F4A7C15


def _signed(value: int) -> int:
    value &= 2**64 - 1
    return value - 2**64 if value >= 2**63 else value


def _lsr(z: torch.Tensor, s: int) -> torch.Tensor:
    return (z >> s) & ((1 << (64 - s)) - 1)


def _mix(z: torch.Tensor) -> torch.Tensor:
    z = (z ^ _lsr(z, 30)) * _M1
    z = (z ^ _lsr(z, 27)) * _M2
    return z ^ _lsr(z, 31)


def _mix_int(z: int) -> int:
    """`_mix` on one Python int (unsigned 64-bit arithmetic), returned as signed int64."""
    mask = 2**64 - 1
    z &= mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return _signed(z ^ (z >> 31))


def key(*parts: int) -> int:
    """Fold integers (seed, epoch, class, stream) into one 64-bit key (pure Python)."""
    h = 0
    for part in parts:
        h = _mix_int((h ^ (int(part) & (2**64 - 1))) * _GOLDEN + 0x632BE59BD9B4E019)
    return h


def uniform_int(k: int, counter: torch.Tensor, high: int) -> torch.Tensor:
    """Integers in ``[0, high)``, one per entry of ``counter`` (int64), for key ``k``."""
    z = _mix(counter * _signed(_GOLDEN) + k)
    return (z & (2**63 - 1)) % high


def uniform_float(k: int, counter: torch.Tensor, dtype=torch.float64) -> torch.Tensor:
    """Floats in ``[0, 1)`` (53 random bits), one per entry of ``counter``, for key ``k``."""
    z = _mix(counter * _signed(_GOLDEN) + k)
    return _lsr(z, 11).to(torch.float64).mul_(2.0**-53).to(dtype)
