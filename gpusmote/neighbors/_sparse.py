"""Exact k-NN over sparse rows (`gpusmote._io.SparseRows`), in tiles of queries.

Each tile's scores are ``|q|^2 + |x|^2 - 2 q.x`` in float64, from sparse x sparse
products: on the CPU scikit-learn's product into a dense array where it is installed,
else scipy's (tiles run in `cpu_workers` threads, so one tile's selection overlaps the
next tile's product); cuSPARSE's through torch on CUDA. The n x m matrix is never
held: one tile of queries against all rows at a time, within ``max_memory``.

Exactness, as the dense engine's (`_exact`): a rounding bound on the scores,
``delta = (2 L + 8) eps64 (|q|^2 + max |x|^2)`` with ``L`` the most stored values of a
row, certifies a query when the k + 1 best scores are more than ``2 delta`` apart from
one another: the true distances then keep the scores' order, and no row left out comes
as close as the k-th. Queries it cannot certify (duplicate rows, ties) measure the
rows whose score is within ``2 delta`` of their k-th score from the differences of the
stored values (`pair_sq_dist`), lowest index first, until no row left can come nearer
than the k-th held (a tie loses to the lower indices held), and order them by
``(distance, index)``. On integer values with small norms the scores are exact: ties
are decided by index from them, nothing measured. Distances, when asked for, are
always measured (or the exact scores, the same numbers).
"""

from __future__ import annotations

import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from .._device import cpu_workers
from .._io import _sparse as _sparse_io
from .._io._sparse import SparseRows, _quiet_ctx, torch_paths
from .._progress import advance, expect, phase
from .._validation import fmt_error
from ._exact import refine_unit

__all__ = ["sparse_kneighbors"]

_EPS64 = 2.0**-53


@functools.cache
def _to_dense_product():
    """scikit-learn's Gustavson product written straight into a dense array, or None: on
    TF-IDF rows, whose products are mostly non-zero, 5-7x faster than scipy's, which
    builds the sparse result first (measured: BENCHMARKS.md, "Sparse input"). Imported
    at the first sparse search, not with gpusmote (scikit-learn takes ~70 MiB)."""
    try:
        from sklearn.utils.sparsefuncs import sparse_matmul_to_dense
    except ImportError:  # scikit-learn is optional, and older ones lack it
        return None
    return sparse_matmul_to_dense


def pair_sq_dist(A: SparseRows, ia: torch.Tensor, B: SparseRows, ib: torch.Tensor) -> torch.Tensor:
    """(p,) float64 squared distances ``|A[ia[i]] - B[ib[i]]|^2``, from the differences
    of the stored values (each difference rounded once, as a dense float64 difference
    would be): the reference the search certifies against. Columns stored in only one
    of the two rows contribute their square."""
    p, d = int(ia.numel()), A.shape[1]
    if p == 0:
        return torch.zeros(0, dtype=torch.float64, device=A.device)
    if not torch_paths(A.device):  # scipy merges the rows in C
        a = A.to(torch.float64).to_scipy()[ia.numpy()]
        b = B.to(torch.float64).to_scipy()[ib.numpy()]
        diff = a - b
        diff.data **= 2
        return torch.from_numpy(np.asarray(diff.sum(axis=1)).reshape(-1))
    a, b = A[ia], B[ib]
    a_val, b_val = a.val.to(torch.float64), b.val.to(torch.float64)
    a_row, b_row = a.row_ids(), b.row_ids()
    # keys ascend within each (rows ascend, columns ascend within a row: canonical CSR)
    a_key, b_key = a_row * d + a.col, b_row * d + b.col
    pos = torch.searchsorted(a_key, b_key).clamp_(max=max(a_key.numel() - 1, 0))
    shared = (a_key[pos] == b_key) if a_key.numel() else torch.zeros_like(b_key, dtype=torch.bool)
    a_part = a_val * a_val
    a_part[pos[shared]] = 0.0  # replaced by the difference below
    b_part = torch.where(shared, (a_val[pos] - b_val) if a_key.numel() else b_val, b_val)
    out = torch.zeros(p, dtype=torch.float64, device=A.device)
    out.index_add_(0, a_row, a_part)
    return out.index_add_(0, b_row, b_part * b_part)


