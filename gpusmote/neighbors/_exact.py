"""Exactness machinery shared by every backend.

Backends propose ``kc >= k`` candidates per query from fast but rounded scores
(``|x|^2 - 2 x.y`` in float32, or an approximate index). Here the candidates get their
true distances (float64 differences of the original values), are ordered by
``(distance, index)``, and, for exact backends, a rounding-error bound certifies that no
point outside the candidates could be as close as the k-th; rows that fail the
certificate (exact ties, near-duplicates, catastrophic cancellation) are searched again
by direct float64 differences.
"""

from __future__ import annotations

import logging
import math

import torch

from .._validation import fmt_error
from ._memory import plan_rows, refine_bytes, stream_rows

__all__ = ["Problem", "refine", "certified", "exact_candidates", "finish", "drop_own"]

logger = logging.getLogger("gpusmote.neighbors")


class Problem:
    """One search: original data, its centred/scaled working form and the error model.

    ``X`` (n, d) and ``Y`` (m, d) are the caller's tensors on the compute device, never
    written. Working coordinates are ``(row - mean) * scale`` in ``cdtype``: centring
    removes the offset that makes ``|x|^2 - 2 x.y`` cancel, and a power-of-two scale
    (exact) keeps squares of 1e30-sized values from overflowing float32.
    """

    def __init__(self, X, Y, k: int, exclude_self: bool, budget: int, kc: int):
        self.X, self.Y, self.k, self.kc = X, Y, k, kc
        self.same = Y is X
        self.exclude_self = exclude_self
        self.budget = budget
        self.n, self.d = X.shape
        self.m = Y.shape[0]
        self.device = X.device
        self.chunk = stream_rows(budget, self.d, max(self.n, self.m))
        self.cdtype = torch.float64 if X.dtype == torch.float64 else torch.float32
        self.out_dtype = self.cdtype
        mean = _chunked_mean(X, self.chunk)
        spread = _chunked_maxabs(X, mean, self.chunk)
        if not self.same:
            spread = max(spread, _chunked_maxabs(Y, mean, self.chunk))
        if not spread <= _MAX_SPREAD[self.cdtype]:  # also catches an overflowed mean (NaN)
            raise ValueError(
                fmt_error(
                    "X",
                    f"within {_MAX_SPREAD[self.cdtype]:.1e} of its column means (beyond, "
                    "squared distances overflow float64); scale it first",
                    f"values up to {_chunked_maxabs(X, torch.zeros_like(mean), self.chunk):.3g}",
                )
            )
        self.scale = _pow2_scale(spread)
        self.scaled_mean = (mean * self.scale).to(self.cdtype)
        self.u_in, self.u_acc = _unit_roundoffs(self.cdtype)

    def work(self, src: torch.Tensor, a: int, b: int, out: torch.Tensor | None = None):
        """Rows ``a:b`` of ``src`` in working coordinates, shape (b - a, d)."""
        rows = src[a:b]
        if out is None:
            out = torch.empty(rows.shape, dtype=self.cdtype, device=self.device)
        # scaled first: a power of two is exact, so this is (row - mean) * scale, rounding
        # for rounding, without row - mean overflowing float32 near its largest values
        torch.mul(rows.to(self.cdtype), self.scale, out=out)
        return out.sub_(self.scaled_mean)

    def slack(self, y_norm: torch.Tensor, x_max: float, *, float32: bool = False) -> torch.Tensor:
        """Bound on the error of a rounded squared distance in working coordinates.

        ``y_norm`` (r,) float64 squared working norms of the queries, ``x_max`` the largest
        working norm of X; ``float32`` when the scores were computed in float32 whatever
        ``cdtype`` is (faiss). Returns (r,) float64.
        """
        u_in, u_acc = (0.0, 2.0**-24) if float32 else (self.u_in, self.u_acc)
        # |fl(dot) - dot| <= (2 u_in + d u_acc)|x||y| (inputs rounded to the matmul's
        # precision, then accumulated); the norms and the centring add a few u_acc more.
        # Doubled for safety: the bound is cheap and only decides when to recheck.
        gamma = 2.0 * (2.0 * u_in + (self.d + 6) * u_acc)
        return gamma * (x_max + y_norm.sqrt()) ** 2


# Refinement squares float64 differences of original values: 2**500 keeps
# (2 * spread)**2 * d finite up to 2**21 features. float32 data cannot get there.
_MAX_SPREAD = {torch.float64: 2.0**500, torch.float32: float("inf")}


def _pow2_scale(spread: float) -> float:
    if not spread > 0 or spread == float("inf"):
        return 1.0
    _mantissa, exp = math.frexp(spread)
    return math.ldexp(1.0, -exp)


def _chunked_mean(X: torch.Tensor, chunk: int) -> torch.Tensor:
    total = torch.zeros(X.shape[1], dtype=torch.float64, device=X.device)
    for a in range(0, X.shape[0], chunk):
        total += X[a : a + chunk].to(torch.float64).sum(0)
    return total / X.shape[0]


def _chunked_maxabs(X: torch.Tensor, mean: torch.Tensor, chunk: int) -> float:
    best = 0.0
    for a in range(0, X.shape[0], chunk):
        best = max(best, float((X[a : a + chunk].to(torch.float64) - mean).abs().max()))
    return best


def _unit_roundoffs(cdtype: torch.dtype) -> tuple[float, float]:
    """(rounding of matmul inputs, accumulation unit) for the current matmul settings."""
    if cdtype == torch.float64:
        return 0.0, 2.0**-53
    precision = torch.get_float32_matmul_precision()
    tf32 = torch.backends.cuda.matmul.allow_tf32 or precision == "high"
    if precision == "medium":
        return 2.0**-8, 2.0**-24  # bfloat16 inputs
    if tf32:
        return 2.0**-11, 2.0**-24  # TF32 inputs
    return 0.0, 2.0**-24


