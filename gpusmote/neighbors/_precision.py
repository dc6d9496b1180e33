"""Which precision the candidate scores need, decided from the data itself.

float32 scores ``|x|^2 - 2 x.y`` carry an error proportional to the squared norms in
working coordinates. Where one wide column (seconds, amounts) or heavy tails make that
error larger than the gap between a row's k-th and kc-th nearest distances, no row
certifies and every one is finished again: the float32 pass was wasted. A probe
measures that gap on a sample of queries with float64 scores and predicts how many
rows float32 scores would leave uncertified that float64 scores would certify.
"""

from __future__ import annotations

import torch

from ._exact import FLOAT64, Problem, chained_units, input_units, sq_norms
from ._memory import chain_depth, plan_rows

__all__ = ["score_precision", "sliced_units", "PROBE_ROWS"]

# Sampled queries: at most 256, and about 1/32 of the queries (so that the probe's
# float64 products stay a small part of the search's), at least 32.
PROBE_ROWS = 256
_PROBE_MIN_ROWS = 32
# Below this many multiply-adds (n * m * d; a class of 1,000 rows by 1,000 features)
# float64 scores cost a fraction of a millisecond more than float32 ones, less than the
# probe itself: no probe, float64.
PROBE_MIN_WORK = 2**20
# Fewer queries than this: the probe's 32 would be a quarter of the search or more,
# more than float32 scores could save (ADASYN's 104 minority rows against 60,000: the
# probe took a third of the search's time). float64.
_PROBE_MIN_QUERIES = 4 * _PROBE_MIN_ROWS
# The share of sampled queries that float32 scores may leave uncertified, beyond those
# that float64 scores leave too (genuine ties): 0.5 %.
_TOLERATED = 1 / 200


def sliced_units(d: int, depth: int) -> tuple[float, float]:
    """(input rounding, accumulation unit) of float32 products over slices of ``depth``
    features summed in float64, in `Problem.slack`'s terms (which multiplies the
    accumulation unit by d + 6): each slice's float32 sum errs by at most ``depth``
    units of its own terms, and the slices' float64 sum by next to nothing."""
    return 2.0**-24, 2.0**-24 * (depth + 6) / (d + 6)


def score_precision(P: Problem, sliced_depth: int = 0) -> str:
    """The cheapest scores that certify (almost) every row that float64 scores would:
    "float32" (one product), "chained" (float32 products chained over slices of
    `CHAIN_DEPTH` features, `chained_units`; on the CPU), "sliced" (float32 products
    over slices of ``sliced_depth`` features, summed in float64; offered where the
    engine would slice the rows anyway) or "float64". Deterministic: the sampled
    queries are evenly spaced."""
    n, m, d, k, kc = P.n, P.m, P.d, P.k, P.kc
    if kc >= n - int(P.exclude_self):  # every row is a candidate: nothing to certify
        return "float32"
    if n * m * d <= PROBE_MIN_WORK or m < _PROBE_MIN_QUERIES:
        return "float64"
    s = min(m, max(_PROBE_MIN_ROWS, min(PROBE_ROWS, m // 32)))
    q = torch.linspace(0, m - 1, s, device=P.device).round().to(torch.int64).unique()
    yw = P.work64(P.Y, q)
    y_norm = sq_norms(yw)
    # fixed: the queries (gathered and in float64) and their running kc best; per
    # database row: its float64 working copy and square, and per query a score, its
    # addmm temporary and topk's copy with positions
    s = q.numel()
    fixed = s * d * 16 + s * kc * 32
    step = plan_rows(P.budget // 2 - fixed, d * 24 + s * 40, n)
    best = None
    x_max = 0.0
    for a in range(0, n, step):
        b = min(n, a + step)
        xw = P.work64(P.X, slice(a, b))
        x_norm = sq_norms(xw)
        x_max = max(x_max, float(x_norm.max().sqrt()))
        scores = torch.addmm(y_norm[:, None], yw, xw.T, alpha=-2.0).add_(x_norm)
        del xw
        if P.exclude_self:
            own = ((q >= a) & (q < b)).nonzero().squeeze(1)
            scores[own, q[own] - a] = float("inf")
        v = scores.topk(min(kc, b - a), dim=1, largest=False, sorted=False).values
        if best is not None:
            v = torch.cat([best, v], dim=1)
            v = v.topk(min(kc, v.shape[1]), dim=1, largest=False, sorted=False).values
        best = v
    d2 = best.sort(dim=1).values
    gap = d2[:, kc - 1] - d2[:, k - 1]
    d2_k = d2[:, k - 1]

    def fails(units):
        return gap <= 2.0 * P.slack(y_norm, x_max, d2_k, units=units)

    fail64 = fails(FLOAT64)
    plain = input_units(P.X.dtype, torch.float32)
    tiers = [("float32", plain)]
    chain = chain_depth(d, P.device)
    if chain:
        tiers.append(("chained", chained_units(d, chain, plain[0])))
    if sliced_depth:
        tiers.append(("sliced", sliced_units(d, sliced_depth)))
    for name, units in tiers:
        if int((fails(units) & ~fail64).sum()) < _TOLERATED * s:
            return name
    return "float64"
