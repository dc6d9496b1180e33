"""Tiled exact k-NN candidates in PyTorch (CPU and CUDA, one code path).

Queries and database rows are both tiled, with a running top-kc merge, so the n x n
distance matrix never exists; the working set is the plan's, whatever n.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import torch

from .._device import reread_load
from . import _triton
from ._exact import Problem, pad_by_query, select_block, sq_norms
from ._memory import CHAIN_BLOCK, COLUMN_GROUP, GROUP, SymmetricPlan, TorchPlan, scratch_rows
from ._precision import sliced_units

__all__ = ["torch_candidates", "symmetric_candidates"]


def _database_columns(P: Problem, a: int, b: int, out: torch.Tensor) -> torch.Tensor:
    """Rows ``a:b`` of X as columns ``[-2 x; |x|^2]`` (d + 1, b - a) in working coordinates.

    Folding the norms into the product makes each block one plain GEMM (no separate
    pass to add them), and a column-major database is what the GEMM reads fastest.
    """
    step = scratch_rows(P.d)  # a few rows at a time: wide rows would double the tile
    for i in range(a, b, step):
        j = min(b, i + step)
        rows = P.work(P.X, i, j)
        out[-1, i - a : j - a] = sq_norms(rows)
        out[:-1, i - a : j - a] = rows.T
    out[:-1] *= -2.0
    return out


def product(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor, chain: int, part=None):
    """``out = a @ b``; with ``chain`` (`Problem.chain`), summed over slices of ``chain``
    of the inner dimension, each slice's product computed alone into ``part`` (a scratch
    block of at least ``CHAIN_BLOCK``**2 elements, or of ``out``'s size where smaller) and
    then added, in blocks of ``out`` of at most ``CHAIN_BLOCK`` x ``CHAIN_BLOCK``: the
    order that `_exact.chained_units` bounds, whatever the order inside the GEMM."""
    inner = a.shape[1]
    if not chain or inner <= chain:
        return torch.mm(a, b, out=out)
    r, w = out.shape
    for i in range(0, r, CHAIN_BLOCK):
        ai = a[i : i + CHAIN_BLOCK]
        for j in range(0, w, CHAIN_BLOCK):
            o = out[i : i + CHAIN_BLOCK, j : j + CHAIN_BLOCK]
            p = part[: o.numel()].view(o.shape)
            torch.mm(ai[:, :chain], b[:chain, j : j + CHAIN_BLOCK], out=o)
            for f0 in range(chain, inner, chain):
                torch.mm(ai[:, f0 : f0 + chain], b[f0 : f0 + chain, j : j + CHAIN_BLOCK], out=p)
                o.add_(p)
    return out


def _chain_part(P: Problem, r: int, w: int):
    """The scratch block of `product` for ``P``'s chained products of blocks of at most
    (r, w), or None where they are not chained."""
    if not P.chain:
        return None
    size = min(r, CHAIN_BLOCK) * min(w, CHAIN_BLOCK)
    return torch.empty(size, dtype=P.cdtype, device=P.device)


def torch_candidates(P: Problem, plan: TorchPlan):
    """Yield ``(q0, cand, threshold, slack)`` per query tile; see `_exact.finish`.

    ``cand`` (r, kc) holds the kc smallest rounded scores ``|x|^2 - 2 x.y`` of each query;
    ``threshold`` (r,) is the largest of them plus ``|y|^2`` (float64): up to rounding,
    a lower bound on every other point's squared working distance.
    """
    if plan.depth:
        yield from _split_candidates(P, plan)
        return
    n, d, kc, dtype, dev = P.n, P.d, P.kc, P.cdtype, P.device
    n_pad = -(-n // GROUP) * GROUP
    bq, bw, g = plan.query_tile, plan.db_tile, plan.group
    if plan.cache_db:
        # Padding columns are zero with +inf norms: they score +inf, never selected.
        db = torch.zeros((d + 1, n_pad), dtype=dtype, device=dev)
        db[-1, n:] = float("inf")
        # with workers, in pieces they take in turn (disjoint columns of db)
        step = P.chunk if plan.workers <= 1 else max(1, min(P.chunk, -(-n // (4 * plan.workers))))

        def cache(a: int, _bufs) -> None:
            _database_columns(P, a, min(n, a + step), db[:, a : min(n, a + step)])

        for _ in in_workers(cache, range(0, n, step), tuple, plan.workers):
            pass
        x_max = float(db[-1, :n].max().to(torch.float64).sqrt())
    else:
        db_buf = torch.empty((d + 1, bw), dtype=dtype, device=dev)
        x_max = 0.0
        for a in range(0, n, bw):
            b = min(n, a + bw)
            norms = _database_columns(P, a, b, db_buf[:, : b - a])[-1]
            x_max = max(x_max, float(norms.max().to(torch.float64).sqrt()))
        del db_buf
    every_row_is_candidate = kc >= n - int(P.exclude_self)
    fused = dtype == torch.float32 and _triton.enabled(dev, g)
    if fused and P.stats is not None:
        P.stats.fused = True

    def buffers():
        """A worker's own block, query tile and (uncached) database tile, reused."""
        block = None if fused else torch.empty(bq * bw, dtype=dtype, device=dev)
        cols = None if plan.cache_db else torch.empty((d + 1, bw), dtype=dtype, device=dev)
        part = None if fused else _chain_part(P, bq, bw)
        return [block, torch.ones((bq, d + 1), dtype=dtype, device=dev), cols, part]

    def tile(q0: int, bufs):
        nonlocal fused
        q1 = min(P.m, q0 + bq)
        r = q1 - q0
        yw = bufs[1][:r]
        P.work(P.Y, q0, q1, out=yw[:, :d])
        run_v = run_i = None
        for d0 in range(0, n_pad, bw):
            d1 = min(n_pad, d0 + bw)
            w = d1 - d0
            if plan.cache_db:
                cols = db[:, d0:d1]
            else:
                real = min(d1, n) - d0
                cols = bufs[2][:, :w]
                _database_columns(P, d0, d0 + real, cols[:, :real])
                cols[:-1, real:] = 0.0
                cols[-1, real:] = float("inf")
            if fused:  # the block never reaches memory: only its group minima
                try:
                    v, c = _triton.block_candidates(yw, cols, q0, d0, kc, g, P.exclude_self)
                except Exception as exc:  # a card or Triton the kernel cannot compile for
                    if q0 or d0:
                        raise
                    _triton.disable(exc)
                    fused = False
                    if P.stats is not None:
                        P.stats.fused = False
                    bufs[0] = torch.empty(bq * bw, dtype=dtype, device=dev)
                else:
                    run_v, run_i = _merged(run_v, run_i, v, c, kc)
                    continue
            scores = bufs[0][: r * w].view(r, w)
            product(yw, cols, scores, P.chain, bufs[3])
            run_v, run_i = _select_into(P, scores, q0, d0, kc, g, run_v, run_i)
        y_norm = sq_norms(yw[:, :d])
        if every_row_is_candidate:
            threshold = torch.full((r,), float("inf"), dtype=torch.float64, device=dev)
        else:
            threshold = run_v.amax(1).to(torch.float64) + y_norm
        # fused: two evaluations of the scores, the kernel's maybe on tensor cores
        slack = _triton.slack(P, y_norm, x_max) if fused else P.slack_at(y_norm, x_max)
        return q0, run_i, threshold, slack

    # fused (CUDA): one stream of kernels, in this thread
    yield from in_workers(tile, range(0, P.m, bq), buffers, 1 if fused else plan.workers)


