"""The k farthest rows (NearMiss-2): candidates from products, distances measured exactly."""

from __future__ import annotations

import torch

from .._validation import fmt_error

__all__ = ["farthest_distances"]


def farthest_distances(database, queries, k: int, budget: int) -> torch.Tensor:
    """(q, k) float64: each query's k largest distances to ``database``, ascending.

    Candidates come from float64 products (``|q|^2 - 2 q.x + |x|^2``, centred), a
    couple more than k; their distances are then measured exactly (float64
    differences), so rounding in the products cannot change the result.
    """
    n = database.shape[0]
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
