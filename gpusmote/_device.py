"""Device resolution, dtype rules and default memory budgets."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

import torch

from ._validation import fmt_error, parse_memory
from .exceptions import InvalidParameterError

__all__ = [
    "resolve_device",
    "compute_dtype",
    "floating",
    "default_memory_budget",
    "resolve_budget",
    "one_thread",
    "thread_cap",
    "resolve_jobs",
    "threads_for",
    "split_threads",
    "small_input",
    "cpu_workers",
    "torch_threads",
    "free_cores",
    "load_cap",
    "reread_load",
    "SMALL_WORK",
    "small_work",
]

_CPU_DEFAULT_BUDGET = 256 * 1024**2
# Half of what the driver reports free: room for the caching allocator's slack and
# for whatever else the user's process allocates while the search runs.
_CUDA_FREE_FRACTION = 0.5


def resolve_device(device, *, data_device: torch.device | None = None, param: str = "device"):
    """Turn ``None``/``"auto"``/a name/a ``torch.device`` into a usable ``torch.device``.

    ``None`` and ``"auto"`` mean: where the data already is when it is a tensor, else
    CUDA when available, else the CPU.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        if data_device is not None:
            return data_device
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if isinstance(device, str):
        try:
            device = torch.device(device)
        except RuntimeError:
            raise InvalidParameterError(
                fmt_error(param, '"auto", "cpu", "cuda", "cuda:N" or a torch.device', device)
            ) from None
    if not isinstance(device, torch.device):
        raise InvalidParameterError(
            fmt_error(param, '"auto", "cpu", "cuda" or a torch.device', device)
        )
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"`{param}` is {str(device)!r} but CUDA is not available in this PyTorch build "
                f'or on this machine; use device="cpu" or device="auto".'
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InvalidParameterError(
                fmt_error(
                    param, f"a CUDA device index below {torch.cuda.device_count()}", str(device)
                )
            )
    elif device.type != "cpu":
        raise InvalidParameterError(fmt_error(param, '"auto", "cpu" or a CUDA device', str(device)))
    return device


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; float16/bfloat16/float32 compute in float32; integers and
    bools compute in float64, where their distances stay exact.

    Half-precision distances lose neighbour order after a few hundred features, so
    they are never computed in the input's own precision.
    """
    if dtype == torch.float64 or not dtype.is_floating_point:
        return torch.float64
    return torch.float32


def floating(t: torch.Tensor) -> torch.Tensor:
    """``t`` itself when it is floating, else its values in float64 (integer and bool
    rows, which `gpusmote._io` keeps as they are until they are computed with)."""
    return t if t.is_floating_point() else t.to(torch.float64)


def default_memory_budget(device: torch.device) -> int:
    """Bytes the neighbour engine may use for its working set when the user gives none."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free * _CUDA_FREE_FRACTION)
    return _CPU_DEFAULT_BUDGET


def resolve_budget(max_memory, device: torch.device) -> int:
    """``max_memory`` in bytes (int or string), or the device's default."""
    budget = parse_memory(max_memory, "max_memory")
    return default_memory_budget(device) if budget is None else budget


# Searches below this many multiply-adds (n x m x d; 134M, about 1 ms of float32 GEMM
# on one core) run on one intra-op thread: waking an idle thread pool, or one a busy
# neighbour process contends, cost more than the work (measurements: BENCHMARKS.md,
# "The engine's constants").
SMALL_WORK = 2**27
# Sampler calls (fit, fit_resample) on CPU inputs of at most this many values (rows x
# features; 8,000 x 32) run their own torch operations on one thread, their neighbour
# searches on the threads the search's size calls for (`threads_for`)
# (measurements: BENCHMARKS.md, "The engine's constants").
SMALL_INPUT = 2**18
_threads_lock = threading.Lock()
# The process-wide intra-op setting is derived from the blocks open now: one thread
# while a `one_thread` block is open and no `threads_for` block restored the count;
# otherwise the user's own setting (saved when the first block opened), lowered to
# the smallest ``n_jobs`` cap open (`thread_cap`). The last block to close restores
# the user's setting.
_threads_user: int | None = None  # the setting before the first open block
_threads_depth = 0  # open one_thread blocks
_threads_restored = 0  # open threads_for(False) blocks inside them
_threads_caps: list[int] = []  # open thread_cap blocks' counts
_threads_split = 0  # open split_threads blocks: their workers each run on one thread


def _threads_wanted() -> int:
    base = min([_threads_user, *_threads_caps])
    return 1 if _threads_split or (_threads_depth and not _threads_restored) else base


def _threads_open() -> None:
    global _threads_user
    if _threads_user is None:
        _threads_user = torch.get_num_threads()


def _threads_apply() -> None:
    """Set torch's count to what the open blocks want; after the last block closes,
    to the user's setting, which is then forgotten. Called holding the lock."""
    global _threads_user
    if _threads_user is None:
        return
    wanted = _threads_wanted()
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    if not (_threads_depth or _threads_restored or _threads_caps or _threads_split):
        _threads_user = None