def in_workers(tile, starts, buffers, workers: int):
    """``tile(start, bufs)`` for each start, computed by ``workers`` threads that take
    the next start as each finishes (each thread with its own ``buffers()``), yielded in
    order. At most two tiles per worker are ahead of the consumer. One worker: in this
    thread, in order."""
    if workers <= 1:
        bufs = buffers()
        for i, start in enumerate(starts):
            if i:
                reread_load()  # on the cores a busy process leaves free now
            yield tile(start, bufs)
        return
    local = threading.local()

    def run(start):
        if not hasattr(local, "bufs"):
            local.bufs = buffers()
        return tile(start, local.bufs)

    with ThreadPoolExecutor(workers, thread_name_prefix="gpusmote-tiles") as pool:
        ahead = deque()
        todo = iter(starts)
        for start in itertools.islice(todo, 2 * workers):
            ahead.append(pool.submit(run, start))
        while ahead:
            result = ahead.popleft().result()
            start = next(todo, None)
            if start is not None:
                ahead.append(pool.submit(run, start))
            yield result


def _split_candidates(P: Problem, plan: TorchPlan):
    """`torch_candidates` for rows too wide for whole-row tiles: each (query tile,
    database tile) block is summed from products over slices of ``plan.depth``
    features, ``|x|^2 - 2 x.y`` with float64 norms, so the GEMMs stay large whatever d
    and the slices stay within the plan."""
    n, d, kc, dtype, dev = P.n, P.d, P.kc, P.cdtype, P.device
    bq, bw, g, depth = plan.query_tile, plan.db_tile, plan.group, plan.depth
    every_row_is_candidate = kc >= n - int(P.exclude_self)
    block = torch.empty(bq * bw, dtype=dtype, device=dev)
    # sliced scores: float32 products of each slice, summed into the float64 block
    sliced = P.sliced and dtype == torch.float64
    part = torch.empty(bq * bw, dtype=torch.float32, device=dev) if sliced else None
    slice_dtype = torch.float32 if sliced else dtype
    units = sliced_units(d, depth) if sliced else None
    inf = float("inf")
    x_max = 0.0
    for q0 in range(0, P.m, bq):
        if q0:
            reread_load()
        q1 = min(P.m, q0 + bq)
        r = q1 - q0
        y_norm = torch.zeros(r, dtype=torch.float64, device=dev)
        run_v = run_i = None
        for d0 in range(0, n, bw):
            d1 = min(n, d0 + bw)
            w = d1 - d0
            scores = block[: r * w].view(r, w)
            x_norm = torch.zeros(w, dtype=torch.float64, device=dev)
            for f0 in range(0, d, depth):
                cols = slice(f0, min(d, f0 + depth))
                yk = P.work(P.Y, q0, q1, features=cols, dtype=slice_dtype)
                xk = P.work(P.X, d0, d1, features=cols, dtype=slice_dtype)
                if sliced:
                    prod = torch.mm(yk, xk.T, out=part[: r * w].view(r, w))
                    if f0 == 0:
                        torch.mul(prod, -2.0, out=scores)
                    else:
                        scores.add_(prod, alpha=-2.0)
                elif f0 == 0:
                    torch.mm(yk, xk.T, out=scores)
                    scores *= -2.0
                else:
                    scores.addmm_(yk, xk.T, alpha=-2.0)
                x_norm += sq_norms(xk)
                if d0 == 0:
                    y_norm += sq_norms(yk)
                del yk, xk
            if q0 == 0:
                x_max = max(x_max, float(x_norm.max().sqrt()))
            scores += x_norm.to(dtype)
            run_v, run_i = _select_into(P, scores, q0, d0, kc, g, run_v, run_i)
        if every_row_is_candidate:
            threshold = torch.full((r,), inf, dtype=torch.float64, device=dev)
        else:
            threshold = run_v.amax(1).to(torch.float64) + y_norm
        yield q0, run_i, threshold, P.slack_at(y_norm, x_max, units=units)


