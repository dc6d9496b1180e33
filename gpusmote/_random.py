"""Random draws: imbalanced-learn's numpy stream, or a torch.Generator on the device.

imbalanced-learn calls ``check_random_state(self.random_state)`` once per class: an int
gives every class a fresh ``RandomState(seed)``, a ``RandomState`` instance is one stream
shared by all classes. `Stream.for_class` reproduces exactly that. ``None`` gets one
fresh, OS-seeded ``RandomState`` per call: never numpy's global one, so gpusmote does not
disturb (or depend on) the caller's global state.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ._validation import fmt_error

__all__ = ["Stream", "check_random_state", "smote_draws"]


def check_random_state(random_state, param: str = "random_state"):
    """Validate ``random_state`` (None, int, ``numpy.random.RandomState``, ``torch.Generator``)."""
    if random_state is None or isinstance(random_state, (np.random.RandomState, torch.Generator)):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= int(random_state) < 2**32:
            raise ValueError(fmt_error(param, "an int in [0, 2**32 - 1]", random_state))
        return int(random_state)
    raise TypeError(
        fmt_error(
            param, "None, an int, a numpy.random.RandomState or a torch.Generator", random_state
        )
    )


class Stream:
    """Where the random numbers of one ``fit_resample`` (or one fitted sampler) come from."""

    def __init__(self, random_state):
        random_state = check_random_state(random_state)
        self.generator = random_state if isinstance(random_state, torch.Generator) else None
        self.seed = random_state if isinstance(random_state, int) else None
        if isinstance(random_state, np.random.RandomState):
            self.shared = random_state
        elif random_state is None:
            self.shared = np.random.RandomState()
        else:
            self.shared = None
        # made now, not on first use: two threads' first calls made two streams
        self._continuing = np.random.RandomState(self.seed) if self.seed is not None else None

    def for_class(self):
        """The generator imbalanced-learn would use for the next class."""
        if self.generator is not None:
            return self.generator
        if self.seed is not None:
            return np.random.RandomState(self.seed)
        return self.shared

    def continuing(self):
        """One generator for a sequence of draws: ``sample`` / ``iter_samples``, and the
        samplers that imbalanced-learn seeds once for all classes (RandomOverSampler,
        ADASYN)."""
        if self.generator is not None:
            return self.generator
        if self.seed is not None:
            return self._continuing
        return self.shared


def smote_draws(gen, n_choices: int, n_samples: int, device: torch.device):
    """``(flat, steps)``: which (row, neighbour) pair and how far along it, per new row.

    With a ``RandomState`` this is imbalanced-learn's ``_make_samples`` draw, call for
    call: ``randint(0, n_choices, n_samples)`` then ``uniform(size=n_samples)``. With a
    ``torch.Generator`` both are drawn where the generator lives. ``flat`` int64 and
    ``steps`` float64, both (n_samples,) on ``device``.
    """
    if isinstance(gen, torch.Generator):
        flat = torch.randint(0, n_choices, (n_samples,), generator=gen, device=gen.device)
        steps = torch.rand(n_samples, generator=gen, device=gen.device, dtype=torch.float64)
        return flat.to(device), steps.to(device)
    flat = gen.randint(low=0, high=n_choices, size=n_samples)
    steps = gen.uniform(size=n_samples)
    return torch.from_numpy(flat).to(device, torch.int64), torch.from_numpy(steps).to(device)
