"""Random draws: imbalanced-learn's numpy stream, or a torch.Generator on the device.

imbalanced-learn calls ``check_random_state(self.random_state)`` once per class: an int
gives every class a fresh ``RandomState(seed)``, a ``RandomState`` instance is one stream
shared by all classes. `Stream.for_class` reproduces exactly that. ``None`` gets one
fresh, OS-seeded ``RandomState`` per call: never numpy's global one, so gpusmote does not
disturb (or depend on) the caller's global state.

Every draw goes through `Draws`, whose methods make imbalanced-learn's numpy call, call
for call, or the torch equivalent on the generator's own device: samplers never branch
on the kind of generator.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ._validation import fmt_error

__all__ = ["Draws", "Stream", "check_random_state"]


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


class Draws:
    """One source of random numbers: a ``RandomState`` (imbalanced-learn's draws, made on
    the host) or a ``torch.Generator`` (drawn on its own device). Every result is a
    tensor on ``device``, except the scalars."""

    def __init__(self, source, device=None):
        self.gen = source if isinstance(source, torch.Generator) else None
        self.rs = None if self.gen is not None else source
        self.device = torch.device("cpu") if device is None else torch.device(device)

    @property
    def is_torch(self) -> bool:
        return self.gen is not None

    def _out(self, t) -> torch.Tensor:
        t = torch.from_numpy(np.asarray(t)) if not isinstance(t, torch.Tensor) else t
        return t.to(self.device)

    def _torch(self, fn, *args, **kwargs) -> torch.Tensor:
        return self._out(fn(*args, generator=self.gen, device=self.gen.device, **kwargs))

    def integers(self, high: int, size: int) -> torch.Tensor:
        """(size,) int64 in ``[0, high)``: numpy's ``randint(0, high, size)``."""
        if self.is_torch:
            return self._torch(torch.randint, 0, high, (size,))
        return self._out(self.rs.randint(0, high, size=size).astype(np.int64, copy=False))

    def choice(self, high: int, size: int, replace: bool = True) -> torch.Tensor:
        """(size,) int64 positions in ``[0, high)``: numpy's ``choice(high, size, replace)``
        (with replacement it is ``randint``; without, a permutation's first ``size``)."""
        if self.is_torch:
            if replace:
                return self._torch(torch.randint, 0, high, (size,))
            return self._torch(torch.randperm, high)[:size]
        picks = self.rs.choice(high, size=size, replace=bool(replace))
        return self._out(np.asarray(picks, dtype=np.int64))

    def integer(self, high: int) -> int:
        """One int in ``[0, high)``."""
        if self.is_torch:
            return int(torch.randint(high, (1,), generator=self.gen, device=self.gen.device))
        return int(self.rs.randint(high))

    def uniform(self, size, high: float = 1.0) -> torch.Tensor:
        """float64 uniforms in ``[0, high)``: numpy's ``uniform(0, high, size)``. ``size``
        an int or a shape."""
        if self.is_torch:
            shape = (size,) if isinstance(size, numbers.Integral) else tuple(size)
            u = self._torch(torch.rand, shape, dtype=torch.float64)
            return u * high if high != 1.0 else u
        if high == 1.0:
            return self._out(self.rs.uniform(size=size))
        return self._out(self.rs.uniform(low=0.0, high=high, size=size))

    def normal(self, shape) -> torch.Tensor:
        """float64 standard normals of ``shape``: numpy's ``randn(*shape)``."""
        if self.is_torch:
            return self._torch(torch.randn, tuple(shape), dtype=torch.float64)
        return self._out(self.rs.randn(*shape))

    def permutation(self, n: int) -> torch.Tensor:
        """(n,) int64: a random order of ``range(n)``."""
        if self.is_torch:
            return self._torch(torch.randperm, n)
        return self._out(self.rs.permutation(n))

    def priorities(self, n: int) -> torch.Tensor:
        """(n,) random priorities, the highest first. numpy: a permutation (the item at
        permuted position ``p`` gets ``-p``: imbalanced-learn's tie break by
        ``permutation``); torch: float32 uniforms."""
        if self.is_torch:
            return self._torch(torch.rand, n)
        perm = self.permutation(n)
        out = torch.empty(n, dtype=torch.float64, device=self.device)
        out[perm] = -torch.arange(n, dtype=torch.float64, device=self.device)
        return out

    def beta_10_10(self) -> float:
        """One Beta(10, 10) draw. For a generator, G1 / (G1 + G2) with G1, G2 ~ Gamma(10, 1),
        each the sum of 10 exponential draws -log(1 - u) of its own uniforms: exactly
        Beta(10, 10), and drawn from this generator alone (torch's Beta samples from the
        global one)."""
        if not self.is_torch:
            return float(self.rs.beta(10, 10))
        u = torch.rand(20, generator=self.gen, device=self.gen.device, dtype=torch.float64)
        g = -torch.log1p(-u)  # 1 - u lies in (0, 1]: finite
        return float(g[:10].sum() / g.sum())

    def smote(self, n_choices: int, n_samples: int):
        """``(flat, steps)``: which (row, neighbour) pair and how far along it, per new row.

        imbalanced-learn's ``_make_samples`` draw, call for call: ``randint(0, n_choices,
        n_samples)`` then ``uniform(size=n_samples)``. ``flat`` int64 and ``steps``
        float64, both (n_samples,)."""
        return self.integers(n_choices, n_samples), self.uniform(n_samples)


class Stream:
    """Where the random numbers of one ``fit_resample`` (or one fitted sampler) come from:
    `Draws` placed on ``device``."""

    def __init__(self, random_state, device=None):
        random_state = check_random_state(random_state)
        self.device = device
        self.generator = random_state if isinstance(random_state, torch.Generator) else None
        self.seed = random_state if isinstance(random_state, int) else None
        if isinstance(random_state, np.random.RandomState):
            self.shared = random_state
        elif random_state is None:
            self.shared = np.random.RandomState()
        else:
            self.shared = None
        # made now, not on first use: two threads' first calls made two streams
        source = self.generator
        if source is None:
            source = np.random.RandomState(self.seed) if self.seed is not None else self.shared
        self._continuing = Draws(source, device)

    def for_class(self) -> Draws:
        """The draws imbalanced-learn would use for the next class."""
        if self.seed is not None:
            return Draws(np.random.RandomState(self.seed), self.device)
        return self._continuing

    def continuing(self) -> Draws:
        """One source for a sequence of draws: ``sample`` / ``iter_samples``, and the
        samplers that imbalanced-learn seeds once for all classes (RandomOverSampler,
        ADASYN)."""
        return self._continuing
