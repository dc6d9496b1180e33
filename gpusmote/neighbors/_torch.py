"""Tiled exact k-NN candidates in PyTorch (CPU and CUDA, one code path).

Queries and database rows are both tiled, with a running top-kc merge, so the n x n
distance matrix never exists; the working set is the plan's, whatever n.
"""

from __future__ import annotations

import torch

from ._exact import Problem
from ._memory import GROUP, TorchPlan

__all__ = ["torch_candidates"]


def _database_columns(P: Problem, a: int, b: int, out: torch.Tensor) -> torch.Tensor:
    """Rows ``a:b`` of X as columns ``[-2 x; |x|^2]`` (d + 1, b - a) in working coordinates.

    Folding the norms into the product makes each block one plain GEMM (no separate
    pass to add them), and a column-major database is what the GEMM reads fastest.
    """
    rows = P.work(P.X, a, b)
    out[-1] = rows.square().sum(1)
    out[:-1] = rows.T
    out[:-1] *= -2.0
    return out


def torch_candidates(P: Problem, plan: TorchPlan):
    """Yield ``(q0, cand, threshold, slack)`` per query tile; see `_exact.finish`.

    ``cand`` (r, kc) holds the kc smallest rounded scores ``|x|^2 - 2 x.y`` of each query;
    ``threshold`` (r,) is the largest of them plus ``|y|^2`` (float64): up to rounding,
    a lower bound on every other point's squared working distance.
    """
    n, d, kc, dtype, dev = P.n, P.d, P.kc, P.cdtype, P.device
    n_pad = -(-n // GROUP) * GROUP
    bq, bw, g = plan.query_tile, plan.db_tile, plan.group
    if plan.cache_db:
        # Padding columns are zero with +inf norms: they score +inf, never selected.
        db = torch.zeros((d + 1, n_pad), dtype=dtype, device=dev)
        db[-1, n:] = float("inf")
        for a in range(0, n, P.chunk):
            b = min(n, a + P.chunk)
            _database_columns(P, a, b, db[:, a:b])
        x_max = float(db[-1, :n].max().to(torch.float64).sqrt())
    else:
        db_buf = torch.empty((d + 1, bw), dtype=dtype, device=dev)
        x_max = 0.0
        for a in range(0, n, bw):
            b = min(n, a + bw)
            norms = _database_columns(P, a, b, db_buf[:, : b - a])[-1]
            x_max = max(x_max, float(norms.max().to(torch.float64).sqrt()))
    every_row_is_candidate = kc >= n - int(P.exclude_self)
    block = torch.empty(bq * bw, dtype=dtype, device=dev)
    queries = torch.ones((bq, d + 1), dtype=dtype, device=dev)

    for q0 in range(0, P.m, bq):
        q1 = min(P.m, q0 + bq)
        r = q1 - q0
        yw = queries[:r]
        P.work(P.Y, q0, q1, out=yw[:, :d])
        run_v = run_i = None
        for d0 in range(0, n_pad, bw):
            d1 = min(n_pad, d0 + bw)
            w = d1 - d0
            if plan.cache_db:
                cols = db[:, d0:d1]
            else:
                real = min(d1, n) - d0
                cols = db_buf[:, :w]
                _database_columns(P, d0, d0 + real, cols[:, :real])
                cols[:-1, real:] = 0.0
                cols[-1, real:] = float("inf")
            scores = block[: r * w].view(r, w)
            torch.mm(yw, cols, out=scores)
            if P.exclude_self:
                lo, hi = max(q0, d0), min(q1, d1, n)
                if lo < hi:
                    diag = torch.arange(lo, hi, device=dev)
                    scores[diag - q0, diag - d0] = float("inf")
            v, c = _select_block(scores, kc, g)
            c += d0
            if run_v is None:
                run_v, run_i = v, c
            else:
                v = torch.cat([run_v, v], dim=1)
                c = torch.cat([run_i, c], dim=1)
                run_v, pos = v.topk(min(kc, v.shape[1]), dim=1, largest=False, sorted=False)
                run_i = c.gather(1, pos)
        y_norm = yw[:, :d].to(torch.float64).square().sum(1)
        if every_row_is_candidate:
            threshold = torch.full((r,), float("inf"), dtype=torch.float64, device=dev)
        else:
            threshold = run_v.amax(1).to(torch.float64) + y_norm
        yield q0, run_i, threshold, P.slack(y_norm, x_max)


def _select_block(scores: torch.Tensor, kc: int, g: int):
    """The kc smallest entries of each row of ``scores`` (r, w): (values, columns).

    With ``g > 1``, a group-minimum prefilter first keeps the kc groups of g columns
    with the smallest minima, then selects among their kc*g entries. It is exact: each
    of the kc smallest entries lies in a group whose minimum is at most the kc-th value,
    and the kc chosen groups hold kc entries no larger than that.
    """
    r, w = scores.shape
    if g > 1 and w % g == 0 and w // g > kc:
        _, gi = scores.view(r, w // g, g).amin(2).topk(kc, dim=1, largest=False, sorted=False)
        cols = (gi.unsqueeze(2) * g + torch.arange(g, device=scores.device)).view(r, kc * g)
        v, j = scores.gather(1, cols).topk(kc, dim=1, largest=False, sorted=False)
        return v, cols.gather(1, j)
    return scores.topk(min(kc, w), dim=1, largest=False, sorted=False)
