"""One `fit_resample` on dask: the input, the class counts, the strategy, the keys."""

from __future__ import annotations

import numpy as np

from .._strategy import resolve
from .._validation import check_int, fmt_error, parse_memory
from ..exceptions import InvalidDataError
from . import _input
from ._input import DaskInput
from ._methods import method_for

__all__ = ["Job", "device_of"]

# Output partitions of synthetic rows. A fixed default, not one taken from the input's
# partitions: the seeds are per output partition, so the output must not depend on how
# the input happens to be split.
DEFAULT_ROWS_PER_PARTITION = 100_000


class Job:
    """The sampler's method on the input: `run` counts the classes on the cluster (one
    pass), resolves ``sampling_strategy`` as the sampler would, and hands over to the
    method (`_over`, `_under` or `_clean`), which builds the lazy output."""

    def __init__(self, X, y, sampler, target, rows_per_partition, max_gather):
        self.method = method_for(sampler)
        self.sampler = sampler
        self.rows_per_partition = (
            DEFAULT_ROWS_PER_PARTITION
            if rows_per_partition is None
            else check_int(rows_per_partition, "rows_per_partition", minimum=1)
        )
        self.max_gather = parse_memory(max_gather, "max_gather")
        self.input = DaskInput(X, y, target)
        self.seed = seed_of(getattr(sampler, "random_state", 0))

    def run(self):
        import dask

        source = self.input
        lengths = [dask.delayed(len)(p) for p in source.label_parts]
        counts = [dask.delayed(_input.label_counts)(p) for p in source.label_parts]
        # the methods that compute on the rows need them finite, as in one process; the
        # random ones only index rows, so NaN passes through them
        bad = []
        if self.method.computes:
            bad = [dask.delayed(_input.non_finite)(p, source.features) for p in source.parts]
        lengths, counts, bad = dask.compute(lengths, counts, bad)
        self._check_labels(sum(c[1] for c in counts), sum(c[2] for c in counts))
        if sum(bad):
            raise ValueError(
                fmt_error("X", "finite (no NaN or infinity)", f"{sum(bad)} non-finite values in X")
            )
        total = {}
        for part, _, _ in counts:
            for label, n in part.items():
                total[label] = total.get(label, 0) + n
        self.counts = {label: total[label] for label in sorted(total)}
        self.classes = list(self.counts)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.n_rows = int(self.offsets[-1])
        if callable(self.sampler.sampling_strategy):
            raise TypeError(
                fmt_error(
                    "sampling_strategy",
                    "a string, float, dict or list on dask (a callable needs all labels)",
                    self.sampler.sampling_strategy,
                )
            )
        self.strategy = resolve(
            self.sampler.sampling_strategy, self.counts, self.sampler._sampling_type
        )
        return self.method.run(self)

    def _check_labels(self, missing: int, continuous: int) -> None:
        """Labels that are no class (counted per partition by `_input.label_counts`)
        are an error naming the label column (or ``y``), as in one process."""
        if not (missing or continuous):
            return
        target = self.input.target
        name = "y" if target is None else f"X[{target!r}]"
        found = []
        if missing:
            found.append(f"{missing:,} missing (NaN, None or NA)")
        if continuous:
            found.append(f"{continuous:,} not whole numbers (continuous values)")
        raise InvalidDataError(
            fmt_error(name, "class labels (ints, strings or bools), none missing", "; ".join(found))
        )

    def search(self) -> dict:
        """The keyword arguments of the workers' `gpusmote.neighbors.kneighbors` calls."""
        s = self.sampler
        return {
            "device": getattr(s, "device", "auto"),
            "backend": getattr(s, "backend", "auto"),
            "max_memory": getattr(s, "max_memory", None),
        }

    def token(self) -> str:
        """The part of every hand-named key that says which job it is: the input
        collections' own keys (which dask derives from their data), the feature columns
        and dtypes, the sampler's type and every parameter, the seed and the output
        layout. Two jobs share a key only when they compute the same thing: a key made
        from the shape alone once handed one job's synthetic rows to another."""
        from dask.base import tokenize

        source = self.input
        params = self.sampler.get_params(deep=False)
        return tokenize(
            [p.key for p in source.parts],
            [p.key for p in source.label_parts],
            source.features,
            source.target,
            source.feature_dtypes(),
            np.dtype(source.dtype).str,
            type(self.sampler).__qualname__,
            # repr: a torch.device or an index object tokenizes by value this way
            sorted((name, repr(value)) for name, value in params.items()),
            self.seed,
            self.rows_per_partition,
            self.max_gather,
            [(repr(label), n) for label, n in self.counts.items()],
            self.n_rows,
        )


def seed_of(random_state) -> int:
    """The job's seed: ``random_state`` (an int, checked by the sampler), or for None
    one drawn now, so that retried tasks see the same seed."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(random_state)


def device_of(search: dict):
    """The torch device of a job's search settings (``search["device"]``), resolved on
    the worker that runs the task."""
    from .._device import resolve_device

    return resolve_device(search["device"])
