"""Beside busy processes a search runs on the cores they leave free (issue #28):
`_device.free_cores` reads the machine's runnable threads, `load_cap` holds torch to
that many threads, and the rows never depend on it."""

import os
import sys

import numpy as np
import pytest
import torch

import gpusmote
import gpusmote._device as device
import gpusmote.under_sampling
from gpusmote.datasets import make_dataset as make
from gpusmote.neighbors import _torch as engine
from gpusmote.neighbors import collect_stats, kneighbors

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _machine(monkeypatch, cores: int, usable: int, running, own):
    """A machine of ``cores`` whose readings of runnable threads come in turn from
    ``running`` (the machine's) and ``own`` (this process's thread ids); the pauses
    between readings are recorded, not slept."""
    running = iter(running if isinstance(running, list) else [running] * 3)
    own = iter(own if isinstance(own, list) else [own] * 6)
    pauses = []
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(usable)), raising=False)
    monkeypatch.setattr(device, "_runnable_now", lambda: next(running))
    monkeypatch.setattr(device, "_own_runnable", lambda: frozenset(next(own)))
    monkeypatch.setattr(device.time, "sleep", pauses.append)
    return pauses


def _reads(monkeypatch, free: int) -> None:
    """Every reading of the machine, at the start and between tiles, finds ``free``
    cores free."""
    monkeypatch.setattr(device, "free_cores", lambda: free)
    monkeypatch.setattr(device, "_other_runnable", lambda: 0)
    monkeypatch.setattr(device, "_free_beside", lambda others: free)


@pytest.mark.parametrize(
    "cores, usable, running, own, free",
    [
        (2, 2, 1, "a", 2),  # quiet: only this thread runs
        (2, 2, 3, "ab", 1),  # one busy process beside this process's two threads
        (2, 2, 4, "a", 1),  # more busy than cores: still one
        (8, 8, 5, "a", 4),
        (8, 2, 1, "a", 2),  # an affinity of two cores on a quiet machine of eight
        (8, 2, 8, "a", 1),
    ],
)
def test_free_cores_are_the_usable_ones_less_other_processes_runnable_threads(
    monkeypatch, cores, usable, running, own, free
):
    _machine(monkeypatch, cores, usable, running, own)
    assert device.free_cores() == free


def test_a_thread_of_its_own_that_stops_meanwhile_is_no_other_process(monkeypatch):
    """The machine counted two threads, one of them a spinning thread of this process
    that went to sleep before this process's were read: it is this process's still."""
    pauses = _machine(monkeypatch, 2, 2, running=[2], own=["ab", "a"])
    assert device.free_cores() == 2
    assert pauses == []  # one reading on a quiet machine


def test_a_short_lived_thread_does_not_take_a_core(monkeypatch):
    """Another process's thread runnable at the first reading only: the fewest count."""
    pauses = _machine(monkeypatch, 2, 2, running=[2, 1], own="a")
    assert device.free_cores() == 2
    assert pauses == [device._READING_PAUSES_S[0]]


def test_a_busy_process_shows_through_every_reading(monkeypatch):
    pauses = _machine(monkeypatch, 2, 2, running=[2, 2, 3], own="a")
    assert device.free_cores() == 1
    assert pauses == list(device._READING_PAUSES_S)
    assert sum(pauses) < 2e-3  # what a busy machine's reading costs


def test_free_cores_say_nothing_where_the_system_does_not(monkeypatch):
    monkeypatch.setattr(device, "_runnable_now", lambda: None)
    assert device.free_cores() is None
    monkeypatch.undo()
    monkeypatch.setattr(device, "_PROC_STAT", "/nonexistent/stat")
    assert device._runnable_now() is None
    assert device.free_cores() is None


@linux
def test_the_readings_of_this_machine_are_sane():
    assert device._runnable_now() >= 1
    assert str(os.getpid()).encode() in device._own_runnable()  # this thread runs
    assert 1 <= device.free_cores() <= (os.cpu_count() or 1)


