"""``kneighbors``: the one neighbour search every sampler calls."""

from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager, nullcontext

import torch

from .._device import (
    compute_dtype,
    cpu_workers,
    load_cap,
    resolve_budget,
    resolve_device,
    small_work,
    split_threads,
    threads_for,
)
from .._io import as_feature_tensor
from .._io._sparse import SparseRows, as_sparse_rows, is_sparse
from .._progress import expect, phase
from .._validation import check_bool, check_finite, check_int, fmt_error
from ._backend import resolve_auto_backend, resolve_backend, self_search_pays
from ._exact import Problem, SearchStats, finish, without_own
from ._faiss import FaissFlat, faiss_candidates
from ._memory import (
    SPLIT_DEPTH,
    SPLIT_MIN_DIM,
    chain_depth,
    plan_rows,
    plan_symmetric,
    plan_torch,
    refine_bytes,
    stream_rows,
)
from ._precision import score_precision
from ._sparse import sparse_kneighbors
from ._torch import symmetric_candidates, torch_candidates
from ._tree import race_tree, tree_candidates, tree_choice

__all__ = [
    "kneighbors",
    "collect_stats",
    "SearchStats",
]

logger = logging.getLogger("gpusmote.neighbors")
_collecting = threading.local()


@contextmanager
def collect_stats():
    """Collect a `SearchStats` for every `kneighbors` call this thread makes inside the
    block (samplers' searches included), in call order.

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.neighbors import collect_stats, kneighbors
    >>> X = np.array([[0.0], [0.0], [0.0], [1.0]])  # three rows tie at distance 0
    >>> with collect_stats() as stats:
    ...     _ = kneighbors(X, 1, device="cpu")
    >>> stats[0].queries, stats[0].backend
    (4, 'torch')
    """
    stack = _collecting.__dict__.setdefault("stack", [])
    found: list[SearchStats] = []
    stack.append(found)
    try:
        yield found
    finally:
        del stack[next(i for i, f in enumerate(stack) if f is found)]


