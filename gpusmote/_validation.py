"""Parameter checks and the one error-message template."""

from __future__ import annotations

import numbers
import re

from .exceptions import InvalidParameterError

__all__ = ["check_int", "check_bool", "check_finite", "parse_memory", "fmt_error"]


def fmt_error(param: str, expectation: str, value) -> str:
    """`{param}` must be {expectation}; got {value!r}."""
    return f"`{param}` must be {expectation}; got {value!r}."


def check_int(value, param: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int``; bools and non-integers are a ``TypeError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(fmt_error(param, "an integer", value))
    value = int(value)
    too_small = minimum is not None and value < minimum
    too_large = maximum is not None and value > maximum
    if too_small or too_large:
        if minimum is not None and maximum is not None:
            expectation = f"an integer in [{minimum}, {maximum}]"
        elif minimum is not None:
            expectation = f"an integer >= {minimum}"
        else:
            expectation = f"an integer <= {maximum}"
        raise InvalidParameterError(fmt_error(param, expectation, value))
    return value


def check_bool(value, param: str) -> bool:
    """Accept Python and numpy bools only."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise InvalidParameterError(fmt_error(param, "a bool", value))


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory(value, param: str = "max_memory") -> int | None:
    """Bytes from an int or a string such as ``"512MiB"`` / ``"2GB"``; ``None`` passes through."""
    if value is None:
        return None
    if isinstance(value, str):
        match = _MEMORY_RE.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise InvalidParameterError(
                fmt_error(param, 'a number of bytes or a string such as "512MiB" or "2GB"', value)
            )
        value = float(match.group(1)) * _UNITS[unit]
        if value < 1:
            raise InvalidParameterError(fmt_error(param, "a positive amount of memory", value))
        return int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(
            fmt_error(param, 'an int (bytes) or a string such as "512MiB"', value)
        )
    if value < 1:
        raise InvalidParameterError(fmt_error(param, "a positive number of bytes", value))
    return int(value)


def check_finite(t, param: str, chunk: int = 65536) -> None:
    """Raise a ``ValueError`` naming ``param`` if tensor ``t`` holds NaN or infinity.

    Checked ``chunk`` rows at a time so the boolean mask stays small.
    """
    import torch

    if hasattr(t, "all_finite"):  # sparse rows: their stored values
        if not t.all_finite():
            bad = int((~torch.isfinite(t.val)).sum())
            raise ValueError(
                fmt_error(
                    param, "finite (no NaN or infinity)", f"{bad} non-finite values in {t.shape}"
                )
            )
        return
    if not t.is_floating_point():  # integers and bools are finite
        return
    # Fast path: a finite total proves every entry finite (NaN and inf propagate);
    # a total that overflows the data's own precision is only a false alarm, settled
    # by counting.
    if t.numel() and torch.isfinite(t.sum()):
        return
    bad = sum(int((~torch.isfinite(t[a : a + chunk])).sum()) for a in range(0, t.shape[0], chunk))
    if bad:
        raise ValueError(
            fmt_error(
                param, "finite (no NaN or infinity)", f"{bad} non-finite values in {tuple(t.shape)}"
            )
        )


def check_fits(t, param: str, what: str) -> None:
    """Raise a ``ValueError`` naming ``param`` if ``what``, computed into ``t`` in the
    output's dtype, overflowed it (noise added to values near the dtype's largest)."""
    import torch

    if not bool(torch.isfinite(t).all()):
        raise ValueError(
            fmt_error(
                param,
                f"small enough for {what} to fit in {t.dtype}; scale X or pass a wider dtype",
                f"rows that overflow {t.dtype}",
            )
        )


def check_neighbours(value, param: str) -> None:
    """An int >= 1 or an object with ``fit`` and ``kneighbors`` (imbalanced-learn's rule)."""
    import numbers

    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        check_int(value, param, minimum=1)
    elif not (hasattr(value, "kneighbors") and hasattr(value, "fit")):
        raise InvalidParameterError(
            fmt_error(param, "an int or an object with fit and kneighbors", value)
        )
