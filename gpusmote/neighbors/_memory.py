"""Memory budgets and tile shapes for the neighbour engine.

Every byte the engine allocates besides its outputs is counted here, so that a search
never holds more than ``max_memory`` of working memory, whatever ``n``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch

from .._device import resolve_budget
from .._validation import check_int, fmt_error

__all__ = [
    "resolve_budget",
    "TorchPlan",
    "plan_torch",
    "SymmetricPlan",
    "plan_symmetric",
    "symmetric_pays",
    "plan_rows",
    "refine_bytes",
    "stream_rows",
    "TieFinishPlan",
    "plan_tie_finish",
    "GROUP",
    "COLUMN_GROUP",
    "CHAIN_DEPTH",
    "CHAIN_BLOCK",
    "chain_depth",
]

# Rows `_exact.sq_norms` squares and `_torch._database_columns` transposes at a time:
# about 64k elements (512 KiB of float64: fewer steps of Python overhead), and at least
# 16 rows (a transposing copy of fewer rows writes a cache line per element)
# (measurements: BENCHMARKS.md, "The engine's constants").
SCRATCH_ELEMS = 1 << 16
SCRATCH_MIN_ROWS = 16


def scratch_rows(d: int) -> int:
    """Rows of ``d`` features that `_exact.sq_norms` and the column builder take at once."""
    return max(SCRATCH_MIN_ROWS, SCRATCH_ELEMS // max(d, 1))


def norm_scratch(rows: int, d: int) -> int:
    """Bytes of `_exact.sq_norms`' float64 copy (squared in place) for ``rows`` rows."""
    return min(rows, scratch_rows(d)) * d * 8


def column_scratch(rows: int, d: int, itemsize: int) -> int:
    """Bytes of `_torch._database_columns`' temporaries: a few working rows, their cast
    from the data's dtype, and their float64 norms."""
    return min(rows, scratch_rows(d)) * d * (2 * itemsize + 8)


# Group size of the group-minimum prefilter (see `_exact.select_block`); the database
# is padded to a multiple of it (measurements: BENCHMARKS.md, "The engine's constants").
GROUP = 64

# CPU tiles: a (256, 16384) float32 block is 16 MiB; wide, short tiles were fastest
# (measurements: BENCHMARKS.md, "The engine's constants").
_CPU_QUERY_TILE = 256
_CPU_DB_TILE = 16384
# Scores per block where the database is small (taller query tiles): the wide tiles'
# 2**22. 2**20 took 5-10 % longer for TomekLinks and ENN on 4,147 x 47 (issue #28)
_CPU_SMALL_BLOCK = 1 << 22
# CUDA tiles, from scripts/bench_cuda_tiles.py on an H100: the selection, not the GEMM,
# is the cost there (measurements: BENCHMARKS.md, "The engine's constants"). Smaller
# budgets halve the tiles as on the CPU.
_CUDA_QUERY_TILE = 8192
_CUDA_DB_TILE = 65536
_CUDA_GROUP = GROUP


@contextmanager
def cuda_tiles(query_tile: int, db_tile: int, group: int):
    """Plan CUDA searches inside the block with this (query tile, database tile,
    prefilter group) shape instead of the measured default: for benchmarks that sweep
    tile shapes (``scripts/bench_cuda_tiles.py``). The results do not depend on the
    tiles. Process-wide: not for use while other threads search."""
    global _CUDA_QUERY_TILE, _CUDA_DB_TILE, _CUDA_GROUP
    saved = _CUDA_QUERY_TILE, _CUDA_DB_TILE, _CUDA_GROUP
    _CUDA_QUERY_TILE = check_int(query_tile, "query_tile", minimum=1)
    _CUDA_DB_TILE = check_int(db_tile, "db_tile", minimum=1)
    _CUDA_GROUP = check_int(group, "group", minimum=1)
    try:
        yield
    finally:
        _CUDA_QUERY_TILE, _CUDA_DB_TILE, _CUDA_GROUP = saved


