"""The opt-in split of the CPU's query tiles between one-thread workers
(``GPUSMOTE_SPLIT_TILES=1``, issue #28): the same neighbours and distances as the
default path, the working memory within ``max_memory``, torch's thread count restored."""

import numpy as np
import pytest
import torch

from gpusmote._device import split_threads
from gpusmote.neighbors import _torch, collect_stats, kneighbors
from gpusmote.neighbors._api import split_workers
from tests.neighbors.test_memory import _peak_torch_bytes


def _cases():
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((1500, 300)).astype(np.float32)
    ints = rng.integers(0, 4, (4000, 12)).astype(np.int16)  # ties everywhere
    tails = (rng.standard_t(2, (3000, 20)) * 1e3).astype(np.float64)
    return {
        "wide-f32": (wide, None, {}),
        "ints-ties": (ints, None, {}),
        "tails-f64-Y": (tails, tails[::-1] + 0.5, {}),
        "tails-f64-small-budget": (tails, None, {"max_memory": 1 << 20}),
    }


@pytest.mark.parametrize("name", list(_cases()))
@pytest.mark.parametrize("k", [1, 5])
def test_split_gives_the_default_paths_neighbours(name, k, monkeypatch, two_threads):
    X, Y, kw = _cases()[name]
    dist, ind = kneighbors(X, k, Y=Y, device="cpu", backend="torch", **kw)
    monkeypatch.setenv("GPUSMOTE_SPLIT_TILES", "1")
    assert split_workers(torch.device("cpu")) == 2
    used = []
    real = _torch.in_workers

    def counted(tile, starts, buffers, workers):
        used.append((workers, len(starts)))
        return real(tile, starts, buffers, workers)

    monkeypatch.setattr(_torch, "in_workers", counted)
    with collect_stats() as stats:
        dist_s, ind_s = kneighbors(X, k, Y=Y, device="cpu", backend="torch", **kw)
    assert stats[0].backend == "torch"
    # the query tiles went to two workers, more than one tile each
    assert any(w == 2 and tiles > 2 for w, tiles in used), used
    torch.testing.assert_close(dist_s, dist, rtol=0, atol=0)
    assert torch.equal(ind_s, ind)
    assert torch.get_num_threads() == 2


def test_split_working_memory_within_max_memory(monkeypatch, two_threads):
    """Each worker's step is planned: two steps fit the budget together."""
    rng = np.random.default_rng(1)
    X = torch.from_numpy(rng.random((6_000, 24), dtype=np.float32))
    Y = torch.from_numpy(rng.random((2_000, 24), dtype=np.float32))
    budget = 4 << 20
    monkeypatch.setenv("GPUSMOTE_SPLIT_TILES", "1")
    kneighbors(X[:500], 5, Y=Y[:100], max_memory=budget)  # warm-up: threads, kernels
    peak, (dist, ind) = _peak_torch_bytes(lambda: kneighbors(X, 5, Y=Y, max_memory=budget))
    assert peak - (dist.nbytes + ind.nbytes) <= budget, peak


def test_split_threads_runs_torch_on_one_thread_and_restores(two_threads, monkeypatch):
    monkeypatch.delenv("GPUSMOTE_SPLIT_TILES", raising=False)
    cpu = torch.device("cpu")
    with split_threads(cpu) as workers:
        assert workers == 2
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with split_threads(torch.device("meta")) as workers:  # not the CPU: no split
        assert workers == 1
    assert split_workers(cpu) == 1  # opt-in only