def _n_candidates(k: int, available: int) -> int:
    """Candidates kept per query beyond k: the gap to the k-th lets the certificate pass."""
    return min(available, k + max(3, k // 2))


def kneighbors(
    X,
    n_neighbors: int,
    *,
    Y=None,
    exclude_self: bool | None = None,
    rows=None,
    backend="auto",
    device=None,
    max_memory=None,
    return_distance: bool = True,
):
    """The ``n_neighbors`` nearest rows of ``X`` for each row of ``Y`` (default ``X``).

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n, d)
        The rows searched (the database). numpy, pandas, lists and tensors are accepted;
        integers and bools are searched in float64, each tile converted (no float64
        copy of the whole input).
    n_neighbors : int
        Neighbours per query, at least 1 and at most the number of rows available
        (``n - 1`` when a row's own index is excluded).
    Y : array-like or torch.Tensor of shape (m, d), optional
        The queries. Default: ``X`` itself.
    exclude_self : bool, optional
        Whether query ``i`` may not return row ``i`` of ``X``. Default: True exactly when
        ``Y`` is ``X`` (omitted or the same object). Exclusion is by index: an exact
        duplicate of a row is still a valid neighbour at distance 0.
    rows : 1-D int array-like or tensor, optional
        The queries are these rows of ``X`` (instead of ``Y``), each with its own index
        excluded: imbalanced-learn's ``nn.fit(X).kneighbors(X[rows])[:, 1:]``, with the
        row itself (not an exact duplicate of it) left out. The engine decides whether
        a self-search of all rows is cheaper than searching these.
    backend : {"auto", "torch", "kdtree", "faiss", "faiss-flat", "faiss-ivf", "faiss-hnsw"}
        or a ``FaissFlat`` / ``FaissIVF`` / ``FaissHNSW`` object carrying index
        parameters. "torch", "kdtree" (scipy's cKDTree, the ``kdtree`` extra) and
        "faiss"/"faiss-flat" are exact; the IVF and HNSW indexes are approximate (the
        distances they return are still true distances). "auto": see the README.
    device : None, "auto", "cpu", "cuda", "cuda:N" or torch.device
        Where to compute. None/"auto": the device of ``X`` when it is a tensor, else
        CUDA when available, else the CPU.
    max_memory : int or str, optional
        Working memory the search may use besides its outputs, in bytes or as a string
        such as ``"512MiB"``. Default: 256 MiB on the CPU; on CUDA half the free memory.
    return_distance : bool
        Whether to return the distances too.

    Returns
    -------
    distances : torch.Tensor of shape (m, n_neighbors)
        True Euclidean distances, each row ascending; float64 for float64 input, else
        float32. Only when ``return_distance``.
    indices : torch.Tensor of shape (m, n_neighbors), int64
        Row indices into ``X``; equal distances are ordered by lower index.

    Notes
    -----
    Results are exact for the exact backends: candidates from rounded products are
    re-measured in float64 and certified against a bound on the rounding error; rows
    that cannot be certified (distance ties: duplicates, integer grids) are finished by
    measuring only the rows within the bound of their k-th distance. The products are
    float32 where a probe finds that enough, float64 (or float32 slices summed in
    float64, for wide rows) where the data need it. `collect_stats` reports what a
    search did.

    On the CPU a large self-search (``Y`` omitted or ``X`` itself; at least 32,768 rows
    of 32 or more features) computes each pair's distance once and offers it to both
    rows, half the products of a search for other queries; the neighbours are the same.

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.neighbors import kneighbors
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    >>> dist, ind = kneighbors(X, 2, device="cpu")
    >>> ind.tolist()
    [[1, 2], [0, 2], [0, 1], [2, 1]]
    >>> dist[0].tolist()
    [1.0, 2.0]
    """
    spec = resolve_backend(backend)
    data_device = X.device if isinstance(X, (torch.Tensor, SparseRows)) else None
    dev = resolve_device(device, data_device=data_device)
    k = check_int(n_neighbors, "n_neighbors", minimum=1)
    return_distance = check_bool(return_distance, "return_distance")
    if is_sparse(X) or (Y is not None and is_sparse(Y)):
        return _sparse(X, k, Y, rows, exclude_self, spec, dev, max_memory, return_distance)
    if rows is not None:
        if Y is not None or exclude_self is not None:
            raise ValueError(fmt_error("rows", "None when Y or exclude_self is given", rows))
        return _of_rows(X, k, rows, spec, dev, max_memory, return_distance)
    if exclude_self is None:
        exclude_self = Y is None or Y is X
    else:
        exclude_self = check_bool(exclude_self, "exclude_self")
    # integers stay integers (each tile is cast to float64): no float64 copy of X
    Xt = as_feature_tensor(X, "X", dev, integers=True)
    Yt = Xt if (Y is None or Y is X) else as_feature_tensor(Y, "Y", dev, integers=True)
    _check_queries(tuple(Xt.shape), tuple(Yt.shape), exclude_self, "an array")
    if Yt is not Xt and Yt.dtype != Xt.dtype:
        common = _common_dtype(Xt.dtype, Yt.dtype)
        Xt, Yt = Xt.to(common), Yt.to(common)
    budget = resolve_budget(max_memory, dev)
    n, m, d = Xt.shape[0], Yt.shape[0], Xt.shape[1]
    available = n - int(exclude_self)
    kc = _n_candidates(k, max(1, available))
    light = _light(spec, dev, n, m, d, kc, budget)
    with threads_for(light, dev):
        chunk = stream_rows(budget, d, max(n, m))
        check_finite(Xt, "X", chunk)
        if Yt is not Xt:
            check_finite(Yt, "Y", chunk)
    if k > available:
        what = "rows of X minus the query itself" if exclude_self else "rows of X"
        raise ValueError(
            fmt_error("n_neighbors", f"at most {available} (the number of {what})", n_neighbors)
        )
    phase("neighbour search")
    expect(m)
    # neighbours are not differentiable: keep autograd out
    with torch.no_grad():
        dist, ind, stats = _search_within_memory(
            Xt, Yt, k, exclude_self, budget, kc, spec, dev, light
        )
    for found in getattr(_collecting, "stack", ()):
        found.append(stats)
    return (dist, ind) if return_distance else ind


def _common_dtype(a: torch.dtype, b: torch.dtype) -> torch.dtype:
    """One dtype for database and queries: floats or integers promoted among themselves;
    integers beside floats in float64 (float32 would round integers above 2**24)."""
    if a.is_floating_point == b.is_floating_point:
        return torch.promote_types(a, b)
    return torch.float64


def _check_queries(X_shape, Y_shape, exclude_self: bool, like: str) -> None:
    """``Y`` has ``X``'s columns; ``exclude_self`` only when they have the same rows."""
    if Y_shape[1] != X_shape[1]:
        what = f"{like} with {X_shape[1]} feature columns like X"
        raise ValueError(fmt_error("Y", what, Y_shape))
    if exclude_self and Y_shape[0] != X_shape[0]:
        raise ValueError(
            fmt_error(
                "exclude_self",
                f"False when Y and X differ in rows ({Y_shape[0]} vs {X_shape[0]})",
                exclude_self,
            )
        )


def _row_indices(rows, n: int, dev) -> torch.Tensor:
    """``rows`` as a 1-D int64 tensor of indices in [0, n)."""
    own = torch.as_tensor(rows, device=dev)
    if own.ndim != 1 or own.is_floating_point() or own.is_complex() or own.dtype == torch.bool:
        raise TypeError(fmt_error("rows", "a 1-D array of row indices", tuple(own.shape)))
    own = own.to(torch.int64)
    if own.numel() and (int(own.min()) < 0 or int(own.max()) >= n):
        raise ValueError(fmt_error("rows", f"indices in [0, {n})", "out-of-range indices"))
    return own


def _sparse(X, k, Y, rows, exclude_self, spec, dev, max_memory, return_distance):
    """`kneighbors` on sparse rows (`_sparse`): the same contract, exact, in float64."""
    if spec not in ("auto", "torch"):
        raise ValueError(
            fmt_error("backend", '"auto" or "torch" for sparse input', getattr(spec, "name", spec))
        )
    Xs = as_sparse_rows(X, "X", dev)
    if rows is not None:
        if Y is not None or exclude_self is not None:
            raise ValueError(fmt_error("rows", "None when Y or exclude_self is given", rows))
        own = _row_indices(rows, Xs.shape[0], dev)
        Ys = None
    else:
        same = Y is None or Y is X
        exclude = same if exclude_self is None else check_bool(exclude_self, "exclude_self")
        if Y is None or Y is X:
            Ys = Xs
        elif is_sparse(Y):
            Ys = as_sparse_rows(Y, "Y", dev)
        else:
            dense = as_feature_tensor(Y, "Y", dev)
            Ys = as_sparse_rows(dense.to_sparse_csr(), "Y", dev)
        _check_queries(Xs.shape, Ys.shape, exclude, "a matrix")
        own = torch.arange(Xs.shape[0], device=dev) if exclude else None
        if exclude:
            Ys = None
    for name, part in (("X", Xs), ("Y", Ys)):
        if part is not None and not part.all_finite():
            raise ValueError(fmt_error(name, "finite (no NaN or infinity)", "non-finite values"))
    out_dtype = torch.float64 if Xs.dtype == torch.float64 else torch.float32
    budget = resolve_budget(max_memory, dev)
    with torch.no_grad():
        dist, ind, fields = sparse_kneighbors(
            Xs,
            k,
            Y=Ys,
            own=own,
            budget=budget,
            return_distance=return_distance,
            out_dtype=out_dtype,
        )
    stats = SearchStats(**fields, backend="torch-sparse", score_dtype="float64")
    stats.queries = fields["m"]
    for found in getattr(_collecting, "stack", ()):
        found.append(stats)
    return (dist, ind) if return_distance else ind


def _of_rows(X, k: int, rows, spec, dev, max_memory, return_distance: bool):
    """`kneighbors` with ``rows``: ``k + 1`` neighbours of each row, less its own index
    (or the farthest, where duplicates at distance 0 crowd it out). All rows search for
    themselves where the engine's self-search costs less than the rows asked for."""
    Xt = as_feature_tensor(X, "X", dev, integers=True)
    own = _row_indices(rows, Xt.shape[0], dev)
    n, m, d = Xt.shape[0], own.numel(), Xt.shape[1]
    if k > n - 1:
        raise ValueError(
            fmt_error("n_neighbors", f"at most {n - 1} (the number of rows of X minus the row)", k)
        )
    if m == 0:
        ind = torch.empty((0, k), dtype=torch.int64, device=dev)
        dist = torch.empty((0, k), dtype=compute_dtype(Xt.dtype), device=dev)
        return (dist, ind) if return_distance else ind
    search = {"backend": spec, "device": dev, "max_memory": max_memory}
    if self_search_pays(n, m, d, **search):
        dist, ind = kneighbors(Xt, k + 1, exclude_self=False, **search)
        dist, ind = dist[own], ind[own]
    else:
        dist, ind = kneighbors(Xt, k + 1, Y=Xt[own], exclude_self=False, **search)
    keep = without_own(ind, own)
    ind = ind.gather(1, keep).contiguous()
    return (dist.gather(1, keep).contiguous(), ind) if return_distance else ind


# Halving stops here: a search that runs out of memory with tiles planned for 1 MiB of
# working memory is out of memory for its inputs and outputs, not its tiles.
_OOM_FLOOR = 1 << 20


def _light(spec, dev, n: int, m: int, d: int, kc: int, budget: int) -> bool:
    """Whether the search's validation and set-up run on one CPU thread: a search below
    `SMALL_WORK` multiply-adds (an idle or contended thread pool costs more than such
    work), or one the KD-tree may take. The tree's queries run in their own threads, and
    torch's OpenMP threads spin for milliseconds after a parallel region: with them
    spinning the tree's two-thread queries on page_blocks0 took 10-14 ms, against 7 ms."""
    if dev.type != "cpu" or small_work(n, m, d) or spec == "kdtree":
        return True
    return spec == "auto" and tree_choice(dev, n, m, d, kc, budget) is not None


def _search_within_memory(Xt, Yt, k, exclude_self, budget, kc, spec, dev, light):
    """`_search`, retried with half the working memory (so half the tiles) when the
    device runs out of memory inside the engine, down to ``_OOM_FLOOR``; then the error
    is raised. The result does not depend on the tiles."""
    retried = False
    while True:
        if retried and dev.type == "cuda":
            torch.cuda.empty_cache()  # the failed attempt's tiles are released by now
        try:
            return _search(Xt, Yt, k, exclude_self, budget, kc, spec, dev, light)
        except torch.OutOfMemoryError:
            if budget // 2 < _OOM_FLOOR:
                raise
            logger.debug(
                "out of memory in a search with max_memory=%d bytes; retrying with %d",
                budget,
                budget // 2,
            )
        except ValueError as err:
            if not retried:  # the caller's own max_memory is too small: its message
                raise
            raise torch.OutOfMemoryError(
                f"out of memory in the neighbour search, and {budget:,} bytes of working "
                "memory is too little for one tile of it"
            ) from err
        budget //= 2
        retried = True


def _threads_used(spec: str, workers: int) -> int:
    """The CPU threads a search's candidates start on: the tree's own query threads, the
    one-thread workers of split tiles, or torch's threads."""
    if spec == "kdtree":
        return cpu_workers()
    return workers if workers > 1 else torch.get_num_threads()


def _search(Xt, Yt, k, exclude_self, budget, kc, spec, dev, light: bool):
    """Validated tensors in, ``(dist, ind, stats)`` out: choose the engine and the
    scores' precision (on one CPU thread where ``light``), then candidates, refine,
    certify, finish (on one thread for small work and for the tree, whose queries take
    `cpu_workers` threads of their own)."""
    # beside busy processes, on no more threads than the cores they leave free: torch's,
    # and the tree's query threads (a light search's set-up is on one thread already;
    # small work runs on one thread whatever the load)
    small = small_work(Xt.shape[0], Yt.shape[0], Xt.shape[1])
    with nullcontext() if small else load_cap(dev):
        with threads_for(light, dev):
            problem, spec, tree, stats = _choose(Xt, Yt, k, exclude_self, budget, kc, spec, dev)
        single = small_work(problem.n, problem.m, problem.d) or spec == "kdtree"
        with threads_for(single, dev):
            tiles, refine_rows, workers = _engine(problem, spec, dev, budget, kc, tree)
            if dev.type == "cpu":
                stats.threads = _threads_used(spec, workers)
            # the query tiles taken in turn by one-thread workers (`split_threads`)
            with split_threads(dev) if workers > 1 else nullcontext():
                dist, ind = finish(problem, tiles, refine_rows)
    return dist, ind, stats


def _choose(Xt, Yt, k, exclude_self, budget, kc, spec, dev):
    """``(problem, engine, built tree or None, stats)``: the engine and the scores'
    precision for this search."""
    n, m, d = Xt.shape[0], Yt.shape[0], Xt.shape[1]
    stats = SearchStats(n=n, m=m, d=d, k=k)
    problem = Problem(Xt, Yt, k, exclude_self, budget, kc, stats)
    probe = []  # the probe's answer, asked at most once
    # where the engine slices wide rows, float32 slice products summed in float64 are a
    # tier between float32 and float64 scores
    sliced_depth = SPLIT_DEPTH if dev.type == "cpu" and d >= SPLIT_MIN_DIM else 0

    def precision() -> str:
        if not probe:
            probe.append(score_precision(problem, sliced_depth))
        return probe[0]

    def float32_ok() -> bool:
        return precision() == "float32"

    auto = spec == "auto"
    tree = None
    if auto:
        spec = resolve_auto_backend(dev, n, m, d, budget)
        if isinstance(spec, FaissFlat) and not float32_ok():
            spec = "torch"  # faiss scores in float32 only, too coarse for this data
        choice = tree_choice(dev, n, m, d, kc, budget) if spec == "torch" else None
        if choice == "tree":
            spec = "kdtree"
        elif choice == "race":
            # before the probe: where the tree wins, the scores' precision is moot
            tree = race_tree(problem)
            spec = "kdtree" if tree is not None else spec
    if spec == "torch":
        _set_scores(problem, precision, dev)
    stats.backend = spec if isinstance(spec, str) else spec.name
    if spec == "torch":
        stats.score_dtype = "sliced" if problem.sliced else str(problem.cdtype).split(".")[-1]
        if problem.chain:
            stats.score_dtype = "chained"
    else:
        stats.score_dtype = "float64" if spec == "kdtree" else "float32"
    return problem, spec, tree, stats


def _set_scores(problem, precision, dev) -> None:
    """The torch engine's scores for ``problem``, from the probe's answer
    (``precision()``, asked only where it decides something): on the CPU float32
    chained over slices where the rows are wide (`_torch.product`), for float64 data
    too (its products cost twice float32's: 4,147 x 47 and 3,845 x 1,617 certify in
    float32, issue #28); float64 where float32 scores cannot separate the neighbours."""
    cpu = dev.type == "cpu"
    if problem.cdtype == torch.float64 and not cpu:
        return  # float64 data keeps float64 scores on CUDA (not measured there)
    answer = precision()
    if answer in ("float32", "chained"):  # "chained" is offered on the CPU only
        chain = chain_depth(problem.d, dev)
        if chain or problem.cdtype != torch.float32:
            problem.set_score_dtype(torch.float32, chain=chain)
    else:
        problem.set_score_dtype(torch.float64, sliced=answer == "sliced")


# Opt-in for now (issue #28): beside a busy process the split took TomekLinks' search
# on 3,845 x 1,617 from 2.1-2.2 s to 0.6-0.75 s, but quiet it cost 0.037 s against
# 0.025 s on 4,147 x 47 (BENCHMARKS.md, "Issue #28's shapes")
_SPLIT_ENV = "GPUSMOTE_SPLIT_TILES"


def split_workers(dev) -> int:
    """Workers for the CPU's query tiles (`_torch.in_workers`): torch's thread count
    where ``GPUSMOTE_SPLIT_TILES=1``, else 1 (torch's own threads in each operation)."""
    if dev.type != "cpu" or os.environ.get(_SPLIT_ENV, "") != "1":
        return 1
    return torch.get_num_threads()


def _engine(problem, spec, dev, budget: int, kc: int, tree):
    """``(tiles, refine_rows, workers)`` of backend ``spec`` for ``problem``; see
    `_exact.finish`. ``workers`` > 1: the CPU's whole-row query tiles are taken in turn
    by that many one-thread workers (the threads torch would have run each operation
    on), which the caller runs under `split_threads`."""
    n, m, d = problem.n, problem.m, problem.d
    itemsize = torch.finfo(problem.cdtype).bits // 8
    if spec == "torch":
        if problem.same:
            sym = plan_symmetric(n=n, d=d, kc=kc, itemsize=itemsize, device=dev, budget=budget)
            if sym is not None:
                return symmetric_candidates(problem, sym), sym.refine_rows, 1
        workers = split_workers(dev)
        plan = plan_torch(
            n=n, m=m, d=d, kc=kc, itemsize=itemsize, device=dev, budget=budget, workers=workers
        )
        workers = plan.workers if plan.depth == 0 else 1
        return torch_candidates(problem, plan), plan.refine_rows, workers
    # faiss and the tree hold their indexes and host copies outside the plan: refine in
    # a quarter
    refine_rows = plan_rows(budget // 4, refine_bytes(1, kc, d), 4096)
    if spec == "kdtree":
        return tree_candidates(problem, tree), refine_rows, 1
    return faiss_candidates(problem, spec), refine_rows, 1
