"""KD-tree candidates (scipy's ``cKDTree``): the low-dimensional CPU path.

For a few features a tree visits a handful of leaves per query where brute force
scores every row: scikit-learn's default for d <= 15 is a KD-tree for that reason. The
tree measures distances by float64 differences of the original values, so its kc
nearest are certified by a bound on that rounding alone, and the rows it leaves
uncertified (ties at the kc-th distance) go to the same tie finish as the other
backends': the same exact neighbours, ties by lower index.
"""

from __future__ import annotations

import importlib.util
import sys
import time

import numpy as np
import torch

from .._device import cpu_workers, small_work, torch_threads
from ._exact import Problem, drop_own, select_block
from ._memory import GROUP

__all__ = [
    "import_scipy_spatial",
    "TreeIndex",
    "tree_candidates",
    "tree_bytes",
    "tree_choice",
    "race_tree",
    "torch_estimate",
    "TREE_QUERY_TILE",
]

TREE_QUERY_TILE = 16_384
# Beyond 32 features a tree visits most leaves on almost any data; up to there it can win
# by 10x or lose by 10x, by the data's intrinsic dimension rather than d (the race
# decides) (measurements: BENCHMARKS.md, "The engine's constants").
TREE_MAX_DIM = 32
# Up to this many features the tree won on every table measured, so auto takes it
# without the race's cost.
TREE_SURE_DIM = 4
# Queries timed on the tree (single-threaded), in batches that grow to 32: a tree that
# loses clearly stops after a few.
RACE_ROWS = 256
_RACE_BATCHES = (8, 8, 16) + (32,) * (RACE_ROWS // 32)
# Below this many multiply-adds (n * m * d; a class of 600 rows by 6 features) a search
# takes a millisecond or two on either engine: no race, torch.
RACE_MIN_WORK = 2**21
# Where scipy.spatial is not imported yet (the import costs more than a small SMOTE run;
# measurements: BENCHMARKS.md, "The engine's constants"), only searches of this many
# multiply-adds and more (a few tenths of a second of brute force) race the tree. Users
# of scikit-learn or imbalanced-learn have it imported already.
COLD_RACE_MIN_WORK = 2**35
# The torch engine's estimate (`torch_estimate`): its products and selection, plus per
# query the cost of selecting this many more scores for its refinement, certificate and
# share of the per-tile work: products and selection alone were 1.5-4x too low
# (measurements: BENCHMARKS.md, "The engine's constants").
_QUERY_SCORES = 4096
# The tree is chosen where its estimate is under 0.8x the torch engine's: within 20 % the
# torch engine's steadier cost wins (measurements: BENCHMARKS.md, "The engine's constants").
_MARGIN = 0.8


def import_scipy_spatial():
    try:
        from scipy import spatial
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            'backend="kdtree" needs scipy: pip install "gpusmote[kdtree]"; '
            'or use backend="torch", which needs nothing more.'
        ) from None
    return spatial


def tree_bytes(n: int, m: int, d: int, kc: int) -> int:
    """Host memory of the tree and a query tile, all outside the torch plan: the float64
    copy of X, the tree's index and nodes (under 3 int64 per row at leaves of 32),
    a float64 query tile and its results."""
    tile = min(m, TREE_QUERY_TILE)
    return n * (d * 8 + 24) + tile * (d * 8 + (kc + 1) * 16 * 2)


def _host64(src: torch.Tensor, a: int, b: int, unit: float = 1.0) -> np.ndarray:
    out = np.ascontiguousarray(src[a:b].to(torch.float64).cpu().numpy())
    # a new array: ``out`` may be the caller's own float64 rows
    return out if unit == 1.0 else out * unit