@contextmanager
def one_thread(when: bool, device: torch.device):
    """Run the block on one CPU intra-op thread when ``when`` (and the device is the CPU).

    ``torch.set_num_threads`` is process-wide: nested and concurrent blocks count
    themselves, the first saves the setting and the last restores it. Only speed depends
    on it, never results (every reduction here is deterministic across thread counts).
    """
    global _threads_depth
    if device.type != "cpu" or not when:
        yield
        return
    with _threads_lock:
        _threads_open()
        _threads_depth += 1
        _threads_apply()
    try:
        yield
    finally:
        with _threads_lock:
            _threads_depth -= 1
            _threads_apply()


@contextmanager
def split_threads(device: torch.device):
    """Yield how many workers the block may run (the intra-op threads it would have had
    here, 1 off the CPU) while torch's own count is 1, so that each worker's operations
    run on the worker's thread. Work split into many pieces that the workers take in
    turn follows the CPU time each thread actually gets: beside a busy process, torch's
    parallel regions wait for the thread the process delays (issue #28)."""
    global _threads_split
    if device.type != "cpu":
        yield 1
        return
    with _threads_lock:
        _threads_open()
        workers = torch.get_num_threads()
        _threads_split += 1
        _threads_apply()
    try:
        yield workers
    finally:
        with _threads_lock:
            _threads_split -= 1
            _threads_apply()


@contextmanager
def threads_for(single: bool, device: torch.device):
    """One CPU intra-op thread for the block where ``single`` (`one_thread`); otherwise
    the block runs on the thread count that an open `one_thread` block saved (a large
    neighbour search inside a sampler call on a small input), within any open cap."""
    global _threads_restored
    if single:
        with one_thread(True, device):
            yield
        return
    with _threads_lock:
        restore = device.type == "cpu" and _threads_depth > 0
        if restore:
            _threads_restored += 1
            _threads_apply()
    try:
        yield
    finally:
        if restore:
            with _threads_lock:
                _threads_restored -= 1
                _threads_apply()


def resolve_jobs(n_jobs, param: str = "n_jobs") -> int | None:
    """``n_jobs`` as a thread count: None stays None (no limit), -1 is every core,
    -2 all but one (joblib's rule); 0 and non-integers are refused."""
    import numbers
    import os

    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise InvalidParameterError(fmt_error(param, "None or a non-zero int", n_jobs))
    if n_jobs == 0:
        raise InvalidParameterError(
            fmt_error(param, "None or a non-zero int (-1: every core)", n_jobs)
        )
    cores = os.cpu_count() or 1
    return int(n_jobs) if n_jobs > 0 else max(1, cores + 1 + int(n_jobs))


@contextmanager
def thread_cap(threads: int | None):
    """Run the block on at most ``threads`` CPU intra-op threads (a sampler's ``n_jobs``);
    None: no cap. Process-wide like `one_thread`: while caps of several threads' calls
    are open, the smallest holds; the last block to close restores the user's setting."""
    if threads is None:
        yield
        return
    with _threads_lock:
        _threads_open()
        _threads_caps.append(int(threads))
        _threads_apply()
    try:
        yield
    finally:
        with _threads_lock:
            _threads_caps.remove(int(threads))
            _threads_apply()


def small_work(n: int, m: int, d: int) -> bool:
    """Whether a search of ``m`` queries against ``n`` rows of ``d`` features is below
    `SMALL_WORK` multiply-adds: its engine runs on one CPU thread."""
    return n * m * d < SMALL_WORK


def small_input(X) -> bool:
    """Whether ``X`` is a CPU input of at most `SMALL_INPUT` values (by its ``shape``;
    False for what has none, and for tensors on an accelerator)."""
    if isinstance(X, torch.Tensor) and X.is_nested:  # no shape to read (refused later)
        return False
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        return False
    if isinstance(X, torch.Tensor) and X.device.type != "cpu":
        return False
    return int(shape[0]) * int(shape[1]) <= SMALL_INPUT


def cpu_workers() -> int:
    """Threads that work outside torch (the KD-tree's queries) may use: torch's thread
    count as it was before any `one_thread` block that is open now, within any cap."""
    with _threads_lock:
        if _threads_user is None:
            return max(1, torch.get_num_threads())
        return max(1, min([_threads_user, *_threads_caps]))


@contextmanager
def torch_threads(threads: int):
    """Run the block (a short measurement) at exactly ``threads`` intra-op threads. Holds
    the lock of `one_thread`'s bookkeeping throughout, so that no block opens or closes
    meanwhile and the setting found is the setting left."""
    with _threads_lock:
        saved = torch.get_num_threads()
        if saved != threads:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if saved != threads:
                torch.set_num_threads(saved)


# Beside a busy process, a parallel region runs at the pace of the thread that process
# delays: TomekLinks' search on 3,845 x 1,617 took 1.6 s on torch's two threads where
# one thread took 0.88 s and scikit-learn 0.65 s (issue #28; BENCHMARKS.md, "Issue
# #28's shapes"). So a call counts the cores that other processes' runnable threads
# leave free when it starts, and runs on no more threads than that.
_PROC_STAT = "/proc/stat"


