"""Distance reductions other than the nearest rows: the k farthest rows (NearMiss-2;
candidates from products, distances measured exactly) and the mean pairwise distance
(KMeansSMOTE's cluster sparsity)."""

from __future__ import annotations

import math

import torch

from .._device import resolve_budget
from .._validation import fmt_error

__all__ = ["farthest_distances", "mean_pairwise_distance"]


def _centre(rows: torch.Tensor, chunk: int) -> torch.Tensor:
    """(d,) float64 column means of ``rows``, summed ``chunk`` rows at a time (no float64
    copy of them all)."""
    total = torch.zeros(rows.shape[1], dtype=torch.float64, device=rows.device)
    for a in range(0, rows.shape[0], chunk):
        total += rows[a : a + chunk].sum(0, dtype=torch.float64)
    return total / rows.shape[0]


def _centred(rows: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """``rows`` in float64 less ``centre``: a fresh tensor."""
    return rows.to(torch.float64, copy=True).sub_(centre)


def farthest_distances(database, queries, k: int, max_memory=None) -> torch.Tensor:
    """(q, k) float64: each query's k largest distances to ``database``, ascending.

    Candidates come from float64 products (``|q|^2 - 2 q.x + |x|^2``, centred), a
    couple more than k; their distances are then measured exactly (float64
    differences), so rounding in the products cannot change the result. The centred
    float64 database is held once where it takes at most half of ``max_memory``;
    otherwise it is made again a tile at a time for each tile of queries, so that the
    working memory stays within it for any number of rows.
    """
    n, d = database.shape
    budget = resolve_budget(max_memory, queries.device)
    if k > n:
        raise ValueError(fmt_error("n_neighbors", f"at most the number of minority rows ({n})", k))
    kc = min(n, k + 2)
    q_total = queries.shape[0]
    out = torch.empty((q_total, k), dtype=torch.float64, device=queries.device)
    cached = n * (d + 1) * 8 <= budget // 2
    if cached:
        D = database.to(torch.float64, copy=True)  # centred in place below
        centre = D.mean(0)
        D.sub_(centre)
        d_norm = D.square().sum(1)
        avail, bw = budget - n * (d + 1) * 8, n
    else:
        centre = _centre(database, max(1, budget // 4 // max(1, d * 8)))
        # database tiles: their centred rows, squares and norms, a quarter of the budget
        bw = max(kc, min(n, budget // 4 // ((2 * d + 1) * 8)))
        avail = budget - bw * (2 * d + 1) * 8
    # Half of what is left for a tile of queries: per query its centred row, a row of
    # products and topk's copy of it, the running candidates and their merge. Tall
    # tiles: each one makes the database's tiles again. The rest for the exact
    # differences of kc gathered rows (and their gather), a few queries at a time.
    rows = max(1, min(q_total, avail // 2 // (d * 8 + bw * 24 + kc * 64)))
    exact_rows = max(1, avail // 2 // (kc * d * (16 + database.element_size())))
    for a in range(0, q_total, rows):
        q = _centred(queries[a : a + rows], centre)
        q_norm = q.square().sum(1, keepdim=True)
        if cached:
            approx = torch.addmm(d_norm, q, D.T, alpha=-2.0).add_(q_norm)
            cand = approx.topk(kc, dim=1).indices  # (r, kc) farthest candidates
            del approx
        else:
            best_v = best_i = None
            for b in range(0, n, bw):
                Dt = _centred(database[b : b + bw], centre)
                block = torch.addmm(Dt.square().sum(1), q, Dt.T, alpha=-2.0).add_(q_norm)
                v, i = block.topk(min(kc, block.shape[1]), dim=1)
                i += b
                if best_v is not None:
                    v, i = torch.cat([best_v, v], 1), torch.cat([best_i, i], 1)
                    v, pos = v.topk(min(kc, v.shape[1]), dim=1)
                    i = i.gather(1, pos)
                best_v, best_i = v, i
            cand = best_i
        for e in range(0, cand.shape[0], exact_rows):
            c = cand[e : e + exact_rows]
            if cached:
                far = D[c]
            else:
                far = _centred(database[c.reshape(-1)], centre).view(*c.shape, d)
            qe = q[e : e + exact_rows, None, :]
            exact = far.sub_(qe).square_().sum(-1).sqrt_()  # far is a fresh gather
            # ascending, as sklearn's sorted tail
            out[a + e : a + e + c.shape[0]] = exact.topk(k, dim=1).values.flip(1)
    return out


def mean_pairwise_distance(rows: torch.Tensor, max_memory=None) -> float:
    """Mean Euclidean distance over the ordered pairs of distinct rows, in float64
    tiles of the upper triangle (each off-diagonal tile counted twice). The centred
    float64 rows are held once where they take at most half of ``max_memory``, else
    made again a tile at a time."""
    n, d = rows.shape
    budget = resolve_budget(max_memory, rows.device)
    if n < 2:
        return float("nan")
    cached = n * (d + 1) * 8 <= budget // 2
    if cached:
        X = rows.to(torch.float64)
        X = X - X.mean(0)
        norms = X.square().sum(1)
        tile = max(1, min(n, int(math.sqrt(budget // 8 // 3))))
    else:
        centre = _centre(rows, max(1, budget // 4 // max(1, d * 8)))
        # two tiles of centred rows (a quarter of the budget), and a block with its
        # temporaries (three quarters)
        tile = max(1, min(n, budget // 4 // (2 * (d + 1) * 8), int(math.sqrt(budget // 32))))

    def part(a: int):
        if cached:
            return X[a : a + tile], norms[a : a + tile]
        x = _centred(rows[a : a + tile], centre)
        return x, x.square().sum(1)

    total = torch.zeros((), dtype=torch.float64, device=rows.device)
    for a in range(0, n, tile):
        x, nx = part(a)
        for b in range(a, n, tile):
            xb, nb = (x, nx) if b == a else part(b)
            block = torch.addmm(nb, x, xb.T, alpha=-2.0)
            block.add_(nx[:, None]).clamp_(min=0.0).sqrt_()
            if a == b:  # a row's distance to itself is 0, not rounding noise
                block.fill_diagonal_(0.0)
                total += block.sum()
            else:
                total += 2.0 * block.sum()
    return float(total) / (n * n - n)
