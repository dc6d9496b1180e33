"""Progress of a long call, shown with tqdm: the neighbour engine reports each tile of
queries it finishes and the interpolation each chunk of rows it writes, to the bar of
the call that asked for one (`progress_bar`; ``fit_resample(..., progress=True)``, the
CLI). Without a bar, reporting costs one thread-local lookup."""

from __future__ import annotations

import threading
from contextlib import contextmanager

__all__ = ["progress_bar", "expect", "advance", "phase"]

_local = threading.local()


def _bar():
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


@contextmanager
def progress_bar(progress, desc: str = "gpusmote"):
    """A tqdm bar on stderr for the work inside the block, in rows (queries searched and
    rows written). ``progress``: False (none), True (always), or "auto" (only when stderr
    is a terminal, as the CLI uses it). Work announces itself as it starts (`expect`)."""
    if progress is False or progress is None:
        yield None
        return
    if progress not in (True, "auto"):
        from ._validation import fmt_error

        raise ValueError(fmt_error("progress", 'True, False or "auto"', progress))
    try:
        from tqdm.auto import tqdm
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "progress bars need tqdm: pip install tqdm (or pass progress=False)"
        ) from None
    bar = tqdm(
        total=0,
        desc=desc,
        unit=" rows",
        dynamic_ncols=True,
        disable=None if progress == "auto" else False,
        leave=False,
    )
    stack = _local.__dict__.setdefault("stack", [])
    stack.append(bar)
    try:
        yield bar
    finally:
        stack.remove(bar)
        bar.close()


def expect(n: int) -> None:
    """Announce ``n`` more rows of work to the current bar (if any)."""
    bar = _bar()
    if bar is not None and n:
        bar.total += int(n)
        bar.refresh()


def advance(n: int) -> None:
    """``n`` rows of the announced work are done."""
    bar = _bar()
    if bar is not None and n:
        bar.update(int(n))


def phase(name: str) -> None:
    """Name the step under way (the bar's description)."""
    bar = _bar()
    if bar is not None:
        bar.set_description(name, refresh=True)
