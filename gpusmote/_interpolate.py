"""SMOTE's interpolation step, the one copy: ``x + u * (x_nn - x)`` with imbalanced-learn's
rounding, chunked to stay in cache, and safe where ``x_nn - x`` would overflow; on sparse
rows (`interpolate_rows`) with scipy's arithmetic on the CPU, as imbalanced-learn's."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ._device import compute_dtype, cpu_workers, resolve_budget
from ._io._sparse import SparseRows, torch_paths
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


# sparse rows ------------------------------------------------------------------------
def interpolate_rows(
    X: SparseRows, rows: torch.Tensor, partners: torch.Tensor, steps: torch.Tensor, scale=None
):
    """Sparse ``X[rows] + steps * (X[partners] - X[rows])`` (``steps`` (n,) float64;
    ``scale`` (n,) float64 applied to the difference first), imbalanced-learn's
    arithmetic on sparse rows: per stored column the difference in the data's
    precision, then ``x + u * diff`` in float64; values that come out 0 are not stored,
    as scipy's sparse sum drops them. Returns a list of `SparseRows`, consecutive pieces
    of the rows (stacked once, with the rest of the output)."""
    n, d = int(rows.numel()), X.shape[1]
    if not torch_paths(X.device):  # one piece, or several in threads
        return _interpolate_scipy(X, rows, partners, steps, scale)
    a, b = X[rows], X[partners]
    keys = torch.cat([a.row_ids() * d + a.col, b.row_ids() * d + b.col])
    uniq, inv = torch.unique(keys, sorted=True, return_inverse=True)
    base = torch.zeros(uniq.numel(), dtype=X.dtype, device=X.device)
    other = torch.zeros_like(base)
    base[inv[: a.nnz]] = a.val
    other[inv[a.nnz :]] = b.val
    row = uniq // d
    diff = other - base
    if scale is not None:
        diff = (diff * scale[row]).to(X.dtype)
    val = base.to(torch.float64) + steps[row] * diff
    keep = val != 0
    row, col, val = row[keep], (uniq % d)[keep], val[keep]
    crow = torch.zeros(n + 1, dtype=torch.int64, device=X.device)
    torch.cumsum(torch.bincount(row, minlength=n), 0, out=crow[1:])
    return [SparseRows(crow, col, val, (n, d))]


def _interpolate_scipy(X: SparseRows, rows, partners, steps, scale) -> list[SparseRows]:
    """`interpolate_rows` with scipy's sparse arithmetic (rows merged in C, as
    imbalanced-learn computes them): the same values, rounding for rounding. Large
    blocks are cut in pieces computed in `cpu_workers` threads (scipy's sparse
    arithmetic releases the GIL)."""
    import scipy.sparse as sp

    M = X.to_scipy()
    rows, partners, steps = rows.numpy(), partners.numpy(), steps.numpy()
    scale = scale.numpy() if scale is not None else None

    def piece(sl: slice):
        a, b = M[rows[sl]], M[partners[sl]]
        diff = b - a  # in the data's precision
        per_value = np.diff(diff.indptr)
        if scale is not None:  # scaled in float64, stored back in the data's precision
            diff.data = (diff.data * np.repeat(scale[sl], per_value)).astype(M.dtype)
        if diff.dtype != np.float64:
            diff = diff.astype(np.float64)
        diff.data *= np.repeat(steps[sl], per_value)  # u * diff, value by value
        new = sp.csr_matrix(a + diff)  # x + u * diff in float64
        new.eliminate_zeros()
        if not M.has_sorted_indices:  # sorted rows in give sorted rows out of scipy's sums
            new.sort_indices()
        return new

    n = len(rows)
    workers = min(cpu_workers(), max(1, n // _ROWS_PER_THREAD))
    if workers == 1:
        return [SparseRows.from_scipy(piece(slice(None)))]
    bounds = np.linspace(0, n, workers + 1).astype(int)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pieces = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        parts = list(pool.map(piece, pieces))
    return [SparseRows.from_scipy(part) for part in parts]  # stacked once, with the input


# Below this many new rows per thread the generation runs in one thread (measured on
# the TF-IDF generator: 90,000 rows took 0.6 s in one thread, 0.26 s in two).
_ROWS_PER_THREAD = 20_000