def _select_into(P: Problem, scores: torch.Tensor, q0: int, d0: int, kc: int, g: int, run_v, run_i):
    """One block's candidates merged into the running ones: ``scores`` (r, w) are queries
    ``q0:q0 + r`` against database rows ``d0:d0 + w``; each query's own row is masked
    (``exclude_self``), its kc smallest selected and merged into ``run_v`` / ``run_i``
    (None before the first block). Returns the new running (values, rows)."""
    r, w = scores.shape
    if P.exclude_self:
        lo, hi = max(q0, d0), min(q0 + r, d0 + w, P.n)
        if lo < hi:
            diag = torch.arange(lo, hi, device=scores.device)
            scores[diag - q0, diag - d0] = float("inf")
    v, c = select_block(scores, kc, g)
    c += d0
    return _merged(run_v, run_i, v, c, kc)


def _merged(run_v, run_i, v: torch.Tensor, c: torch.Tensor, kc: int):
    """A block's candidates ``v`` / ``c`` merged into the running ones (None at first)."""
    if run_v is None:
        return v, c
    return _merge(run_v, run_i, v, c, min(kc, run_v.shape[1] + v.shape[1]))


def _select_columns(scores: torch.Tensor, kc: int, g: int):
    """`_exact.select_block` down the columns: the kc smallest entries of each column of
    ``scores`` (r, w), as (w, kc) values and row positions (same prefilter argument)."""
    r, w = scores.shape
    if g > 1 and r % g == 0 and r // g > kc:
        mins = scores.view(r // g, g, w).amin(1).T.contiguous()  # (w, r // g), small
        _, gi = mins.topk(kc, dim=1, largest=False, sorted=False)
        rows = (gi.unsqueeze(2) * g + torch.arange(g, device=scores.device)).view(w, kc * g)
        cols = torch.arange(w, device=scores.device).unsqueeze(1)
        v, j = scores.view(-1)[rows * w + cols].topk(kc, dim=1, largest=False, sorted=False)
        return v, rows.gather(1, j)
    v, j = scores.topk(min(kc, r), dim=0, largest=False, sorted=False)
    return v.T, j.T


def _merge(run_v: torch.Tensor, run_i: torch.Tensor, v: torch.Tensor, c: torch.Tensor, kc: int):
    """The kc smallest of two candidate sets per row."""
    v = torch.cat([run_v, v], dim=1)
    c = torch.cat([run_i, c], dim=1)
    run_v, pos = v.topk(kc, dim=1, largest=False, sorted=False)
    return run_v, c.gather(1, pos)


class _Running:
    """Every query's running top-kc (scores ``v``, rows ``i``, both (n, kc)) and its
    bound ``bound`` (n,): the kc-th score, which a new candidate must beat."""

    def __init__(self, n: int, kc: int, dtype, dev):
        self.kc = kc
        self.v = torch.full((n, kc), float("inf"), dtype=dtype, device=dev)
        self.i = torch.zeros((n, kc), dtype=torch.int64, device=dev)
        self.bound = self.v[:, 0].clone()

    def merge_block(self, a: int, b: int, v: torch.Tensor, c: torch.Tensor) -> None:
        """Queries ``a:b`` take the candidates ``v``/``c`` (b - a, any width)."""
        self.v[a:b], self.i[a:b] = _merge(self.v[a:b], self.i[a:b], v, c, self.kc)
        self.bound[a:b] = self.v[a:b].amax(1)

    def offer(self, vals, queries, members, q_base: int, m_base: int) -> None:
        """Scores ``vals`` (p, g) of rows ``m_base + members`` (p, g) for the queries
        ``q_base + queries`` (p, 1, ascending): merge those that beat the bounds."""
        keep = vals < self.bound[q_base + queries]
        q = queries.expand(-1, vals.shape[1])[keep] + q_base
        self.merge_pairs(q, members[keep] + m_base, vals[keep])

    def merge_pairs(self, q: torch.Tensor, c: torch.Tensor, v: torch.Tensor) -> None:
        """Candidate pairs (query ``q``, row ``c``, score ``v``), ``q`` ascending, any
        number per query."""
        rows, vals, idx = pad_by_query(q, v, c, self.v, self.i)
        best, at = vals.topk(self.kc, dim=1, largest=False, sorted=False)
        self.v[rows], self.i[rows], self.bound[rows] = best, idx.gather(1, at), best.amax(1)


def _sparse(scores, g: int, cap: int, run: _Running, q0: int, c0: int, *, columns: bool):
    """One side of a block by bounds: its rows' queries (groups of g columns), or with
    ``columns`` its columns' queries (groups of g rows). Only the groups whose minimum
    beats a query's bound can hold new candidates; their entries that do are merged.
    False (nothing done) when more than ``cap`` groups qualify: use the dense path."""
    r, w = scores.shape
    if columns:
        mins, base, other = scores.view(r // g, g, w).amin(1).T, c0, q0  # (w, r // g)
    else:
        mins, base, other = scores.view(r, w // g, g).amin(2), q0, c0  # (r, w // g)
    hit = (mins < run.bound[base : base + mins.shape[0], None]).nonzero()  # by query
    if hit.shape[0] > cap:
        return False
    if hit.shape[0]:
        qs = hit[:, 0:1]
        members = hit[:, 1:2] * g + torch.arange(g, device=scores.device)
        flat = members * w + qs if columns else qs * w + members
        run.offer(scores.view(-1)[flat], qs, members, base, other)
    return True


def symmetric_candidates(P: Problem, plan: SymmetricPlan):
    """`torch_candidates` for a self-search (``Y`` is ``X``) from half the products.

    Rows are taken in chunks of ``plan.query_tile``. A first pass gives every row the
    kc best of its own chunk (the diagonal blocks). The sweep then computes, for chunk
    ``[q0, q1)``, the blocks of columns from ``q1`` on: full squared working distances
    (``[y, |y|^2, 1] . [-2x; 1; |x|^2]``, one GEMM) that serve both its rows' queries
    and its columns' queries (a distance is symmetric). Each query keeps a running
    top-kc and its bound (the kc-th score); only the groups of entries (64 along a row,
    `COLUMN_GROUP` down a column) whose minimum beats the bound are looked at, so after
    the first blocks little is selected. A
    chunk is final once processed (earlier chunks gave the columns before it) and is
    yielded then. Every other point is offered to each query exactly once and dropped
    only when no better than kc kept ones, so the threshold is the same lower bound as
    `torch_candidates`'.
    """
    n, d, kc, dtype, dev = P.n, P.d, P.kc, P.cdtype, P.device
    bq, bw, g, cap = plan.query_tile, plan.db_tile, plan.group, plan.sparse_hits
    n_pad = -(-n // GROUP) * GROUP
    inf = float("inf")
    # Padding columns are zero with +inf norms: they score +inf, never selected.
    db = torch.zeros((d + 2, n_pad), dtype=dtype, device=dev)
    db[-2] = 1.0
    db[-1, n:] = inf
    for a in range(0, n, P.chunk):
        b = min(n, a + P.chunk)
        rows = P.work(P.X, a, b)
        db[-1, a:b] = sq_norms(rows)
        db[:d, a:b] = rows.T
        db[:d, a:b] *= -2.0
    x_max = float(db[-1, :n].max().to(torch.float64).sqrt())
    every_row_is_candidate = kc >= n - int(P.exclude_self)
    run = _Running(n_pad, kc, dtype, dev)
    block = torch.empty(bq * max(bq, bw), dtype=dtype, device=dev)
    part = _chain_part(P, bq, max(bq, bw))
    queries = torch.ones((bq, d + 2), dtype=dtype, device=dev)

    def load(q0: int, q1: int) -> torch.Tensor:
        yw = queries[: q1 - q0]
        P.work(P.X, q0, q1, out=yw[:, :d])
        yw[:, d] = db[-1, q0:q1]
        return yw

    for q0 in range(0, n, bq):  # the diagonal blocks
        q1 = min(n, q0 + bq)
        r = q1 - q0
        scores = block[: r * r].view(r, r)
        product(load(q0, q1), db[:, q0:q1], scores, P.chain, part)
        if P.exclude_self:
            scores.fill_diagonal_(inf)
        v, c = select_block(scores, kc, g)
        run.merge_block(q0, q1, v, c + q0)

    for q0 in range(0, n, bq):
        reread_load()  # on the cores a busy process leaves free now
        q1 = min(n, q0 + bq)
        r = q1 - q0
        yw = load(q0, q1)
        for c0 in range(q1, n, bw):
            c1 = min(n_pad, c0 + bw)
            w = c1 - c0
            scores = block[: r * w].view(r, w)
            product(yw, db[:, c0:c1], scores, P.chain, part)
            if not _sparse(scores, g, cap, run, q0, c0, columns=False):
                v, c = select_block(scores, kc, g)
                run.merge_block(q0, q1, v, c + c0)
            if not _sparse(scores, COLUMN_GROUP, cap, run, q0, c0, columns=True):
                v, c = _select_columns(scores, kc, COLUMN_GROUP)
                run.merge_block(c0, c1, v, c + q0)
        y_norm = sq_norms(yw[:, :d])
        if every_row_is_candidate:
            threshold = torch.full((r,), inf, dtype=torch.float64, device=dev)
        else:
            threshold = run.bound[q0:q1].to(torch.float64)
        yield q0, run.i[q0:q1], threshold, P.slack_at(y_norm, x_max)