class TreeIndex:
    """A cKDTree over the float64 values of ``X`` (n, d) times ``unit`` (refinement's
    power of two, `Problem.unit`: the tree's squared distances underflow on tiny data
    as the naive ones do), queried with `cpu_workers` threads."""

    def __init__(self, X: torch.Tensor, unit: float = 1.0):
        spatial = import_scipy_spatial()
        self.X64 = _host64(X, 0, X.shape[0], unit)
        # leaves of 32 and sliding-midpoint splits: the fastest build + query measured on
        # page_blocks0, the credit-card-shaped table and 4 normal features (within 15 %)
        self.tree = spatial.cKDTree(self.X64, leafsize=32, balanced_tree=False)

    def query(self, queries: np.ndarray, k: int, workers: int | None = None):
        """(distances, indices), both (r, k) numpy arrays: float64 and int64."""
        workers = cpu_workers() if workers is None else workers
        dist, ind = self.tree.query(queries, k=k, workers=workers)
        r = queries.shape[0]
        return np.asarray(dist).reshape(r, k), np.asarray(ind, dtype=np.int64).reshape(r, k)


def tree_width(P: Problem) -> int:
    """Rows asked of the tree per query: the kc candidates (and the query's own row).
    Its float64 distances would certify with k + 1, but a tie between the k-th and the
    next is common in real tables (duplicates, integers: 265 of 2,500 rows of the
    integer generator), and each such row costs the tie finish a pass over all rows;
    a tie reaching the kc-th is much rarer."""
    return min(P.kc + int(P.exclude_self), P.n)


def tree_candidates(P: Problem, index: TreeIndex | None = None):
    """Yield ``(q0, cand, threshold, slack)`` per query tile; see `_exact.finish`.

    ``threshold`` is the tree's largest returned squared distance in working units (no
    other row is nearer, up to the tree's rounding), ``slack`` a bound on that rounding:
    each squared distance is a float64 sum of d squared float64 differences, within
    ``(d + 2) u`` of the exact value relatively (and ``2 u`` more through the square
    root and back), for the tree's value and for refinement's alike. ``index``: a tree
    already built over ``P.X``.
    """
    index = TreeIndex(P.X, P.unit) if index is None else index
    extra = int(P.exclude_self)
    kq = tree_width(P)
    every_row_is_candidate = kq >= P.n
    rel = 2.0 * (P.d + 6) * 2.0**-53 * 2.0  # both sides' rounding, doubled for safety
    for q0 in range(0, P.m, TREE_QUERY_TILE):
        q1 = min(P.m, q0 + TREE_QUERY_TILE)
        queries = index.X64[q0:q1] if P.same else _host64(P.Y, q0, q1, P.unit)
        dist, ind = index.query(queries, kq)
        dist = torch.from_numpy(dist).to(P.device)
        ind = torch.from_numpy(ind).to(P.device)
        if every_row_is_candidate:
            threshold = torch.full((q1 - q0,), float("inf"), dtype=torch.float64, device=P.device)
            slack = torch.zeros_like(threshold)
        else:
            threshold = dist.amax(1).square() * P.to_work
            slack = threshold * rel
        if extra:
            ind = drop_own(ind, torch.arange(q0, q1, device=P.device))
        # refined all the same: the tree's distances come square-rooted, and squared
        # back they no longer tie where decimal data's squared distances do
        yield q0, ind, threshold, slack


def tree_choice(device: torch.device, n: int, m: int, d: int, kc: int, budget: int):
    """What ``backend="auto"`` does about the tree: None (not on CUDA, beyond
    `TREE_MAX_DIM` features, a search of milliseconds, the tree's host memory (a float64
    copy of X and its index) over three quarters of ``max_memory``, or no scipy),
    "tree" (up to `TREE_SURE_DIM` features, where no distribution of rows makes it
    lose), or "race" (time it against the torch engine's estimate, with 256+ queries)."""
    work = n * m * d
    if device.type != "cpu" or d > TREE_MAX_DIM or work < RACE_MIN_WORK:
        return None
    if tree_bytes(n, m, d, kc) > budget - budget // 4:  # refinement keeps a quarter
        return None
    if "scipy.spatial" not in sys.modules:
        # importing it takes a quarter of a second: worth it only for large searches
        if work < COLD_RACE_MIN_WORK or importlib.util.find_spec("scipy") is None:
            return None
    if d <= TREE_SURE_DIM:
        return "tree"
    return "race" if m >= RACE_ROWS else None