def test_load_cap_holds_torch_to_the_free_cores_and_restores(monkeypatch, two_threads):
    monkeypatch.setattr(device, "free_cores", lambda: 1)
    with device.load_cap(torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    monkeypatch.setattr(device, "free_cores", lambda: 2)
    with device.load_cap(torch.device("cpu")):
        assert torch.get_num_threads() == 2
    monkeypatch.setattr(device, "free_cores", lambda: None)
    with device.load_cap(torch.device("cpu")):
        assert torch.get_num_threads() == 2


def test_load_cap_reads_nothing_where_there_is_one_thread_to_hold(monkeypatch, two_threads):
    """Inside a capped block (a sampler call's, around its searches), on one thread,
    and off the CPU the machine is not read."""
    reads = []
    monkeypatch.setattr(device, "free_cores", lambda: reads.append(1) or 1)
    with device.load_cap(torch.device("cpu")):
        with device.load_cap(torch.device("cpu")):
            assert torch.get_num_threads() == 1
    assert len(reads) == 1
    with device.load_cap(torch.device("meta")):
        pass
    assert len(reads) == 1


def _product_threads(monkeypatch) -> list:
    """The torch threads each of the engine's products runs on, as they run."""
    threads = []
    real = engine.product

    def spy(*args, **kwargs):
        threads.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "product", spy)
    return threads


@pytest.mark.parametrize("sampler", ["TomekLinks", "EditedNearestNeighbours", "SMOTE"])
def test_a_busy_machine_changes_threads_not_rows(monkeypatch, two_threads, sampler):
    """The same rows whether both cores are free or a busy process holds one; and beside
    it the engine's products ran on one thread."""
    X, y = make("heavy_tails", 3000, 300)
    cls = getattr(gpusmote, sampler, None) or getattr(gpusmote.under_sampling, sampler)
    kw = {"random_state": 0} if sampler == "SMOTE" else {}
    quiet = cls(device="cpu", **kw).fit_resample(X, y)
    threads = _product_threads(monkeypatch)
    _reads(monkeypatch, 1)
    busy = cls(device="cpu", **kw).fit_resample(X, y)
    assert threads and set(threads) == {1}
    np.testing.assert_array_equal(quiet[0], busy[0])
    np.testing.assert_array_equal(quiet[1], busy[1])
    assert torch.get_num_threads() == 2


def test_a_search_beside_a_busy_process_is_exact(monkeypatch, two_threads):
    """The same neighbours on the one free core, and its statistics say which."""
    X, _ = make("integers", 2500, 40)
    with collect_stats() as quiet:
        d0, i0 = kneighbors(X, 4, device="cpu", backend="torch")
    _reads(monkeypatch, 1)
    with collect_stats() as busy:
        d1, i1 = kneighbors(X, 4, device="cpu", backend="torch")
    assert torch.equal(i0, i1) and torch.equal(d0, d1)
    assert [s.threads for s in quiet] == [2] and [s.threads for s in busy] == [1]


def _search(kind: str, X, y):
    if kind == "kneighbors":
        return kneighbors(X, 3, device="cpu", backend="torch")
    return gpusmote.under_sampling.EditedNearestNeighbours(device="cpu").fit_resample(X, y)


@pytest.mark.parametrize("kind", ["kneighbors", "EditedNearestNeighbours"])
def test_a_misreading_at_the_start_costs_one_tile(monkeypatch, two_threads, kind):
    """The first reading finds one core free, those between the tiles two: the first
    tile runs on one thread, the others on two (in a sampler call, the call's own
    reading is read again), and the neighbours are the quiet machine's."""
    X, y = make("heavy_tails", 4147, 47)  # five query tiles
    quiet = _search(kind, X, y)
    monkeypatch.setattr(device, "_REREAD_S", 0.0)
    reads = iter([1])
    monkeypatch.setattr(device, "free_cores", lambda: next(reads, 2))
    monkeypatch.setattr(device, "_other_runnable", lambda: 0)
    monkeypatch.setattr(device, "_free_beside", lambda others: 2)
    threads = _product_threads(monkeypatch)
    again = _search(kind, X, y)
    assert threads[0] == 1 and len(threads) > 2 and set(threads[1:]) == {2}
    for a, b in zip(quiet, again, strict=True):
        assert torch.equal(torch.as_tensor(a), torch.as_tensor(b))
    assert torch.get_num_threads() == 2