@dataclass(frozen=True)
class TorchPlan:
    query_tile: int
    db_tile: int
    group: int  # 1: plain topk over each block
    cache_db: bool  # hold the centred, scaled database once instead of per tile
    refine_rows: int
    # features per partial product where the rows are too wide for whole-row tiles
    # (`_torch.torch_candidates` sums the block over slices of this many); 0: whole rows
    depth: int = 0
    # CPU threads that take the query tiles in turn, each with its own step's memory
    # (`_torch.in_workers`); 1: the tiles in order, in the calling thread
    workers: int = 1


# Rows this wide are scored in blocks summed over slices of features (`TorchPlan.depth`):
# whole-row tiles of 64 database rows would then hold a few MB per row and the GEMMs
# turn thin (measurements: BENCHMARKS.md, "The engine's constants").
SPLIT_MIN_DIM = 2048
SPLIT_DEPTH = 1024
# On the CPU, float32 products over more than this many features (the norms' columns
# included) are summed from products over slices of CHAIN_DEPTH features, each computed
# alone into a scratch block of at most CHAIN_BLOCK x CHAIN_BLOCK scores and then added
# (`_torch.product`): their rounding error is then bounded by CHAIN_DEPTH + slices float32
# units, not d (`_exact.chained_units`), and float32 scores certify wide rows of heavy
# tails that needed float64 ones (issue #28). In cache-sized blocks the chain took no
# longer than one product (1,024 x 1,618 x 3,845: 0.08-0.10 s against 0.115 s on two
# threads of the AMD dev machine; BENCHMARKS.md, "Issue #28's shapes").
CHAIN_DEPTH = 256
CHAIN_BLOCK = 512


def chain_depth(d: int, device: torch.device) -> int:
    """The slices of features float32 scores of ``d`` features are chained over on
    ``device`` (`CHAIN_DEPTH` on the CPU where the products, norms' columns included,
    are longer than it), or 0: one product."""
    return CHAIN_DEPTH if device.type == "cpu" and d + 2 > CHAIN_DEPTH else 0


_SPLIT_QUERY_TILE = 1024
_SPLIT_DB_TILE = 2048