# (threads) -> (seconds per score selected, seconds per multiply-add) of the torch
# engine's CPU tiles, measured once per process and thread count
_TORCH_RATES: dict[int, tuple[float, float]] = {}
_RATE_ROWS, _RATE_COLS, _RATE_DEPTH = 128, 4096, 33


def torch_rates(threads: int) -> tuple[float, float]:
    """The torch engine's cost on this CPU at ``threads`` intra-op threads: (seconds per
    score selected, seconds per multiply-add), timed once per process and thread count
    (best of 3, a few milliseconds) on one block of the engine's CPU shape, 128 x 4096
    scores of 33 features selected by `_exact.select_block`."""
    if threads not in _TORCH_RATES:
        gen = torch.Generator().manual_seed(0)
        y = torch.randn(_RATE_ROWS, _RATE_DEPTH, generator=gen)
        x = torch.randn(_RATE_DEPTH, _RATE_COLS, generator=gen)
        scores = torch.empty(_RATE_ROWS, _RATE_COLS)
        t_mm = t_sel = float("inf")
        with torch_threads(threads):
            for _ in range(3):
                t0 = time.perf_counter()
                torch.mm(y, x, out=scores)
                t1 = time.perf_counter()
                select_block(scores, 8, GROUP)
                t2 = time.perf_counter()
                t_mm, t_sel = min(t_mm, t1 - t0), min(t_sel, t2 - t1)
        block = _RATE_ROWS * _RATE_COLS
        _TORCH_RATES[threads] = (t_sel / block, t_mm / (block * _RATE_DEPTH))
    return _TORCH_RATES[threads]


def torch_estimate(n: int, m: int, d: int) -> float:
    """Seconds the torch engine takes for m queries against n rows of d features, at the
    low end: float32 products and selection (`torch_rates`, at the threads the engine
    will run on: one below `SMALL_WORK`), and `_QUERY_SCORES` more scores' selection per
    query for the rest."""
    threads = 1 if small_work(n, m, d) else cpu_workers()
    per_score, per_product = torch_rates(threads)
    return m * ((n + _QUERY_SCORES) * per_score + n * per_product * (d + 1))


def race_tree(P: Problem) -> TreeIndex | None:
    """The built tree where its estimated time for all queries (build included) is under
    0.8x the torch engine's (`torch_estimate`), else None. The choice depends on timings; the
    neighbours do not (both exact).

    The tree answers up to `RACE_ROWS` evenly spaced queries single-threaded, in batches
    of 8, 8, 16, then 32 (a multi-threaded call on a few queries is mostly its threads'
    start), each batch spread over all the queries; its estimate is divided by the
    threads it will use, and it stops as soon as it is clearly losing (at 20,000 x 32
    features a first batch of 32 took 9 ms, twice the build). The torch side is not
    timed per call: its rates are measured once.
    """
    allowance = _MARGIN * torch_estimate(P.n, P.m, P.d)
    s = min(RACE_ROWS, P.m // 8)
    q = torch.linspace(0, P.m - 1, s, device=P.device).round().to(torch.int64).unique()
    # reordered so that each batch is spread over all of them: positions 0, step,
    # 2 step, ... first, then 1, 1 + step, ...
    step = max(1, q.numel() // 8)
    pos = torch.arange(q.numel(), device=P.device)
    q = q[torch.argsort((pos % step) * q.numel() + pos)]
    t0 = time.perf_counter()
    index = TreeIndex(P.X, P.unit)
    queries = index.X64[q.cpu().numpy()] if P.same else _host64(P.Y[q], 0, q.numel(), P.unit)
    kq = tree_width(P)
    build = time.perf_counter() - t0
    threads = cpu_workers()
    spent = 0.0
    estimate = build
    a = 0
    for size in _RACE_BATCHES:
        b = min(q.numel(), a + size)
        t0 = time.perf_counter()
        index.query(queries[a:b], kq, workers=1)
        spent += time.perf_counter() - t0
        estimate = build + spent / b * P.m / threads
        if build + spent >= allowance or estimate >= 2 * allowance:
            return None  # clearly losing
        a = b
        if a == q.numel():
            break
    return index if estimate < allowance else None
