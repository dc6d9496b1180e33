"""Which samplers run on dask, checked by their own rules plus the limits dask adds."""

from __future__ import annotations

import numbers

from .._validation import fmt_error

__all__ = ["SUPPORTED", "method_for"]

SUPPORTED = (
    "SMOTE",
    "RandomOverSampler",
    "RandomUnderSampler",
    "EditedNearestNeighbours",
    "TomekLinks",
)


def method_for(sampler):
    """The dask method (`_over`, `_under` or `_clean`) that runs ``sampler``, after the
    sampler's own parameter checks (`BaseSampler._check_params`) and dask's limits: an
    int or None ``random_state`` (a generator's stream cannot be split over tasks), and
    int neighbour counts."""
    from ..over_sampling import SMOTE, RandomOverSampler
    from ..under_sampling import EditedNearestNeighbours, RandomUnderSampler, TomekLinks
    from ._clean import Cleaning
    from ._over import OverSampling
    from ._under import UnderSampling

    methods = (
        (SMOTE, OverSampling),
        (RandomOverSampler, OverSampling),
        (RandomUnderSampler, UnderSampling),
        (EditedNearestNeighbours, Cleaning),
        (TomekLinks, Cleaning),
    )
    method = next((m for cls, m in methods if isinstance(sampler, cls)), None)
    if method is None:
        raise TypeError(
            fmt_error(
                "sampler",
                f"one of {', '.join(SUPPORTED)}: {type(sampler).__name__} is not supported "
                "on dask (its decisions need the whole set in one place or a sequential "
                "pass over it)",
                sampler,
            )
        )
    sampler._validate_params()
    rs = getattr(sampler, "random_state", None)
    if rs is not None and not (isinstance(rs, numbers.Integral) and not isinstance(rs, bool)):
        raise TypeError(
            fmt_error(
                "random_state",
                "an int or None on dask (a generator's stream cannot be split over tasks)",
                rs,
            )
        )
    for name in ("k_neighbors", "n_neighbors"):
        value = getattr(sampler, name, 1)
        if not isinstance(value, numbers.Integral):
            raise TypeError(fmt_error(name, "a positive int on dask", value))
    return method(sampler)