def drop_own(ind: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """``ind`` (r, c) neighbour indices less one column: each row's own index ``own`` (r,)
    where it appears, else the last (farthest) column. Order is kept otherwise.

    For searches that asked for one neighbour more because the queries are rows of the
    database: exclusion by index, so an exact duplicate of the row stays.
    """
    order = torch.argsort((ind == own.unsqueeze(1)).to(torch.int8), dim=1, stable=True)
    return ind.gather(1, order)[:, :-1].contiguous()


def refine(P: Problem, queries: torch.Tensor, cand: torch.Tensor, rows: int):
    """True squared distances of candidate rows, ordered by (distance, index).

    ``queries``: (r,) int64 rows of Y; ``cand``: (r, c) int64 indices into X; ``rows``
    queries at a time (memory). Returns ``(d2, idx)``, both (r, c), d2 float64 in
    original units.
    """
    r = cand.shape[0]
    d2 = torch.empty(cand.shape, dtype=torch.float64, device=P.device)
    for a in range(0, r, rows):
        b = min(r, a + rows)
        y = P.Y[queries[a:b]].to(torch.float64)
        diff = P.X[cand[a:b]].to(torch.float64)
        diff.sub_(y[:, None, :])
        d2[a:b] = diff.square_().sum(-1)
    # Sorting by index first makes the stable distance sort break ties by lower index.
    idx, perm = cand.sort(dim=1)
    d2 = d2.gather(1, perm)
    d2, perm = d2.sort(dim=1, stable=True)
    return d2, idx.gather(1, perm)


def certified(P: Problem, d2_k: torch.Tensor, threshold: torch.Tensor, slack: torch.Tensor):
    """Rows whose k-th true distance is provably below every non-candidate's.

    ``threshold``: (r,) float64, the smallest rounded squared working distance any
    non-candidate can have (+inf when every row of X is a candidate); ``slack`` (r,)
    its rounding-error bound.
    """
    return threshold - slack > d2_k * (P.scale * P.scale) * (1.0 + 1e-12)


def exact_candidates(P: Problem, rows: torch.Tensor) -> torch.Tensor:
    """The ``kc`` nearest rows of X for queries ``rows`` by direct float64 differences.

    Ties go to the lower index. Used for the rows that fail the certificate.
    """
    kc = P.kc
    out = torch.empty((rows.numel(), kc), dtype=torch.int64, device=P.device)
    fb = min(rows.numel(), 64)
    # per database row: its float64 copy, and per pair the difference, the distance,
    # and the concatenated/sorted keys and indices
    per_col = P.d * 8 + fb * (P.d * 8 + 6 * 8)
    cw = plan_rows(P.budget - fb * kc * 64, per_col, P.n)
    for a in range(0, rows.numel(), fb):
        q = rows[a : a + fb]
        y = P.Y[q].to(torch.float64)
        best_d = torch.full((q.numel(), 0), 0.0, dtype=torch.float64, device=P.device)
        best_i = torch.empty((q.numel(), 0), dtype=torch.int64, device=P.device)
        for c0 in range(0, P.n, cw):
            c1 = min(P.n, c0 + cw)
            x = P.X[c0:c1].to(torch.float64)
            d2 = (x[None, :, :] - y[:, None, :]).square_().sum(-1)
            idx = torch.arange(c0, c1, device=P.device).expand(q.numel(), -1)
            if P.exclude_self:
                own = (q >= c0) & (q < c1)
                d2[own.nonzero().squeeze(1), (q[own] - c0)] = float("inf")
            # Running candidates hold lower indices, so a stable sort keeps them first.
            cat_d = torch.cat([best_d, d2], dim=1)
            cat_i = torch.cat([best_i, idx], dim=1)
            cat_d, perm = cat_d.sort(dim=1, stable=True)
            best_d = cat_d[:, :kc]
            best_i = cat_i.gather(1, perm[:, :kc])
        out[a : a + fb] = best_i
    return out


def finish(P: Problem, tiles, refine_rows: int):
    """Run the backend's candidate tiles through refine + certificate; return (dist, idx).

    ``refine_rows``: queries refined at a time while the backend holds its tile memory.

    ``tiles`` yields ``(q0, cand, threshold, slack)``: see `certified`. Approximate
    backends give +inf thresholds (accepted as they are) and -inf for rows they could
    not serve (searched again exactly).
    """
    k = P.k
    dist = torch.empty((P.m, k), dtype=P.out_dtype, device=P.device)
    ind = torch.empty((P.m, k), dtype=torch.int64, device=P.device)
    redo = []
    for q0, cand, threshold, slack in tiles:
        r = cand.shape[0]
        d2, idx = refine(P, torch.arange(q0, q0 + r, device=P.device), cand, refine_rows)
        dist[q0 : q0 + r] = d2[:, :k].sqrt()
        ind[q0 : q0 + r] = idx[:, :k]
        bad = (~certified(P, d2[:, k - 1], threshold, slack)).nonzero().squeeze(1)
        if bad.numel():
            redo.append(bad + q0)
    if redo:  # the tiles are gone: the whole budget is free again
        rows = torch.cat(redo)
        refine_rows = plan_rows(P.budget, refine_bytes(1, P.kc, P.d), 4096)
        logger.debug("%d of %d query rows rechecked by direct float64 search", rows.numel(), P.m)
        for a in range(0, rows.numel(), 4096):
            part = rows[a : a + 4096]
            cand = exact_candidates(P, part)
            d2, idx = refine(P, part, cand, refine_rows)
            dist[part] = d2[:, :k].sqrt().to(P.out_dtype)
            ind[part] = idx[:, :k]
    return dist, ind