def _tile_bytes(bq: int, bw: int, g: int, cache_db: bool, d: int, kc: int, itemsize: int) -> int:
    """Peak bytes of one (query tile, database tile) step; see `_torch.torch_candidates`."""
    block = bq * bw * itemsize  # distance block
    prefilter = g > 1 and bw // g > kc  # as in `_exact.select_block`
    # topk copies the values it selects from, with int64 positions, before selecting
    if prefilter:
        groups = bq * (bw // g) * (2 * itemsize + 8)  # group minima and topk's copy
        # the kc*g candidate scores, their int64 columns, a temporary, topk's copy
        gathered = bq * kc * g * (2 * itemsize + 24)
    else:
        groups, gathered = 0, bq * bw * (itemsize + 8)
    # topk outputs, index arithmetic, the running top-kc and its merge buffer
    small = bq * kc * (itemsize + 8) * 8
    # the query tile, its rows cast to the working dtype, their float64 norms
    queries = bq * (d + 1) * itemsize + bq * d * itemsize + bq * 8 * 2
    # per database column its slot; its working rows are made a few at a time
    db = 0 if cache_db else bw * (d + 1) * itemsize + column_scratch(bw, d, itemsize)
    # a chained product's scratch block (`_torch.product`)
    chain = min(bq, CHAIN_BLOCK) * min(bw, CHAIN_BLOCK) * itemsize if d + 1 > CHAIN_DEPTH else 0
    return block + groups + gathered + small + queries + db + chain + norm_scratch(bq, d)


def _split_bytes(bq: int, bw: int, g: int, depth: int, d: int, kc: int, itemsize: int) -> int:
    """Peak bytes of one depth-split step: the block and its selection as in
    `_tile_bytes`, a slice of ``depth`` features of the queries and of the database
    rows (each with its cast), and their float64 norms."""
    whole = _tile_bytes(bq, bw, g, True, 0, kc, itemsize)  # block, selection, merges
    slices = (bq + bw) * depth * 2 * itemsize + (bq + bw) * 8 * 2
    product = bq * bw * 4  # a float32 slice product, for sliced scores
    return whole + slices + product + norm_scratch(max(bq, bw), depth)


def refine_bytes(rows: int, kc: int, d: int) -> int:
    """Peak bytes of refining ``rows`` queries: gathered candidates and differences in
    float64, and the gathered queries with their float64 copies."""
    return rows * kc * (2 * d * 8 + 4 * 8) + rows * d * 16


def plan_rows(budget: int, per_row: int, most: int) -> int:
    """How many rows of ``per_row`` bytes fit in ``budget`` (at least 1, at most ``most``)."""
    return max(1, min(most, budget // max(per_row, 1)))


def stream_rows(budget: int, d: int, n: int) -> int:
    """Rows per chunk of the passes over the data (checks, statistics, building caches).

    They hold up to three float64 copies of a chunk and run before the tiles, beside at
    most the cached database (half the budget), so they get a quarter of it.
    """
    return plan_rows(budget // 4, 3 * d * 8, n)


def plan_torch(
    *,
    n: int,
    m: int,
    d: int,
    kc: int,
    itemsize: int,
    device: torch.device,
    budget: int,
    workers: int = 1,
) -> TorchPlan:
    """Tile shapes that fit ``budget`` bytes, largest first on each device's own rule;
    with ``workers`` (whole-row tiles only) that many steps at once."""
    n_pad = -(-n // GROUP) * GROUP
    if device.type == "cpu" and d >= SPLIT_MIN_DIM:
        plan = _plan_split(n=n, m=m, d=d, kc=kc, itemsize=itemsize, budget=budget)
        if plan is not None:
            return plan
    fixed = 0
    cache = n_pad * (d + 1) * itemsize
    if device.type == "cuda":
        bq, bw, g = _CUDA_QUERY_TILE, _CUDA_DB_TILE, _CUDA_GROUP
    else:
        # small databases: taller query tiles of `_CPU_SMALL_BLOCK` scores, so that a
        # search of a few thousand rows is a few calls, not one per 256 queries
        bq, bw, g = max(_CPU_QUERY_TILE, _CPU_SMALL_BLOCK // n_pad), _CPU_DB_TILE, GROUP
        if workers > 1:  # four tiles per worker, as tall as 4,096 rows: fewer, larger ops
            bq = max(bq, min(-(-m // (4 * workers)), 4096))
    bq = min(bq, m)
    bw = min(bw, n_pad)
    # Keep the database cached if it takes at most half the budget; otherwise each tile
    # is centred on the fly (slower, but memory stays flat in n).
    cache_db = fixed + cache <= budget // 2
    avail = budget - fixed - (cache if cache_db else 0)
    while True:
        step = _tile_bytes(bq, bw, g, cache_db, d, kc, itemsize)
        need = workers * step + refine_bytes(1, kc, d)
        if need <= avail:
            break
        if bw > GROUP:
            bw = max(GROUP, (bw // 2) // GROUP * GROUP)
        elif bq > 1:
            bq = max(1, bq // 2)
        elif workers > 1:  # one step at a time fits where several do not
            return plan_torch(n=n, m=m, d=d, kc=kc, itemsize=itemsize, device=device, budget=budget)
        else:
            minimum = fixed + need
            raise ValueError(
                fmt_error(
                    "max_memory",
                    f"at least {minimum:,} bytes for one tile row of this search "
                    f"(n={n}, d={d}, k={kc} candidates)",
                    budget,
                )
            )
    left = avail - workers * _tile_bytes(bq, bw, g, cache_db, d, kc, itemsize)
    rows = plan_rows(left, refine_bytes(1, kc, d), bq)
    return TorchPlan(
        query_tile=bq, db_tile=bw, group=g, cache_db=cache_db, refine_rows=rows, workers=workers
    )


def _plan_split(*, n: int, m: int, d: int, kc: int, itemsize: int, budget: int):
    """A depth-split plan for wide rows, or None where even its smallest step does not fit
    (then whole-row tiles, with their clear error if those do not fit either)."""
    n_pad = -(-n // GROUP) * GROUP
    bq, bw, depth = min(_SPLIT_QUERY_TILE, m), min(_SPLIT_DB_TILE, n_pad), min(SPLIT_DEPTH, d)
    avail = budget - refine_bytes(1, kc, d)
    while _split_bytes(bq, bw, GROUP, depth, d, kc, itemsize) > avail:
        if depth > 256:
            depth //= 2
        elif bw > GROUP:
            bw = max(GROUP, (bw // 2) // GROUP * GROUP)
        elif bq > 1:
            bq = max(1, bq // 2)
        else:
            return None
    left = avail - _split_bytes(bq, bw, GROUP, depth, d, kc, itemsize)
    rows = plan_rows(left, refine_bytes(1, kc, d), bq)
    return TorchPlan(
        query_tile=bq, db_tile=bw, group=GROUP, cache_db=False, refine_rows=rows, depth=depth
    )


# Self-searches (``Y`` is ``X``) on the CPU use each distance block twice, for its rows'
# queries and its columns' queries (`_torch.symmetric_candidates`), so that only the
# blocks on and above the diagonal are computed: half the products. Square-ish tiles
# keep the per-column merges few.
# The column side's groups are of 16 rows, not 64: a column's entries are a row apart,
# so each group looked at costs a cache line per entry; rows keep groups of 64
# (contiguous entries) (measurements: BENCHMARKS.md, "The engine's constants").
COLUMN_GROUP = 16
# Where the symmetric search pays: its selection costs about the same per pair as the
# one-sided search's, so halving the products wins only where they dominate: many rows
# of many features (measurements: BENCHMARKS.md, "The engine's constants").
SYMMETRIC_MIN_ROWS = 32_768
SYMMETRIC_MIN_DIM = 32
# and from fewer rows where the rows are wide (issue #28): k-NN of all rows (k = 2,
# heavy tails, chained float32 scores, best of 3), symmetric / one-sided time: 3,845 x
# 1,617 0.73-0.75, 6,000 x 256 0.76, 4,000 x 512 0.82, 3,072 x 256 0.90; 2,000 x 512
# 0.93-0.98, within the noise (the diagonal blocks, computed whole, are most of it there)
SYMMETRIC_WIDE_ROWS = 3_072
SYMMETRIC_WIDE_DIM = 256
_CPU_SYM_QUERY_TILE = 1024
_CPU_SYM_DB_TILE = 4096


@dataclass(frozen=True)
class SymmetricPlan:
    query_tile: int  # rows per chunk; a multiple of GROUP
    db_tile: int  # columns per block, a multiple of GROUP
    group: int
    refine_rows: int
    # groups a block may pass to the sparse selection (`_torch._sparse`): each
    # passed group gathers g entries with their indices and merge buffers (about
    # 2 * (2 * itemsize + 25) bytes per entry), kept within the block's own size
    sparse_hits: int


def _symmetric_bytes(bq: int, bw: int, g: int, d: int, kc: int, itemsize: int) -> int:
    """Peak bytes of one symmetric block: the row side as `_tile_bytes`, plus the column
    side's selection (the same with the roles swapped and groups of `COLUMN_GROUP`, less
    the shared block) and the column merges."""
    rows = _tile_bytes(bq, bw, g, True, d + 1, kc, itemsize)
    cols = _tile_bytes(bw, bq, COLUMN_GROUP, True, d + 1, kc, itemsize) - bw * bq * itemsize
    return rows + cols + bw * kc * (itemsize + 8) * 4


def symmetric_pays(n: int, d: int, device: torch.device) -> bool:
    """Whether a self-search of ``n`` rows of ``d`` features takes the symmetric path."""
    if device.type != "cpu" or n < 2 * GROUP + 1:
        return False
    if d >= SYMMETRIC_WIDE_DIM and n >= SYMMETRIC_WIDE_ROWS:
        return True
    return n >= SYMMETRIC_MIN_ROWS and d >= SYMMETRIC_MIN_DIM


def plan_symmetric(
    *, n: int, d: int, kc: int, itemsize: int, device: torch.device, budget: int
) -> SymmetricPlan | None:
    """Tiles for a symmetric self-search, or None where the one-sided plan is the one:
    on CUDA (not yet measured there), below the sizes where it pays (`symmetric_pays`),
    or when the database, its norms and every row's running candidates take over half
    the budget."""
    if not symmetric_pays(n, d, device):
        return None
    n_pad = -(-n // GROUP) * GROUP
    # the database columns, every row's running top-kc and its bound
    fixed = n_pad * (d + 2) * itemsize + n_pad * kc * (itemsize + 8) + n_pad * itemsize
    if fixed > budget // 2:
        return None
    bq = min(_CPU_SYM_QUERY_TILE, max(GROUP, (n // 2) // GROUP * GROUP))
    bw = min(_CPU_SYM_DB_TILE, n_pad)
    avail = budget - fixed
    while _symmetric_bytes(bq, bw, GROUP, d, kc, itemsize) + refine_bytes(1, kc, d) > avail:
        if bw > bq:
            bw = max(bq, (bw // 2) // GROUP * GROUP)
        elif bq > GROUP:
            bq = max(GROUP, (bq // 2) // GROUP * GROUP)
            bw = bq
        else:
            return None
    left = avail - _symmetric_bytes(bq, bw, GROUP, d, kc, itemsize)
    rows = plan_rows(left, refine_bytes(1, kc, d), bq)
    hits = max(1, bq * bw * itemsize // (GROUP * 2 * (2 * itemsize + 25)))
    return SymmetricPlan(query_tile=bq, db_tile=bw, group=GROUP, refine_rows=rows, sparse_hits=hits)


@dataclass(frozen=True)
class TieFinishPlan:
    query_tile: int  # failed queries scored at a time
    db_tile: int  # rows of X scored at a time
    pairs: int  # (query, row) pairs measured by float64 differences at a time
    # hold X's float64 working rows and their norms once, instead of making them again
    # for every tile of queries
    cache_db: bool = False


def _tie_step_bytes(r: int, w: int, d: int, k: int, cached: bool = False) -> int:
    """Peak bytes of one step of `_exact.tie_finish`, counted with 8-byte source values:
    the float64 queries (and their gathered source rows), the float64 database rows and
    their squares (none where they are cached), the scores and a temporary, their masks
    (a few bytes), each row's int64 rank among the rows near enough and up to one int64
    pair per score, the running k best."""
    queries = r * d * (8 + 8 + 8)
    rows = 0 if cached else w * d * (8 + 8 + 8)
    scores = r * w * (8 + 8 + 4 + 8 + 16)
    return queries + rows + scores + r * k * 16 * 2


def _pair_bytes(r: int, d: int) -> int:
    """Bytes per measured pair: both gathered rows and their float64 copies and the
    distance; and, since one query of the ``r`` may hold all the pairs, a column of the
    (r, k + pairs) merge buffers (values, indices, and the sort's copies of both)."""
    return d * 32 + 16 + r * 64


def tie_cache_bytes(n: int, d: int) -> int:
    """Bytes of the tie finish's cached database: float64 working rows and norms."""
    return n * (d + 1) * 8


def plan_tie_finish(budget: int, n: int, d: int, k: int, m: int = 64) -> TieFinishPlan:
    """Tiles for the tie finish of ``m`` queries: the cached database where it takes at
    most a quarter of the budget, half the rest for the scoring step, the remainder for
    the pairs measured at a time (where a tie set is larger than a step, it is measured
    in several). Tall query tiles first (256 rows): the database is read once per tile
    of queries, so with thousands of failed queries (duplicates, integer grids) their
    number sets the cost."""
    cache = tie_cache_bytes(n, d)
    cached = cache <= budget // 4
    avail = budget - (cache if cached else 0)
    r, w = min(256, max(1, m)), min(n, 16384)
    while _tie_step_bytes(r, w, d, k, cached) > avail // 2:
        if w > 2048:
            w //= 2
        elif r > 64:
            r //= 2
        elif w > 64:
            w = max(64, w // 2)
        elif r > 1:
            r = max(1, r // 2)
        elif w > 1:
            w = max(1, w // 2)
        else:
            raise ValueError(
                fmt_error(
                    "max_memory",
                    f"at least {2 * _tie_step_bytes(1, 1, d, k):,} bytes for one row of this "
                    f"search (d={d})",
                    budget,
                )
            )
    left = avail - _tie_step_bytes(r, w, d, k, cached) - r * k * 64
    pairs = plan_rows(left, _pair_bytes(r, d), r * w)
    return TieFinishPlan(query_tile=r, db_tile=w, pairs=pairs, cache_db=cached)
