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

from ._exact import Problem, drop_own, finish

__all__ = [
    "import_scipy_spatial",
    "TreeIndex",
    "tree_candidates",
    "tree_bytes",
    "tree_choice",
    "race_tree",
    "TREE_QUERY_TILE",
]

TREE_QUERY_TILE = 16_384
# Beyond 32 features a tree visits most leaves on almost any data; up to there it can win
# by 10x or lose by 10x, by the data's intrinsic dimension rather than d (the race
# decides). Measured on the 2-core dev CPU, self k-NN of 20k rows, k = 5, torch / tree
# seconds: normal d = 2 0.31 / 0.02, d = 4 0.30 / 0.04, d = 8 0.29 / 0.28, d = 12
# 0.26 / 1.16, d = 16 0.25 / 2.35; the credit-card-shaped table (d = 30, two wide
# columns) 0.45 / 0.03.
TREE_MAX_DIM = 32
# Up to this many features the tree won on every table measured (7-13x at 2 and 4
# normal features), so auto takes it without the race's cost.
TREE_SURE_DIM = 4
# Queries timed on each engine: two CPU query tiles of the torch engine.
RACE_ROWS = 512
# Below this many multiply-adds (n * m * d) a search takes milliseconds: no race, torch.
RACE_MIN_WORK = 2**26
# Where scipy.spatial is not imported yet (importing it took 0.24 s on the dev CPU, four
# times SMOTE's whole 105,000 x 32 run), only searches of this many multiply-adds and
# more (a few tenths of a second of brute force) race the tree. Users of scikit-learn
# or imbalanced-learn have it imported already.
COLD_RACE_MIN_WORK = 2**35
# The tree is chosen when its estimate is under half the torch engine's: the torch
# sample pays the database's set-up once for few queries, which overstates its cost.
_MARGIN = 0.5


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


def _host64(src: torch.Tensor, a: int, b: int) -> np.ndarray:
    return np.ascontiguousarray(src[a:b].to(torch.float64).cpu().numpy())


class TreeIndex:
    """A cKDTree over the float64 values of ``X`` (n, d), queried with all of torch's
    threads."""

    def __init__(self, X: torch.Tensor):
        spatial = import_scipy_spatial()
        self.X64 = _host64(X, 0, X.shape[0])
        # leaves of 32 and sliding-midpoint splits: the fastest build + query measured on
        # page_blocks0, the credit-card-shaped table and 4 normal features (within 15 %)
        self.tree = spatial.cKDTree(self.X64, leafsize=32, balanced_tree=False)

    def query(self, queries: np.ndarray, k: int, workers: int | None = None):
        """(distances, indices), both (r, k) numpy arrays: float64 and int64."""
        workers = max(1, torch.get_num_threads()) if workers is None else workers
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
    index = TreeIndex(P.X) if index is None else index
    extra = int(P.exclude_self)
    kq = tree_width(P)
    every_row_is_candidate = kq >= P.n
    rel = 2.0 * (P.d + 6) * 2.0**-53 * 2.0  # both sides' rounding, doubled for safety
    scale2 = P.scale * P.scale
    for q0 in range(0, P.m, TREE_QUERY_TILE):
        q1 = min(P.m, q0 + TREE_QUERY_TILE)
        queries = index.X64[q0:q1] if P.same else _host64(P.Y, q0, q1)
        dist, ind = index.query(queries, kq)
        dist = torch.from_numpy(dist).to(P.device)
        ind = torch.from_numpy(ind).to(P.device)
        if every_row_is_candidate:
            threshold = torch.full((q1 - q0,), float("inf"), dtype=torch.float64, device=P.device)
            slack = torch.zeros_like(threshold)
        else:
            threshold = dist.amax(1).square() * scale2
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
    lose), or "race" (time it against the torch engine)."""
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
    return "race" if m >= 8 * 64 else None


def _timed(tiles, times: list):
    """``tiles`` as they come, with the seconds each took to produce appended to ``times``."""
    while True:
        t0 = time.perf_counter()
        try:
            item = next(tiles)
        except StopIteration:
            return
        times.append(time.perf_counter() - t0)
        yield item


def race_tree(P: Problem, run_torch) -> TreeIndex | None:
    """Time both engines on the same evenly spaced queries; the built tree when its
    estimate for all queries (build included) is under half the torch engine's, else
    None. ``run_torch(sub)``: the torch engine's ``(tiles, refine_rows)`` for a
    sub-problem. The choice depends on timings; the neighbours do not (both exact).

    The torch engine runs two query tiles and is judged by the second (the first pays
    for the database's set-up and fresh buffers); the tree runs single-threaded in
    batches of 32 (a multi-threaded call on a few queries is mostly its threads' start)
    and its estimate is divided by the threads it will use.
    """
    s = min(RACE_ROWS, P.m // 8)
    q = torch.linspace(0, P.m - 1, s, device=P.device).round().to(torch.int64).unique()
    sub = P.for_queries(q)
    tiles, refine_rows = run_torch(sub)
    times: list[float] = []
    t0 = time.perf_counter()
    finish(sub, _timed(tiles, times), refine_rows)
    per_tile_finish = (time.perf_counter() - t0 - sum(times)) / max(1, len(times))
    per_query = (times[-1] + per_tile_finish) * len(times) / q.numel()
    allowance = _MARGIN * per_query * P.m
    t0 = time.perf_counter()
    index = TreeIndex(P.X)
    queries = index.X64[q.cpu().numpy()] if P.same else _host64(P.Y[q], 0, q.numel())
    kq = tree_width(P)
    build = time.perf_counter() - t0
    threads = max(1, torch.get_num_threads())
    spent = 0.0
    for a in range(0, q.numel(), 32):  # stop once the tree is clearly losing
        t0 = time.perf_counter()
        index.query(queries[a : a + 32], kq, workers=1)
        spent += time.perf_counter() - t0
        estimate = build + spent / min(q.numel(), a + 32) * P.m / threads
        if build + spent >= allowance or estimate >= 2 * allowance:
            return None
    return index if estimate < allowance else None
