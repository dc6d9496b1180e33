"""Exactness machinery shared by every backend.

Backends propose ``kc >= k`` candidates per query from fast but rounded scores
(``|x|^2 - 2 x.y`` in float32, or an approximate index). Here the candidates get their
true distances (float64 differences of the original values), are ordered by
``(distance, index)``, and, for exact backends, a rounding-error bound certifies that no
point outside the candidates could be as close as the k-th. Rows that fail the
certificate (exact ties, near-duplicates, scores too coarse for the data) go to the tie
finish: float64 products find the few rows within their rounding bound of the k-th
distance, and only those are measured and ordered.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch

from .._device import compute_dtype
from .._progress import advance
from .._validation import fmt_error
from ._memory import plan_tie_finish, scratch_rows, stream_rows

__all__ = [
    "Problem",
    "SearchStats",
    "refine",
    "order_rows",
    "certified",
    "tie_finish",
    "finish",
    "drop_own",
    "without_own",
    "unit_roundoffs",
    "chained_units",
    "input_units",
    "rounds_to",
    "FLOAT32_PLAIN",
    "FLOAT64",
    "sq_norms",
    "pad_by_query",
    "select_block",
]

logger = logging.getLogger("gpusmote.neighbors")


@dataclass
class SearchStats:
    """What one `kneighbors` call did; collected with `collect_stats`.

    ``rechecked`` counts the queries whose candidates a certificate could not prove
    (genuine distance ties at the k-th neighbour, or scores too coarse for the data);
    ``tie_candidates`` the (query, row) pairs the tie finish measured for them, or took
    from its exact scores (integer data). Counts, not timings:
    deterministic for the same data and settings (``threads`` aside).
    """

    n: int
    m: int
    d: int
    k: int
    backend: str = ""
    # the candidate scores' precision: "float32", "float64", "chained" (float32
    # products over slices of features, each added to the float32 sum, on the CPU) or
    # "sliced" (float32 products over slices of features summed in float64); the
    # tree's are float64
    score_dtype: str = ""
    queries: int = 0
    rechecked: int = 0
    tie_candidates: int = 0
    # whether the torch engine's blocks ran in the fused Triton kernel (`_triton`)
    fused: bool = False
    # the CPU threads the candidates started on (0 off the CPU; later tiles follow the
    # load, `_device.reread_load`): a timing's context, which depends on the machine's
    # load, unlike the counts above
    threads: int = 0


class Problem:
    """One search: original data, its centred/scaled working form and the error model.

    ``X`` (n, d) and ``Y`` (m, d) are the caller's tensors on the compute device, never
    written. Working coordinates are ``(row - mean) * 2**shift`` in ``cdtype``: centring
    removes the offset that makes ``|x|^2 - 2 x.y`` cancel, and a power-of-two scale
    (exact) takes the spread near 1, so that squares of 1e30-sized values do not
    overflow float32 and those of 1e-30-sized ones do not underflow it. Refinement
    measures true distances from the original values times `unit`, another power of
    two (1 but for tiny or huge data, `refine_unit`): the same neighbours at every
    magnitude, denormals included.
    """

    def __init__(self, X, Y, k: int, exclude_self: bool, budget: int, kc: int, stats=None):
        self.X, self.Y, self.k, self.kc = X, Y, k, kc
        self.stats = stats  # a SearchStats to fill, or None
        self.same = Y is X
        self.exclude_self = exclude_self
        self.budget = budget
        self.n, self.d = X.shape
        self.m = Y.shape[0]
        self.device = X.device
        self.chunk = stream_rows(budget, self.d, max(self.n, self.m))
        self.cdtype = compute_dtype(X.dtype)
        self.out_dtype = self.cdtype
        total, lo, hi = _column_stats(X, self.chunk)
        mean = total / self.n
        if not self.same:
            _, y_lo, y_hi = _column_stats(Y, self.chunk)
            lo, hi = torch.minimum(lo, y_lo), torch.maximum(hi, y_hi)
        spread = float(torch.maximum(hi - mean, mean - lo).max())
        if not spread <= _MAX_SPREAD[self.cdtype]:  # also catches an overflowed mean (NaN)
            largest = float(torch.maximum(hi.abs(), lo.abs()).max())
            raise ValueError(
                fmt_error(
                    "X",
                    f"within {_MAX_SPREAD[self.cdtype]:.1e} of its column means (beyond, "
                    "squared distances overflow float64); scale it first",
                    f"values up to {largest:.3g}",
                )
            )
        # the scale 2**shift takes the spread to [0.5, 1); it may lie beyond float64's
        # range (denormal data), so it is applied in steps, each exact
        self.shift = pow2_shift(spread)
        # refinement's unit (`refine_unit`), and the factor from its squared distances
        # to working units (always within range)
        self.unit_shift = refine_unit(spread)
        self.unit = math.ldexp(1.0, self.unit_shift)
        self.to_work = math.ldexp(1.0, 2 * (self.shift - self.unit_shift))
        self.mean = mean  # (d,) float64, original units
        self.mean64 = _times_pow2(mean, self.shift)
        self.set_score_dtype(self.cdtype)

    def set_score_dtype(self, dtype: torch.dtype, *, sliced: bool = False, chain: int = 0) -> None:
        """Compute the candidate scores (the working coordinates and their products) in
        ``dtype``: float32, or float64 where float32 products cannot separate the data's
        neighbours (`_precision.score_precision`). ``sliced``: float64 scores summed from
        float32 products over slices of features, where the engine slices wide rows
        (`_torch._split_candidates`; elsewhere plain float64). ``chain``: float32
        products chained over slices of that many features (`_torch.product`, CPU), whose
        rounding bound is `chained_units`'. float64 data may take float32
        scores too, and so do integers: their working rows are then centred in float64
        and rounded once (`work`). Refinement is float64 either way."""
        self.cdtype = dtype
        self.sliced = sliced
        self.scaled_mean = self.mean64.to(dtype)
        self.scaled_mean32 = self.mean64.to(torch.float32)
        self.u_in, self.u_acc = input_units(self.X.dtype, dtype)
        self.chain = chain if dtype == torch.float32 and self.d + 2 > chain > 0 else 0
        if self.chain:
            self.u_in, self.u_acc = chained_units(self.d, self.chain, self.u_in)

    def work(
        self,
        src: torch.Tensor,
        a: int,
        b: int,
        out: torch.Tensor | None = None,
        features: slice = slice(None),
        dtype: torch.dtype | None = None,
    ):
        """Rows ``a:b`` of ``src`` in working coordinates, shape (b - a, d), or only the
        columns ``features`` of them; in ``cdtype``, or float32 where ``dtype`` says so
        (the float32 slices of sliced scores)."""
        dtype = self.cdtype if dtype is None else dtype
        rows = src[a:b, features]
        if out is None:
            out = torch.empty(rows.shape, dtype=dtype, device=self.device)
        if rounds_to(src.dtype, dtype):
            # centred in float64 and rounded once, a few rows at a time: float64 or
            # integer values rounded first would err by a unit of |x|, not of |x - mean|
            step = scratch_rows(self.d)
            for i in range(a, b, step):
                j = min(b, i + step)
                out[i - a : j - a] = self.work64(src, slice(i, j))[:, features]
            return out
        mean = self.scaled_mean if dtype == self.cdtype else self.scaled_mean32
        # scaled first: a power of two is exact, so this is (row - mean) * scale, rounding
        # for rounding, without row - mean overflowing float32 near its largest values
        steps = _pow2_steps(self.shift, dtype)
        torch.mul(rows.to(dtype), steps[0], out=out)
        for f in steps[1:]:
            out.mul_(f)
        return out.sub_(mean[features])

    def work64(self, src: torch.Tensor, rows) -> torch.Tensor:
        """Rows ``rows`` (a slice or int64 indices) of ``src`` in float64 working
        coordinates, shape (r, d); a fresh tensor (the caller's data is never written)."""
        out = src[rows].to(torch.float64, copy=isinstance(rows, slice))
        return _times_pow2(out, self.shift, out=out).sub_(self.mean64)

    def gathered64(self, src: torch.Tensor, rows) -> torch.Tensor:
        """Rows ``rows`` (int64 indices, any shape) of ``src`` in float64 refinement
        units (original values times `unit`): a fresh tensor, shape ``rows.shape + (d,)``."""
        out = src[rows].to(torch.float64)
        return out if self.unit == 1.0 else out.mul_(self.unit)

    def distances(self, d2: torch.Tensor) -> torch.Tensor:
        """Euclidean distances in original units from squared ones in refinement units."""
        dist = d2.sqrt()
        return dist if self.unit == 1.0 else dist.div_(self.unit)

    def slack(self, y_norm: torch.Tensor, x_max: float, d2_k=None, *, units=None) -> torch.Tensor:
        """Bound on the error of a rounded squared distance in working coordinates, for
        every row of X that could be as near a query as its k-th neighbour.

        ``y_norm`` (r,) float64 squared working norms of the queries, ``x_max`` the
        largest working norm of X; ``d2_k`` (r,) float64, optional: each query's k-th
        squared distance in working units. A row farther from the origin than
        ``|y| + 2 sqrt(d2_k)`` is more than twice that distance from the query (the
        triangle inequality), so only rows within that reach need their rounding
        bounded: one far outlier no longer coarsens the bound of every query. ``units``:
        (input rounding, accumulation unit) of the products when they were not computed
        in ``cdtype`` under the current matmul settings (`FLOAT32_PLAIN` for faiss,
        `FLOAT64` for the tie finish, `unit_roundoffs`). Returns (r,) float64.
        """
        u_in, u_acc = (self.u_in, self.u_acc) if units is None else units
        # |fl(dot) - dot| <= (2 u_in + d u_acc)|x||y| (inputs rounded to the matmul's
        # precision, then accumulated); the norms and the centring add a few u_acc more.
        # Doubled for safety: the bound is cheap and only decides when to recheck.
        gamma = 2.0 * (2.0 * u_in + (self.d + 6) * u_acc)
        y = y_norm.sqrt()
        reach = torch.full_like(y, x_max)
        if d2_k is not None:
            # |y| itself is rounded (its coordinates and their sum): widened by that
            wide = y * (1.0 + (self.d + 4) * 2.0 * max(u_in, u_acc, 2.0**-24))
            reach = torch.minimum(reach, wide + 2.0 * d2_k.sqrt())
        return gamma * (reach + y) ** 2

    def slack_at(self, y_norm: torch.Tensor, x_max: float, *, units=None):
        """`slack` as a function of ``d2_k`` (working units), for `finish`."""
        return lambda d2_k: self.slack(y_norm, x_max, d2_k, units=units)


# Refinement in original units squares float64 differences: 2**500 keeps
# (2 * spread)**2 * d finite up to 2**21 features (beyond, a clear error; tiny data is
# refined scaled up, `refine_unit`). float32 data cannot get there.
_MAX_SPREAD = {torch.float64: 2.0**500, torch.float32: float("inf")}
# Spreads (of the data's values around their means, or sparse values' largest
# magnitude) of exponent in (_UNIT_LOW, _UNIT_HIGH] are refined in original units:
# differences down to 2**-255 of the spread square to normal numbers, and the largest
# squares, summed over up to 2**21 features, stay finite. Beyond, `refine_unit` scales.
_UNIT_LOW, _UNIT_HIGH = -256, 500


def pow2_shift(spread: float) -> int:
    """``s`` such that ``spread * 2**s`` lies in [0.5, 1) (0 for 0): the working scale,
    over the whole finite range, denormals included."""
    if not spread > 0 or spread == float("inf"):
        return 0
    _mantissa, exp = math.frexp(spread)
    return -exp


def refine_unit(spread: float) -> int:
    """The exponent ``u`` of the power of two by which the original values are
    multiplied (exactly) before their differences are squared, so that squared distances
    neither underflow (tiny data: squares of differences below about 1e-154 are
    denormal, or 0) nor overflow (huge data). 0 (original units) for ordinary
    magnitudes, so that the distances are the naive float64 ones, rounding for
    rounding. Beyond, the spread is taken to about 2**500, as high as squares allow
    (the most room below for small differences), with 2**1023 at most for denormal
    data (whose steps of 2**-1074 become 2**-51)."""
    if not spread > 0 or spread == float("inf"):
        return 0
    _mantissa, exp = math.frexp(spread)
    if _UNIT_LOW < exp <= _UNIT_HIGH:
        return 0
    return min(_UNIT_HIGH - exp, 1023)


def _pow2_steps(shift: int, dtype: torch.dtype) -> tuple[float, ...]:
    """Powers of two, each a normal number of ``dtype``, whose product is ``2**shift``."""
    # 2**126 for float32 (and the 16-bit types, whose products run in float32)
    most = 1022 if dtype == torch.float64 else 126
    steps = []
    while abs(shift) > most:
        step = most if shift > 0 else -most
        steps.append(math.ldexp(1.0, step))
        shift -= step
    steps.append(math.ldexp(1.0, shift))
    return tuple(steps)


def rounds_to(src: torch.dtype, dtype: torch.dtype) -> bool:
    """Whether values of ``src`` lose digits in ``dtype`` (float64 or integers into
    float32 scores); float16, bfloat16 and float32 values do not."""
    if dtype == torch.float64:
        return False
    return src == torch.float64 or not src.is_floating_point


def _times_pow2(t: torch.Tensor, shift: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """``t * 2**shift`` (float64), exact wherever the result is a normal number; into
    ``out`` (which may be ``t``) when given."""
    steps = _pow2_steps(shift, torch.float64)
    out = torch.mul(t, steps[0], out=out) if out is not None else t * steps[0]
    for f in steps[1:]:
        out.mul_(f)
    return out


def _column_stats(X: torch.Tensor, chunk: int):
    """One pass over ``X`` (n, d): per column the float64 sum, minimum and maximum
    (the extremes in float64 too), with no float64 copy of the rows."""
    total = torch.zeros(X.shape[1], dtype=torch.float64, device=X.device)
    lo = torch.full_like(total, float("inf"))
    hi = torch.full_like(total, float("-inf"))
    for a in range(0, X.shape[0], chunk):
        rows = X[a : a + chunk]
        total += rows.sum(0, dtype=torch.float64)
        r_lo, r_hi = _column_extremes(rows)
        lo = torch.minimum(lo, r_lo.to(torch.float64))
        hi = torch.maximum(hi, r_hi.to(torch.float64))
    return total, lo, hi


# Column extremes of narrow rows are reduced over rows of at least this many values
_WIDE_ROW = 256


def _column_extremes(rows: torch.Tensor):
    """Per column minimum and maximum of ``rows`` (r, d). torch reduces a narrow matrix
    down its columns slowly (4.7 ms for 60,000 x 30 float32 on the dev CPU), so g rows
    at a time are viewed as one row of g * d values, reduced, and the g partial results
    folded (0.4 ms). amin and amax, not aminmax: its column reduction sometimes took
    4-8 ms on a (1622, 8) tensor when the thread pool had gone idle."""
    r, d = rows.shape
    g = _WIDE_ROW // d if d else 0
    body = r - r % g if g > 1 else 0
    if body == 0 or not rows.is_contiguous():
        return rows.amin(0), rows.amax(0)
    wide = rows[:body].view(body // g, g * d)
    lo, hi = wide.amin(0).view(g, d).amin(0), wide.amax(0).view(g, d).amax(0)
    if body < r:
        lo = torch.minimum(lo, rows[body:].amin(0))
        hi = torch.maximum(hi, rows[body:].amax(0))
    return lo, hi


# (input rounding, accumulation unit) of products computed in plain float32 (faiss's
# own GEMM, never TF32) and in float64
FLOAT32_PLAIN = (0.0, 2.0**-24)
FLOAT64 = (0.0, 2.0**-53)


def unit_roundoffs(cdtype: torch.dtype) -> tuple[float, float]:
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


def input_units(src: torch.dtype, cdtype: torch.dtype) -> tuple[float, float]:
    """`unit_roundoffs` of products in ``cdtype`` of data of dtype ``src``, whose input
    rounding counts float64 or integer data rounded to float32 once (`rounds_to`)."""
    u_in, u_acc = unit_roundoffs(cdtype)
    if rounds_to(src, cdtype):
        u_in = max(u_in, 2.0**-24)
    return u_in, u_acc


def chained_units(d: int, depth: int, u_in: float = 0.0) -> tuple[float, float]:
    """(input rounding, accumulation unit) of float32 products over ``d`` features (and
    the two columns the engine folds the norms into) computed as a chain: each slice of
    ``depth`` features alone, then added to the sum so far (`_torch.product`). A slice's
    product errs by at most ``depth`` units of its terms, and each of the S additions by
    one unit of the sum so far, which is at most the sum of the terms' magnitudes:
    ``depth + S`` units in all, against ``d`` for one product, in `Problem.slack`'s terms.
    ``u_in``: the rounding of the products' inputs (float64 data rounded to float32)."""
    slices = -(-(d + 2) // depth)
    return u_in, 2.0**-24 * min(d + 6, depth + slices + 6) / (d + 6)


def sq_norms(rows: torch.Tensor) -> torch.Tensor:
    """(r,) float64 squared norms of ``rows`` (r, d), a few rows at a time: a float64
    copy of a whole tile of wide rows would be the largest allocation of the search."""
    r, d = rows.shape
    out = torch.empty(r, dtype=torch.float64, device=rows.device)
    step = scratch_rows(d)
    for a in range(0, r, step):
        out[a : a + step] = rows[a : a + step].to(torch.float64, copy=True).square_().sum(1)
    return out


def drop_own(ind: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """``ind`` (r, c) neighbour indices less one column: each row's own index ``own`` (r,)
    where it appears, else the last (farthest) column. Order is kept otherwise.

    For searches that asked for one neighbour more because the queries are rows of the
    database: exclusion by index, so an exact duplicate of the row stays.
    """
    return ind.gather(1, without_own(ind, own)).contiguous()


def without_own(ind: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """(r, c - 1) positions into ``ind``'s columns that `drop_own` keeps, in order."""
    order = torch.argsort((ind == own.unsqueeze(1)).to(torch.int8), dim=1, stable=True)
    return order[:, :-1]


_REFINE_ELEMS = 1 << 18


def refine(P: Problem, queries: torch.Tensor, cand: torch.Tensor, rows: int):
    """True squared distances of candidate rows, ordered by (distance, index).

    ``queries``: (r,) int64 rows of Y; ``cand``: (r, c) int64 indices into X; ``rows``
    queries at a time (memory). Returns ``(d2, idx)``, both (r, c), d2 float64 in
    refinement units (`Problem.unit`: original units but for tiny or huge data).
    """
    r, c = cand.shape
    d = P.d
    # cache-sized pieces (2 MiB of float64 differences): the five passes over a
    # differences tensor of many MB each ran at a seventh of this speed at d = 4096;
    # very wide rows are summed over slices of features
    width = d if d * c <= _REFINE_ELEMS else max(256, _REFINE_ELEMS // (c * 8))
    step = max(1, min(rows, _REFINE_ELEMS // (c * width)))
    d2 = torch.zeros(cand.shape, dtype=torch.float64, device=P.device)
    for a in range(0, r, step):
        b = min(r, a + step)
        q, cc = queries[a:b], cand[a:b]
        for f0 in range(0, d, width):
            # whole rows gather contiguously; a slice of columns first, then its rows
            X, Y = (P.X, P.Y) if width == d else (P.X[:, f0 : f0 + width], P.Y[:, f0 : f0 + width])
            y = P.gathered64(Y, q)
            diff = P.gathered64(X, cc)
            diff.sub_(y[:, None, :])
            d2[a:b] += diff.square_().sum(-1)
    return order_rows(d2, cand)


def order_rows(d2: torch.Tensor, idx: torch.Tensor):
    """Each row of ``d2`` / ``idx`` (r, c) ordered by (distance, index). Rows already in
    that order (the KD-tree's, mostly) are left as they are: only the others are sorted."""
    if d2.shape[1] < 2:
        return d2, idx
    a, b = d2[:, :-1], d2[:, 1:]
    ordered = ((a < b) | ((a == b) & (idx[:, :-1] < idx[:, 1:]))).all(1)
    if bool(ordered.all()):
        return d2, idx
    rows = (~ordered).nonzero().squeeze(1)
    sub_d2, sub_idx = d2[rows], idx[rows]
    # Sorting by index first makes the stable distance sort break ties by lower index.
    sub_idx, perm = sub_idx.sort(dim=1)
    sub_d2, perm = sub_d2.gather(1, perm).sort(dim=1, stable=True)
    d2, idx = d2.clone(), idx.clone()
    d2[rows], idx[rows] = sub_d2, sub_idx.gather(1, perm)
    return d2, idx


def certified(P: Problem, d2_k: torch.Tensor, threshold: torch.Tensor, slack):
    """Rows whose k-th true distance is provably below every non-candidate's.

    ``threshold``: (r,) float64, the smallest rounded squared working distance any
    non-candidate can have (+inf when every row of X is a candidate); ``slack`` (r,)
    its rounding-error bound, or a function of the k-th squared distances in working
    units giving it (`Problem.slack_at`).
    """
    d2_k = d2_k * P.to_work
    if callable(slack):
        slack = slack(d2_k)
    return threshold - slack > d2_k * (1.0 + 1e-12)


def tie_finish(P: Problem, rows: torch.Tensor, d2_k: torch.Tensor):
    """The k nearest rows of X for queries ``rows`` that failed the certificate, by
    (distance, index), without sorting whole rows and without measuring whole tie sets.

    ``d2_k`` (r,) float64: each query's k-th true squared distance among its candidates
    (refinement units), an upper bound on its true k-th. Float64 products score every
    row of X; a row can enter only if its score is within their rounding bound of the
    query's k-th distance so far (`_near_bound`). The rows of X come in index order, so
    a row at exactly the running k-th distance loses to the k held (lower indices): once
    that distance is 0 (duplicates) nothing more can enter, and the rows within the
    bound are measured lowest index first, k, then 2k, ... at a time, the bound
    tightening between rounds; a tie set is not measured whole. On integer data whose
    squared distances stay below 2**50 the float64 scores are exact (every product and
    sum is an integer float64 holds), so no row is measured: each tile's rows strictly
    nearer than its k-th score are in, and of those at the k-th score the lowest
    indices. Returns ``(d2, idx)``, both (r, k), d2 in refinement units.
    """
    k, n, d, dev = P.k, P.n, P.d, P.device
    r = rows.numel()
    best_d = torch.empty((r, k), dtype=torch.float64, device=dev)
    best_i = torch.empty((r, k), dtype=torch.int64, device=dev)
    plan = plan_tie_finish(P.budget, n, d, k, r)
    centre = integer_centre(P)
    db = db_norms = None
    if plan.cache_db:
        db = _tie_rows(P, P.X, slice(0, n), centre)
        db_norms = sq_norms(db)
    for a in range(0, r, plan.query_tile):
        q = rows[a : a + plan.query_tile]
        yw = _tie_rows(P, P.Y, q, centre)
        y_norm = sq_norms(yw)
        d2w = d2_k[a : a + q.numel()] * P.to_work
        run_d = torch.full((q.numel(), k), float("inf"), dtype=torch.float64, device=dev)
        run_i = torch.full((q.numel(), k), -1, dtype=torch.int64, device=dev)
        c1 = 0
        # the first tiles narrow, then doubling: duplicates find their k copies at
        # distance 0 early, and then nothing later can enter
        width = min(plan.db_tile, max(_FIRST_TIE_TILE, 8 * k))
        while c1 < n and not bool((run_d[:, k - 1] == 0).all()):
            c0, c1 = c1, min(n, c1 + width)
            width = min(plan.db_tile, 2 * width)
            if db is None:
                xw = _tie_rows(P, P.X, slice(c0, c1), centre)
                x_norm = sq_norms(xw)
            else:
                xw, x_norm = db[c0:c1], db_norms[c0:c1]
            scores = torch.addmm(y_norm[:, None], yw, xw.T, alpha=-2.0)
            scores += x_norm
            del xw, x_norm
            if P.exclude_self:
                own = ((q >= c0) & (q < c1)).nonzero().squeeze(1)
                scores[own, q[own] - c0] = float("inf")
            if centre is not None:
                run_d, run_i = _merge_exact(P, scores, c0, run_d, run_i)
            else:
                run_d, run_i = _measure_near(P, q, scores, c0, (y_norm, d2w), run_d, run_i, plan)
            del scores
        best_d[a : a + q.numel()], best_i[a : a + q.numel()] = run_d, run_i
    return best_d, best_i


def _tie_rows(P: Problem, src: torch.Tensor, rows, centre) -> torch.Tensor:
    """Rows ``rows`` (a slice or int64 indices) of ``src`` as the tie finish scores
    them, a fresh float64 tensor: working coordinates, or the integer coordinates about
    ``centre`` (`integer_centre`)."""
    if centre is None:
        return P.work64(src, rows)
    return src[rows].to(torch.float64, copy=True).sub_(centre)


# Rows of X in the tie finish's first tile
_FIRST_TIE_TILE = 1024


def _near_bound(P: Problem, y_norm: torch.Tensor, d2w: torch.Tensor, kth: torch.Tensor):
    """(r,) the largest float64 score (working units) a row of X later in index order
    than the running k best can have and still enter: its true distance must be below
    the running k-th ``kth`` (refinement units; +inf while fewer than k are held), or
    the first pass's k-th ``d2w`` (working units), plus the scores' rounding bound. -inf
    where the running k-th distance is 0: nothing is nearer, and ties lose."""
    reach = torch.minimum(d2w, kth * P.to_work)
    # no pass for the largest norm: the bound's reach |y| + 2 sqrt(d2_k) is finite for
    # every query with a k-th distance, and the others take every row (an infinite bound)
    bound = reach * (1.0 + 1e-12) + P.slack(y_norm, float("inf"), reach, units=FLOAT64)
    return bound.masked_fill_(kth == 0, float("-inf"))


def _measure_near(P: Problem, q, scores, c0: int, query, run_d, run_i, plan):
    """Merge into the running k best of queries ``q`` the rows ``c0 + j`` of one tile
    (``scores`` (r, w), float64 working units) that can enter (`_near_bound`), measured
    by float64 differences lowest columns first: k per query, then 2k, 4k, ..., the
    bound recomputed after each round. ``query``: the queries' (squared working norms,
    first-pass k-th distance in working units)."""
    k = P.k
    y_norm, d2w = query
    near = scores <= _near_bound(P, y_norm, d2w, run_d[:, k - 1])[:, None]
    cap = k
    while True:
        rank = near.cumsum(1)
        take = near & (rank <= cap)
        hits = take.nonzero()  # (p, 2), by query then column
        if not hits.shape[0]:
            return run_d, run_i
        if P.stats is not None:
            P.stats.tie_candidates += hits.shape[0]
        for h0 in range(0, hits.shape[0], plan.pairs):
            run_d, run_i = _merge_measured(P, q, hits[h0 : h0 + plan.pairs], c0, run_d, run_i)
        near &= rank > cap
        del rank, take, hits
        near &= scores <= _near_bound(P, y_norm, d2w, run_d[:, k - 1])[:, None]
        cap *= 2


def _merge_exact(P: Problem, scores, c0: int, run_d, run_i):
    """Merge into the running k best the tile's own k best by (score, index), for exact
    scores (`integer_centre`): those below its k-th score, then the lowest columns at
    it, less those not strictly nearer than the running k-th. No row is measured."""
    k = P.k
    kk = min(k, scores.shape[1])
    kth = scores.topk(kk, dim=1, largest=False, sorted=False).values.amax(1, keepdim=True)
    below = scores < kth
    at = scores == kth
    room = kk - below.sum(1, keepdim=True)
    take = below | (at & (at.cumsum(1) <= room))
    # later in index order than the k held: only rows strictly nearer than their k-th
    take &= scores < run_d[:, k - 1 :]
    hits = take.nonzero()  # by query then column
    if not hits.shape[0]:
        return run_d, run_i
    if P.stats is not None:
        P.stats.tie_candidates += hits.shape[0]
    qi, cols = hits[:, 0], hits[:, 1]
    rows, vals, idx = pad_by_query(qi, scores[qi, cols], cols + c0, run_d, run_i)
    vals, perm = vals.sort(dim=1, stable=True)  # running first: (distance, index) order
    run_d[rows], run_i[rows] = vals[:, :k], idx.gather(1, perm[:, :k])
    return run_d, run_i


# Exact float64 scores: integer coordinates whose squared norms are below this (the
# score's every partial sum then stays below 2**53, whatever the products' order)
_EXACT_NORM = 2.0**50


def integer_centre(P: Problem) -> torch.Tensor | None:
    """(d,) float64 centre (the rounded column means) where every value of X and Y is
    an integer and every row's squared distance from it is below `_EXACT_NORM`: float64
    products of the centred rows are then exact. None otherwise (one pass over the
    data, which stops at the first chunk that fails)."""
    if P.unit != 1.0:
        return None
    centre = P.mean.round()
    for src in (P.X,) if P.same else (P.X, P.Y):
        for a in range(0, src.shape[0], P.chunk):
            rows = src[a : a + P.chunk].to(torch.float64, copy=True).sub_(centre)
            if not torch.equal(rows, rows.round()):
                return None
            if float(rows.square_().sum(1).max()) >= _EXACT_NORM:
                return None
    return centre


def _merge_measured(P: Problem, q, hits, c0: int, run_d, run_i):
    """Measure the (query position, column) pairs ``hits`` by float64 differences and
    merge them into each query's running k best by (distance, index). Pairs come by
    query, then ascending column, after every column held by the running set."""
    k = P.k
    qi, cols = hits[:, 0], hits[:, 1] + c0
    diff = P.gathered64(P.X, cols)
    diff.sub_(P.gathered64(P.Y, q[qi]))
    d2 = diff.square_().sum(-1)
    del diff
    rows, vals, idx = pad_by_query(qi, d2, cols, run_d, run_i)
    # the running set holds lower indices and the new pairs come by column: a stable
    # sort by distance orders by (distance, index)
    vals, perm = vals.sort(dim=1, stable=True)
    run_d[rows], run_i[rows] = vals[:, :k], idx.gather(1, perm[:, :k])
    return run_d, run_i


def select_block(scores: torch.Tensor, kc: int, g: int):
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


def pad_by_query(q: torch.Tensor, v: torch.Tensor, c: torch.Tensor, run_v, run_i):
    """Pairs (query ``q`` ascending, value ``v``, row ``c``), any number per query, laid
    beside each query's running set ``run_v`` / ``run_i`` (n, w): returns the queries
    that have pairs and (queries, w + most pairs) values and rows, the running ones
    first, the gaps +inf (row 0)."""
    w = run_v.shape[1]
    rows, seg, counts = torch.unique_consecutive(q, return_inverse=True, return_counts=True)
    pos = torch.arange(q.numel(), device=q.device) - (counts.cumsum(0) - counts)[seg] + w
    width = w + int(counts.max())
    vals = torch.full((rows.numel(), width), float("inf"), dtype=v.dtype, device=v.device)
    idx = torch.zeros((rows.numel(), width), dtype=torch.int64, device=v.device)
    vals[:, :w], idx[:, :w] = run_v[rows], run_i[rows]
    vals[seg, pos], idx[seg, pos] = v, c
    return rows, vals, idx


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
    redo, redo_d2 = [], []
    for q0, cand, threshold, slack in tiles:
        r = cand.shape[0]
        d2, idx = refine(P, torch.arange(q0, q0 + r, device=P.device), cand, refine_rows)
        advance(r)
        dist[q0 : q0 + r] = P.distances(d2[:, :k])
        ind[q0 : q0 + r] = idx[:, :k]
        bad = (~certified(P, d2[:, k - 1], threshold, slack)).nonzero().squeeze(1)
        if bad.numel():
            redo.append(bad + q0)
            # rows an approximate index could not serve have no valid k-th: all of X
            redo_d2.append(
                torch.where(threshold[bad] == float("-inf"), float("inf"), d2[bad, k - 1])
            )
    rechecked = sum(b.numel() for b in redo)
    if P.stats is not None:
        P.stats.queries += P.m
        P.stats.rechecked += rechecked
    if redo:  # the tiles are gone: the whole budget is free again
        rows, d2_k = torch.cat(redo), torch.cat(redo_d2)
        logger.debug("%d of %d query rows rechecked by direct float64 search", rows.numel(), P.m)
        d2, idx = tie_finish(P, rows, d2_k)
        dist[rows] = P.distances(d2).to(P.out_dtype)
        ind[rows] = idx
    return dist, ind