def test_a_busy_process_that_starts_during_a_search_takes_a_core(monkeypatch, two_threads):
    """Quiet at the start; between the tiles one reading shows another process and
    `free_cores` confirms it: the tiles after it run on one thread."""
    X, _ = make("heavy_tails", 4147, 47)
    monkeypatch.setattr(device, "_REREAD_S", 0.0)
    reads = iter([2])
    confirmed = []
    monkeypatch.setattr(device, "free_cores", lambda: next(reads, None) or confirmed.append(1) or 1)
    monkeypatch.setattr(device, "_other_runnable", lambda: 1)
    monkeypatch.setattr(device, "_free_beside", lambda others: 2 - others)
    threads = _product_threads(monkeypatch)
    kneighbors(X, 3, device="cpu", backend="torch")
    assert threads[0] == 2 and len(threads) > 2 and set(threads[1:]) == {1}
    assert len(confirmed) == 1  # the lower count confirmed once, then kept on one reading
    assert torch.get_num_threads() == 2


def test_between_tiles_the_load_is_read_at_most_every_so_often(monkeypatch, two_threads):
    X, _ = make("heavy_tails", 4147, 47)
    readings = []
    monkeypatch.setattr(device, "_other_runnable", lambda: readings.append(1) or 0)
    monkeypatch.setattr(device, "_REREAD_S", 3600.0)
    kneighbors(X, 3, device="cpu", backend="torch")
    assert readings == []
    monkeypatch.setattr(device, "_REREAD_S", 0.0)
    kneighbors(X, 3, device="cpu", backend="torch")
    assert len(readings) >= 4  # before each tile after the first


def test_the_trees_queries_take_the_free_cores_too(monkeypatch, two_threads):
    """A search the KD-tree takes (its set-up on one torch thread) queries the tree in
    as many threads as cores are free: two quiet, one beside a busy process."""
    from gpusmote.neighbors import _tree

    X, _ = make("integers", 5000, 8)  # above the small work of one thread
    seen = []
    real = _tree.TreeIndex.query

    def spy(self, queries, k, workers=None):
        seen.append(device.cpu_workers() if workers is None else workers)
        return real(self, queries, k, workers)

    monkeypatch.setattr(_tree.TreeIndex, "query", spy)
    with collect_stats() as quiet:
        d0, i0 = kneighbors(X, 3, device="cpu", backend="kdtree")
    assert [s.threads for s in quiet] == [2] and set(seen) == {2}
    seen.clear()
    _reads(monkeypatch, 1)
    with collect_stats() as busy:
        d1, i1 = kneighbors(X, 3, device="cpu", backend="kdtree")
    assert [s.threads for s in busy] == [1] and set(seen) == {1}
    assert torch.equal(i0, i1) and torch.equal(d0, d1)


def test_a_call_that_runs_your_estimator_keeps_your_threads(monkeypatch, two_threads):
    """Their rows may depend on the thread count (scikit-learn's KMeans did), so the
    load does not change it: the user's two threads reach the estimator."""
    from sklearn.neighbors import NearestNeighbors

    seen = []

    class Spy(NearestNeighbors):
        def kneighbors(self, *args, **kwargs):
            seen.append(torch.get_num_threads())
            return super().kneighbors(*args, **kwargs)

    X, y = make("heavy_tails", 3000, 100)
    _reads(monkeypatch, 1)
    gpusmote.SMOTE(k_neighbors=Spy(n_neighbors=6), random_state=0).fit_resample(X, y)
    assert seen and set(seen) == {2}
