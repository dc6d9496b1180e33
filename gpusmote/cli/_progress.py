"""A small step progress bar on stderr (no dependency)."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """``[#####.....] 2/4 neighbour search (1.2 s)`` on stderr, redrawn in place.

    Shown only when ``enabled`` and stderr is a terminal, so logs and pipes stay clean.
    """

    def __init__(self, steps: list[str], *, enabled: bool = True, stream=None, width: int = 24):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.steps, self.width = steps, width
        self.index = -1
        self.t0 = time.perf_counter()

    def step(self, name: str) -> None:
        """Mark the start of step ``name`` (one of ``steps``)."""
        self.index = self.steps.index(name)
        self._draw(name)

    def done(self) -> None:
        if self.enabled:
            self.index = len(self.steps)
            self._draw("done")
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, name: str) -> None:
        if not self.enabled:
            return
        filled = int(self.width * max(self.index, 0) / len(self.steps))
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self.t0
        shown = min(self.index + 1, len(self.steps))
        self.stream.write(f"\r[{bar}] {shown}/{len(self.steps)} {name:<18} ({elapsed:.1f} s)")
        self.stream.flush()
