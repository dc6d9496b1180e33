"""Distance reductions other than the nearest rows: the k farthest rows (NearMiss-2;
candidates from products, distances measured exactly) and the mean pairwise distance
(KMeansSMOTE's cluster sparsity)."""

from __future__ import annotations

import math

import torch

from .._device import resolve_budget
from .._validation import fmt_error

__all__ = ["farthest_distances", "mean_pairwise_distance"]


def farthest_distances(database, queries, k: int, max_memory=None) -> torch.Tensor:
    """(q, k) float64: each query's k largest distances to ``database``, ascending.

    Candidates come from float64 products (``|q|^2 - 2 q.x + |x|^2``, centred), a
    couple more than k; their distances are then measured exactly (float64
    differences), so rounding in the products cannot change the result.
    """
    n = database.shape[0]
    budget = resolve_budget(max_memory, queries.device)
    if k > n:
        raise ValueError(fmt_error("n_neighbors", f"at most the number of minority rows ({n})", k))
    centre = database.to(torch.float64).mean(0)
    D = database.to(torch.float64) - centre
    d_norm = D.square().sum(1)
    kc = min(n, k + 2)
    rows = max(1, min(queries.shape[0], budget // 8 // max(1, 3 * n)))
    out = torch.empty((queries.shape[0], k), dtype=torch.float64, device=queries.device)
    for a in range(0, queries.shape[0], rows):
        q = queries[a : a + rows].to(torch.float64) - centre
        approx = torch.addmm(d_norm, q, D.T, alpha=-2.0).add_(q.square().sum(1, keepdim=True))
        cand = approx.topk(kc, dim=1).indices  # (r, kc) farthest candidates
        exact = (D[cand] - q[:, None, :]).square().sum(-1).sqrt()
        top = exact.topk(k, dim=1).values.flip(1)  # ascending, as sklearn's sorted tail
        out[a : a + rows] = top
    return out


def mean_pairwise_distance(rows: torch.Tensor, max_memory=None) -> float:
    """Mean Euclidean distance over the ordered pairs of distinct rows, in float64
    tiles of the upper triangle (each off-diagonal tile counted twice)."""
    n = rows.shape[0]
    budget = resolve_budget(max_memory, rows.device)
    if n < 2:
        return float("nan")
    X = rows.to(torch.float64)
    X = X - X.mean(0)
    norms = X.square().sum(1)
    tile = max(1, min(n, int(math.sqrt(budget // 8 // 3))))
    total = torch.zeros((), dtype=torch.float64, device=X.device)
    for a in range(0, n, tile):
        x, nx = X[a : a + tile], norms[a : a + tile, None]
        for b in range(a, n, tile):
            block = torch.addmm(norms[b : b + tile], x, X[b : b + tile].T, alpha=-2.0)
            block.add_(nx).clamp_(min=0.0).sqrt_()
            if a == b:  # a row's distance to itself is 0, not rounding noise
                block.fill_diagonal_(0.0)
                total += block.sum()
            else:
                total += 2.0 * block.sum()
    return float(total) / (n * n - n)