def _runnable_now() -> int | None:
    """The machine's runnable threads now (``procs_running`` of /proc/stat, this
    thread included); None where the system does not say (not Linux)."""
    try:
        with open(_PROC_STAT, "rb") as f:
            for line in f:
                if line.startswith(b"procs_running "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _own_runnable() -> frozenset[bytes]:
    """The ids of this process's threads that are runnable now (state R of
    /proc/self/task/*/stat): itself, and the OpenMP and BLAS threads that spin for a
    while after a parallel region, which are no other process's load."""
    runnable = set()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return frozenset()
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        # the state follows the command name, which is in parentheses and may hold any byte
        state = stat.rfind(b")") + 2
        if stat[state : state + 1] == b"R":
            runnable.add(task.encode())
    return frozenset(runnable)


# A reading is taken again after a pause while it shows other processes' threads, and
# the fewest count. One reading misled on a quiet 2-core machine (2026-12-08, 4,147 x 47
# TomekLinks beside scikit-learn's): right after scikit-learn's call its spinning
# OpenMP threads went to sleep between the machine's count and this process's (15 of 48
# calls read one free core), and threads this process cannot see (other namespaces'
# agents, kernel workers) were runnable in 0.6 % of the instants, in spells of up to
# 5 ms (one in 12 over 1 ms). Each misreading ran the search on one thread, 1.6-1.9x
# slower. A busy process's threads stay runnable through every reading.
_READING_PAUSES_S = (2.5e-4, 1e-3)


def _other_runnable() -> int | None:
    """Other processes' runnable threads now: the machine's, less this process's
    threads runnable just before or just after the machine's count (a thread of its own
    that starts or stops meanwhile is never another's). None where the system does not
    say."""
    before = _own_runnable()
    running = _runnable_now()
    if running is None:
        return None
    return max(0, running - max(1, len(before | _own_runnable())))


def free_cores() -> int | None:
    """Cores that this process's threads may run on without waiting for another
    process's, at least 1: the cores it may use (its CPU affinity) less the fewest
    runnable threads of other processes over a reading and, while they show some, up to
    two more after the pauses of `_READING_PAUSES_S`. None where the system does not
    say. About 0.1 ms on a quiet machine, 1.7 ms beside busy ones; only speed depends on
    it, never results."""
    others = _other_runnable()
    for pause in _READING_PAUSES_S:
        if not others:  # 0, or None where the system does not say
            break
        time.sleep(pause)
        now = _other_runnable()
        others = None if now is None else min(others, now)
    return None if others is None else _free_beside(others)


def _free_beside(others: int) -> int:
    """The cores this process may use (its CPU affinity) that ``others`` runnable
    threads of other processes leave free, at least 1."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    machine = os.cpu_count() or usable
    return max(1, min(usable, machine - others))


# Between its tiles a search reads the load again (`reread_load`), at most every
# `_REREAD_S`: a misreading at the start costs one tile, not the search, and a search
# that outlasts a change (a training job starting or ending) follows it.
_REREAD_S = 0.005
_loads = threading.local()  # this thread's open load_cap blocks (`_Load`), innermost last


class _Load:
    """An open `load_cap` block: the threads it would run on unheld (``workers``) and
    the cap it holds now in `_threads_caps` (None: none)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.cap: int | None = None
        self.read_at = 0.0

    def hold(self, free: int | None) -> None:
        """Hold the block to ``free`` threads (None or at least ``workers``: no cap)."""
        self.read_at = time.perf_counter()
        cap = None if free is None or free >= self.workers else free
        if cap == self.cap:
            return
        with _threads_lock:
            if self.cap is None:
                _threads_open()
            else:
                _threads_caps.remove(self.cap)
            if cap is not None:
                _threads_caps.append(cap)
            self.cap = cap
            _threads_apply()

    def reread(self) -> None:
        """One reading; fewer threads than now only when `free_cores` confirms it."""
        others = _other_runnable()
        if others is None:
            return
        free = _free_beside(others)
        if free < (self.workers if self.cap is None else self.cap):
            free = free_cores()
        self.hold(free)


@contextmanager
def load_cap(device: torch.device):
    """Run the block (a search or a sampler call too large for one thread) on at most
    the `free_cores` found as it starts, and as found again between a search's tiles
    (`reread_load`); nothing changes on a quiet machine, off the CPU, or where the
    system does not say."""
    workers = cpu_workers() if device.type == "cpu" else 1
    if workers <= 1:  # nothing to hold
        yield
        return
    load = _Load(workers)
    load.hold(free_cores())
    stack = _loads.__dict__.setdefault("open", [])
    stack.append(load)
    try:
        yield
    finally:
        stack.pop()
        load.hold(None)


def reread_load() -> None:
    """Between a search's tiles: the innermost open `load_cap` block of this thread
    reads the load again, if `_REREAD_S` have passed since it last did (about 0.1 ms)."""
    stack = getattr(_loads, "open", None)
    if stack and time.perf_counter() - stack[-1].read_at >= _REREAD_S:
        stack[-1].reread()