def sparse_kneighbors(
    X: SparseRows,
    k: int,
    *,
    Y: SparseRows | None,
    own: torch.Tensor | None,
    budget: int,
    return_distance: bool,
    out_dtype: torch.dtype,
):
    """``(dist, ind, stats_fields)`` of the queries (rows ``own`` of ``X``, each
    excluding itself, or ``Y``) among the rows of ``X``."""
    n, d = X.shape
    # every row for itself (TomekLinks, a class's graph): the queries are X, not a copy
    every_row = own is not None and own.numel() == n and bool((own == torch.arange(n)).all())
    # tiny or huge values: scores, norms and measured distances in units of a power of
    # two (exact), where their squares neither underflow nor overflow
    unit = math.ldexp(1.0, refine_unit(max(X.max_abs(), 0.0 if Y is None else Y.max_abs())))
    if unit != 1.0:
        X = _scaled(X, unit)
        Y = None if Y is None else _scaled(Y, unit)
    Q = X if every_row else X[own] if own is not None else Y
    m = Q.shape[0]
    available = n - (own is not None)
    if k > available:
        what = "rows of X minus the query itself" if own is not None else "rows of X"
        raise ValueError(fmt_error("n_neighbors", f"at most {available} (the number of {what})", k))
    dev = X.device
    x_norms = X.sq_norms()
    q_norms = x_norms if every_row else Q.sq_norms()
    widest = max(X.widest(), Q.widest())
    top = float(x_norms.max()) if n else 0.0
    # integer values with small norms: every product and sum is an integer float64
    # holds, so the scores are exact and ties are decided by index without measuring
    exact = _integer_rows(X, Q, top + (float(q_norms.max()) if m else 0.0))
    slack = 0.0 if exact else (2 * widest + 8) * _EPS64
    kc = min(k + 1, available)
    # working set per query row: its score row (reused from tile to tile) and what
    # topk and the certificate allocate
    per_row = 8 * n * 2 + 64 * kc
    tile = max(1, min(m, budget // per_row))
    phase("neighbour search")
    expect(m)
    # a self-search whose whole n x n score matrix fits the budget computes each pair's
    # product once (the upper blocks, mirrored): half the products (SMOTE's classes)
    whole, product_threads = None, False
    if every_row and _symmetric_pays(X, budget):
        whole = _symmetric_scores(X)
    else:
        product = _Products(X)
        # scipy's products release the GIL: tiles in threads overlap them
        product_threads = product.scipy and _to_dense_product() is None

    buffers = threading.local()  # one score tile per thread, reused: no fresh pages

    def run(a: int):
        b = min(m, a + tile)
        if whole is not None:
            scores = whole[a:b]  # each row is read by this tile only
        else:
            out = getattr(buffers, "tile", None)
            if out is None or out.shape[0] < b - a:
                out = buffers.tile = product.buffer(tile)
            scores = product(Q[slice(a, b)], out[: b - a])
        # |x|^2 - 2 q.x, in place: |q|^2 does not change a row's order, and is added to
        # the candidates only
        d2 = scores.mul_(-2.0).add_(x_norms)
        rows = torch.arange(b - a, device=dev)
        if own is not None:
            d2[rows, own[a:b]] = math.inf
        raw, cand = torch.topk(d2, kc, dim=1, largest=False, sorted=True)
        cand_s = raw + q_norms[a:b, None]
        delta = slack * (q_norms[a:b] + top)
        # certified: every gap between consecutive candidate scores (the k-th and the
        # best left out included) exceeds twice the bound, so the true distances keep
        # the scores' order and none left out can come closer
        gaps = cand_s[:, 1:] - cand_s[:, :-1]
        sure = (gaps > 2.0 * delta[:, None]).all(1)
        out_i = cand[:, :k].clone()
        out_d = None
        if return_distance:
            q_idx = (rows + a).repeat_interleave(k)
            out_d = pair_sq_dist(Q, q_idx, X, out_i.reshape(-1)).view(b - a, k)
        redo = (~sure).nonzero().squeeze(1)
        measured = 0  # (query, row) pairs the tie finish measured or took from exact scores
        if exact:
            step = max(1, min(tile * 2 // 5, (1 << 20) // max(n, 1)))
            for c0 in range(0, redo.numel(), step):
                rr = redo[c0 : c0 + step]
                vals, cols = _by_index_at_kth(d2[rr], raw[rr, k - 1 : k], k)
                out_i[rr] = cols
                measured += cols.numel()
                if out_d is not None:  # exact scores are the measured distances
                    out_d[rr] = vals + q_norms[a + rr, None]
        for r in [] if exact else redo.tolist():
            near = (d2[r] + q_norms[a + r] <= cand_s[r, k - 1] + 2.0 * delta[r]).nonzero()
            near = near.squeeze(1)
            if own is not None:
                near = near[near != own[a + r]]
            ex, near, count = _measure_near(Q, a + r, X, near, d2[r] + q_norms[a + r], delta[r], k)
            measured += count
            out_i[r] = near
            if out_d is not None:
                out_d[r] = ex
        advance(b - a)
        return out_d, out_i, int(redo.numel()), measured

    starts = list(range(0, m, tile))
    if product_threads and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=min(cpu_workers(), len(starts))) as pool:
            parts = list(pool.map(run, starts))
    else:
        parts = [run(a) for a in starts]
    ind = torch.cat([p[1] for p in parts]) if parts else torch.zeros((0, k), dtype=torch.int64)
    rechecked = sum(p[2] for p in parts)
    tie_candidates = sum(p[3] for p in parts)
    dist = None
    if return_distance:
        dist = torch.cat([p[0] for p in parts]) if parts else torch.zeros((0, k))
        dist = dist.to(torch.float64).sqrt_()
        dist = (dist if unit == 1.0 else dist.div_(unit)).to(out_dtype)
    fields = {"n": n, "m": m, "d": d, "k": k, "rechecked": rechecked}
    return dist, ind, {**fields, "tie_candidates": tie_candidates}


def _scaled(rows: SparseRows, unit: float) -> SparseRows:
    """``rows`` times the power of two ``unit``, float64 values (a copy)."""
    if rows.device.type == "cpu" and not _sparse_io._TORCH_PATHS:
        return SparseRows.from_scipy(rows.to(torch.float64).to_scipy() * unit)
    return SparseRows(rows.crow, rows.col, rows.val.to(torch.float64) * unit, rows.shape)


def _symmetric_pays(X: SparseRows, budget: int) -> bool:
    """Whether a CPU self-search of every row can hold its n x n float64 scores, plus
    one block, within ``budget``, with scikit-learn's product at hand."""
    n = X.shape[0]
    if X.device.type != "cpu" or _to_dense_product() is None:
        return False
    if torch_paths(X.device):  # the tests of the CUDA code, on the CPU
        return False
    return 8 * n * n + 8 * n * _SYM_BLOCK <= budget


_SYM_BLOCK = 1024  # rows per block of the symmetric product


def _symmetric_scores(X: SparseRows) -> torch.Tensor:
    """(n, n) float64 ``X @ X.T``: each block of rows against the rows from its own on,
    mirrored into the columns before it."""
    n = X.shape[0]
    M = X.to(torch.float64).to_scipy()
    S = np.empty((n, n), dtype=np.float64)
    for a in range(0, n, _SYM_BLOCK):
        b = min(n, a + _SYM_BLOCK)
        block = np.empty((b - a, n - a), dtype=np.float64)
        _to_dense_product()(M[a:b], M[a:].T.tocsr(), out=block)
        S[a:b, a:] = block
        S[b:, a:b] = block[:, b - a :].T
    return torch.from_numpy(S)


def _integer_rows(X: SparseRows, Q: SparseRows, norms: float) -> bool:
    """Whether the stored values of ``X`` and ``Q`` are integers and ``norms`` (the
    largest squared norms of both, summed) below 2**50: then every partial sum of a
    score ``|q|^2 + |x|^2 - 2 q.x`` is an integer below 2**53, exact in float64."""
    if not norms < 2.0**50:
        return False
    for rows in (X,) if Q is X else (X, Q):
        v = rows.val
        if v.numel() and not torch.equal(v, v.round()):
            return False
    return True


def _by_index_at_kth(d2: torch.Tensor, kth: torch.Tensor, k: int):
    """For exact scores ``d2`` (r, n) and each row's k-th smallest ``kth`` (r, 1): the
    k nearest by (score, index), as (scores, columns), both (r, k): the columns below
    the k-th score, then the lowest columns at it."""
    below = d2 < kth
    at = d2 == kth
    room = k - below.sum(1, keepdim=True)
    cols = (below | (at & (at.cumsum(1) <= room))).nonzero()[:, 1].view(-1, k)
    vals, perm = d2.gather(1, cols).sort(dim=1, stable=True)  # columns ascend: by index
    return vals, cols.gather(1, perm)


def _measure_near(Q: SparseRows, qi: int, X: SparseRows, near, scores, delta, k: int):
    """The k nearest of the rows ``near`` (ascending) of ``X`` to row ``qi`` of ``Q`` by
    (measured distance, index): ``(d2, rows, pairs measured)``, d2 and rows (k,).

    ``scores`` (n,): the query's scores, within ``delta`` of the true squared distances.
    Measured lowest index first, k, then 2k, ... at a time: a row later in index order
    enters only if nearer than the k-th held (ties lose), so once the k-th is 0
    (duplicates) or no row left scores within the bound of it, the rest is not measured.
    """
    best_d = torch.empty(0, dtype=torch.float64, device=near.device)
    best_i = torch.empty(0, dtype=torch.int64, device=near.device)
    cap, measured = k, 0
    while near.numel():
        part, near = near[:cap], near[cap:]
        measured += part.numel()
        ex = pair_sq_dist(Q, torch.full_like(part, qi), X, part)
        d, i = _order(torch.cat([best_d, ex])[None], torch.cat([best_i, part])[None])
        best_d, best_i = d[0, :k], i[0, :k]
        if best_d.numel() == k:
            kth = float(best_d[-1])
            if kth == 0.0:
                break
            near = near[scores[near] <= kth + 2.0 * delta]
        cap *= 2
    return best_d, best_i, measured


def _order(dist: torch.Tensor, ind: torch.Tensor):
    """Each row's entries ordered by (distance, index)."""
    by_index = torch.argsort(ind, dim=1, stable=True)
    dist, ind = dist.gather(1, by_index), ind.gather(1, by_index)
    by_dist = torch.argsort(dist, dim=1, stable=True)
    return dist.gather(1, by_dist), ind.gather(1, by_dist)


class _Products:
    """``Q @ X.T`` as a dense float64 (t, n) tensor on X's device."""

    def __init__(self, X: SparseRows):
        self.device = X.device
        self.scipy = not torch_paths(X.device)
        if self.scipy:
            self.xt = X.to(torch.float64).to_scipy().T.tocsr()
        else:
            with _quiet_ctx():
                t = X.to(torch.float64).to_torch(torch.sparse_coo)
                self.xt = t.t().coalesce().to_sparse_csr()

    def buffer(self, rows: int) -> torch.Tensor:
        """A reusable (rows, n) float64 tile for `__call__`'s ``out``."""
        return torch.empty((rows, self.xt.shape[1]), dtype=torch.float64, device=self.device)

    def __call__(self, Q: SparseRows, out: torch.Tensor) -> torch.Tensor:
        """``Q @ X.T`` into ``out`` (its first ``len(Q)`` rows), returned."""
        if self.scipy:
            q = Q.to(torch.float64).to_scipy()
            if _to_dense_product() is not None:
                _to_dense_product()(q, self.xt, out=out.numpy())
                return out
            out.copy_(torch.from_numpy((q @ self.xt).toarray()))
            return out
        with _quiet_ctx():
            q = Q.to(torch.float64).to_torch(torch.sparse_csr)
            return out.copy_((q @ self.xt).to_dense())
