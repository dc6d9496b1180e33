"""``sampling_strategy`` -> ``{class: n_samples}``, with imbalanced-learn's semantics.

Mirrors ``imblearn.utils.check_sampling_strategy`` (same results and messages) on class
counts alone, so labels on a GPU never leave it: only the counts come to the host.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict

__all__ = ["resolve", "SAMPLING_TYPES"]

SAMPLING_TYPES = ("over-sampling", "under-sampling", "clean-sampling")
_TARGET_KINDS = ("minority", "majority", "not minority", "not majority", "all", "auto")


def _majority(counts: dict):
    return max(counts, key=counts.get)


def _minority(counts: dict):
    return min(counts, key=counts.get)


def _from_string(kind: str, counts: dict, sampling_type: str) -> dict:
    over = sampling_type == "over-sampling"
    n_max, n_min = max(counts.values()), min(counts.values())
    if kind == "auto":
        kind = "not majority" if over else "not minority"
    if kind == "majority" and over:
        raise ValueError("'sampling_strategy'='majority' cannot be used with over-sampler.")
    if kind == "minority" and not over:
        raise ValueError(
            "'sampling_strategy'='minority' cannot be used with under-sampler and clean-sampler."
        )
    keep = {
        "all": lambda c: True,
        "majority": lambda c: c == _majority(counts),
        "minority": lambda c: c == _minority(counts),
        "not majority": lambda c: c != _majority(counts),
        "not minority": lambda c: c != _minority(counts),
    }[kind]
    if over:
        return {c: n_max - n for c, n in counts.items() if keep(c)}
    return {c: n_min for c in counts if keep(c)}


def _from_dict(strategy: dict, counts: dict, sampling_type: str) -> dict:
    for c, n in strategy.items():  # a row count: 10.5 rows, NaN or "10" are no count
        if isinstance(n, bool) or not (
            isinstance(n, numbers.Integral)
            or (isinstance(n, numbers.Real) and float(n).is_integer())
        ):
            raise ValueError(
                f"`sampling_strategy` must map each class to a whole number of rows; got "
                f"{n!r} for class {c!r}."
            )
    unknown = set(strategy) - set(counts)
    if unknown:
        raise ValueError(f"The {unknown} target class is/are not present in the data.")
    if any(n < 0 for n in strategy.values()):
        raise ValueError(
            "The number of samples in a class cannot be negative."
            f"'sampling_strategy' contains some negative value: {strategy}"
        )
    out = {}
    for c, n in strategy.items():
        if sampling_type == "over-sampling":
            if n < counts[c]:
                raise ValueError(
                    "With over-sampling methods, the number of samples in a class should "
                    "be greater or equal to the original number of samples. Originally, "
                    f"there is {counts[c]} samples and {n} samples are asked."
                )
            out[c] = n - counts[c]
        elif sampling_type == "under-sampling":
            if n > counts[c]:
                raise ValueError(
                    "With under-sampling methods, the number of samples in a class should "
                    "be less or equal to the original number of samples. Originally, "
                    f"there is {counts[c]} samples and {n} samples are asked."
                )
            out[c] = n
        else:
            raise ValueError(
                "'sampling_strategy' as a dict for cleaning methods is not supported. "
                "Please give a list of the classes to be targeted by the sampling."
            )
    return out


def _from_list(strategy: list, counts: dict, sampling_type: str) -> dict:
    if sampling_type != "clean-sampling":
        raise ValueError(
            "'sampling_strategy' cannot be a list for samplers which are not cleaning methods."
        )
    unknown = set(strategy) - set(counts)
    if unknown:
        raise ValueError(f"The {unknown} target class is/are not present in the data.")
    return {c: min(counts.values()) for c in strategy}


def _from_float(ratio: float, counts: dict, sampling_type: str) -> dict:
    if len(counts) != 2:
        raise ValueError(
            '"sampling_strategy" can be a float only when the type of target is binary. '
            "For multi-class, use a dict."
        )
    if sampling_type == "over-sampling":
        n_max, majority = max(counts.values()), _majority(counts)
        out = {c: int(n_max * ratio - n) for c, n in counts.items() if c != majority}
        if any(n <= 0 for n in out.values()):
            raise ValueError(
                "The specified ratio required to remove samples from the minority class "
                "while trying to generate new samples. Please increase the ratio."
            )
        return out
    if sampling_type == "under-sampling":
        n_min, minority = min(counts.values()), _minority(counts)
        out = {c: int(n_min / ratio) for c in counts if c != minority}
        if any(n > counts[c] for c, n in out.items()):
            raise ValueError(
                "The specified ratio required to generate new sample in the majority class "
                "while trying to remove samples. Please increase the ratio."
            )
        return out
    raise ValueError("'clean-sampling' methods do let the user specify the sampling ratio.")


def resolve(sampling_strategy, counts: dict, sampling_type: str, y=None) -> OrderedDict:
    """``{class: n}`` sorted by class, as imbalanced-learn's ``sampling_strategy_``.

    ``counts``: ``{class: number of rows}`` for every class present (sorted labels);
    ``y``: the labels, passed to a callable ``sampling_strategy`` only. For over-samplers
    ``n`` is the number of rows to generate; for under-samplers the number to keep.
    """
    if sampling_type not in SAMPLING_TYPES:
        raise ValueError(f"'sampling_type' should be one of {SAMPLING_TYPES}.")
    if len(counts) <= 1:
        raise ValueError(
            f"The target 'y' needs to have more than 1 class. Got {len(counts)} class instead"
        )
    if isinstance(sampling_strategy, str):
        if sampling_strategy not in _TARGET_KINDS:
            raise ValueError(
                "When 'sampling_strategy' is a string, it needs to be one of "
                f"{list(_TARGET_KINDS)}. Got '{sampling_strategy}' instead."
            )
        out = _from_string(sampling_strategy, counts, sampling_type)
    elif isinstance(sampling_strategy, dict):
        out = _from_dict(sampling_strategy, counts, sampling_type)
    elif isinstance(sampling_strategy, list):
        out = _from_list(sampling_strategy, counts, sampling_type)
    elif isinstance(sampling_strategy, numbers.Real) and not isinstance(sampling_strategy, bool):
        if not 0 < sampling_strategy <= 1:  # NaN fails it too
            raise ValueError(
                "When 'sampling_strategy' is a float, it should be in the range (0, 1]. "
                f"Got {sampling_strategy} instead."
            )
        out = _from_float(float(sampling_strategy), counts, sampling_type)
    elif callable(sampling_strategy):
        asked = sampling_strategy(y)
        if not isinstance(asked, dict):
            raise TypeError(
                "`sampling_strategy` as a callable must return a dict {class: n_samples}; "
                f"got {asked!r}."
            )
        out = _from_dict(asked, counts, sampling_type)
    else:
        raise TypeError(
            "`sampling_strategy` must be a float, a str, a dict, a list (cleaning methods) "
            f"or a callable; got {sampling_strategy!r}."
        )
    return OrderedDict(sorted((c, int(n)) for c, n in out.items()))
