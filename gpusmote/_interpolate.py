"""SMOTE's interpolation step, the one copy: ``x + u * (x_nn - x)`` with imbalanced-learn's
rounding, chunked to stay in cache, and safe where ``x_nn - x`` would overflow."""

from __future__ import annotations

import torch

from ._device import compute_dtype, resolve_budget
from ._io._sparse import SparseRows, interpolate_rows
from ._progress import advance, expect, phase

__all__ = ["interpolate_into", "differences_overflow"]


def differences_overflow(Xc: torch.Tensor) -> bool:
    """Whether ``x_nn - x`` can overflow the dtype it is computed in (`compute_dtype`
    of ``Xc``'s): values beyond half its largest. Never for integers (float64)."""
    if isinstance(Xc, SparseRows):
        return Xc.max_abs() > torch.finfo(Xc.dtype).max / 2
    if not Xc.is_floating_point():
        return False
    lo, hi = torch.aminmax(Xc)  # no |Xc| copy: this runs on whole classes
    return bool(torch.maximum(-lo, hi) > torch.finfo(compute_dtype(Xc.dtype)).max / 2)


def _gather(src: torch.Tensor, index: torch.Tensor, out: torch.Tensor) -> None:
    """``out[:] = src[index]``, converted to ``out``'s dtype where ``src``'s differs."""
    if src.dtype == out.dtype:
        torch.index_select(src, 0, index, out=out)
    else:
        out.copy_(src.index_select(0, index))


def interpolate_into(
    Xc, rows, partners, steps, dest: torch.Tensor, max_memory=None, scale=None, wide=None
) -> None:
    """``dest[i] = Xc[rows[i]] + steps[i] * (Xc[partners[i]] - Xc[rows[i]])``, chunk by chunk.

    ``rows``, ``partners`` (n,) int64 and ``steps`` (n,) float64 on ``Xc``'s device;
    ``dest`` (n, d) in the output's dtype and memory; ``scale`` (n,) float64, optional:
    a factor applied to the difference first (BorderlineSMOTE-2). The arithmetic is
    imbalanced-learn's, rounding for rounding: the difference in the data's precision
    (scaled, and rounded back to it), then ``x + (u * diff)`` in float64 (not fused),
    then the output dtype. Where the difference can overflow that precision (values
    beyond half its largest), imbalanced-learn's form gives infinities; there every row
    is ``x * (1 - s) + x_nn * s`` in float64 (``s = u * scale``), which stays between
    its two rows. ``wide``: `differences_overflow(Xc)`, computed when None (callers that
    generate from one class many times pass it once computed). ``max_memory``: as the
    samplers' parameter (`gpusmote._device.resolve_budget`).
    """
    n, d = rows.shape[0], Xc.shape[1]
    if n == 0:
        return
    phase("generation")
    expect(n)
    convex = differences_overflow(Xc) if wide is None else wide
    if isinstance(Xc, SparseRows):  # sparse rows stay sparse (`_io._sparse`)
        if convex:
            raise ValueError(
                "sparse rows with values beyond half their dtype's largest: SMOTE's "
                "differences would overflow; scale X or pass float64 values."
            )
        dest.put(interpolate_rows(Xc, rows, partners, steps, scale))
        advance(n)
        return
    budget = resolve_budget(max_memory, Xc.device)
    steps = steps.unsqueeze(1)
    # the rows are computed with in `compute_dtype`: float32 for float16/bfloat16 and
    # float32 rows, float64 for float64, integer and bool rows (which are kept as they
    # are until here: only a chunk is ever converted)
    cdtype = compute_dtype(Xc.dtype)
    # per row: base and neighbour in that precision (and, converted, their rows as
    # gathered) and one float64 row; a sixteenth of the budget (16 MiB by default on
    # the CPU) keeps a chunk in cache, and the buffers are reused so no chunk pays for
    # fresh pages
    item = torch.finfo(cdtype).bits // 8
    per_row = d * (2 * item + 8 + (Xc.element_size() if Xc.dtype != cdtype else 0))
    chunk = min(n, max(1, budget // 16 // per_row))
    base = torch.empty((chunk, d), dtype=cdtype, device=Xc.device)
    other = torch.empty_like(base)
    out64 = torch.empty((chunk, d), dtype=torch.float64, device=Xc.device)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        m = b - a
        _gather(Xc, rows[a:b], base[:m])
        _gather(Xc, partners[a:b], other[:m])
        if convex:
            s = steps[a:b] if scale is None else steps[a:b] * scale[a:b, None]
            dest[a:b].copy_(_convex(base[:m], other[:m], s))
            advance(m)
            continue
        torch.sub(other[:m], base[:m], out=other[:m])
        if scale is not None:
            other[:m] *= scale[a:b, None]  # computed in float64, stored in the data's dtype
        w = torch.mul(other[:m], steps[a:b], out=out64[:m])  # promotes to float64
        dest[a:b].copy_(w.add_(base[:m]))
        advance(m)


def _convex(base: torch.Tensor, other: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """(m, d) float64 rows ``base * (1 - s) + other * s`` for data near its dtype's
    largest values; ``s`` (m, 1) float64."""
    base, other = base.to(torch.float64), other.to(torch.float64)
    w = base * (1 - s) + other * s
    # rounding may not leave the segment, where the dtype's largest values end
    return torch.minimum(torch.maximum(w, torch.minimum(base, other)), torch.maximum(base, other))
