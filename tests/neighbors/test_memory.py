"""The engine's working memory stays within ``max_memory`` (outputs aside)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from gpusmote.neighbors import kneighbors


def _peak_torch_bytes(fn):
    """Peak of live torch CPU allocations made inside ``fn`` (from the profiler's memory events)."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
    events = sorted(
        (ev.start_ns(), ev.nbytes())
        for ev in prof.profiler.kineto_results.events()
        if ev.name() == "[memory]"
    )
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return peak, result


@pytest.mark.parametrize("budget", [1_000_000, 4 * 2**20])
@pytest.mark.parametrize("same", [True, False])
def test_working_memory_within_max_memory(budget, same):
    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.random((6_000, 24), dtype=np.float32))
    Y = None if same else torch.from_numpy(rng.random((2_000, 24), dtype=np.float32))
    kneighbors(X[:500], 5, max_memory=budget)  # warm-up outside the measurement
    peak, (dist, ind) = _peak_torch_bytes(lambda: kneighbors(X, 5, Y=Y, max_memory=budget))
    outputs = dist.nbytes + ind.nbytes
    assert peak - outputs <= budget, (peak, outputs, budget)
    assert peak - outputs > budget // 20  # the measurement sees the tiles at all


_PROBE = textwrap.dedent(
    """
    import numpy as np, torch
    from gpusmote.neighbors import kneighbors

    def status(key):
        with open("/proc/self/status") as f:
            line = next(l for l in f if l.startswith(key + ":"))
        return int(line.split()[1]) * 1024

    X = torch.from_numpy(np.random.default_rng(0).random((100_000, 32), dtype=np.float32))
    kneighbors(X[:3000], 5)  # load kernels and thread pools before measuring
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
    base = status("VmHWM")
    dist, ind = kneighbors(X, 5)
    print(status("VmHWM") - base, dist.nbytes + ind.nbytes)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_default_settings_peak_rss_100k_by_32():
    """The issue's bound, in a fresh process: peak RSS rises by <= 256 MiB + outputs."""
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    rise, outputs = map(int, out.stdout.split())
    assert rise <= 256 * 2**20 + outputs, rise


@pytest.mark.parametrize(
    "n,d,budget",
    [(300, 3072, 16 << 20), (200, 16_384, 64 << 20), (120, 50_000, 64 << 20)],
    ids=["d3072", "d16384", "d50000"],
)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "tenfold-duplicates"])
def test_working_memory_within_max_memory_on_wide_rows(n, d, budget, ties):
    """Embedding widths up to 50,000 features, with the tie finish too (every row ten
    times: all rows tie at distance 0 past the k-th): the probe, the float64 scores and
    the finish stay within ``max_memory``."""
    from gpusmote.datasets import make_dataset as make
    from gpusmote.neighbors import collect_stats

    X, _ = make("wide", n, d)
    if ties:
        X = np.repeat(X[: n // 10], 10, axis=0)
    X = torch.from_numpy(X)
    kneighbors(X[:20], 3, max_memory=budget)  # warm-up outside the measurement
    with collect_stats() as stats:
        peak, (dist, ind) = _peak_torch_bytes(lambda: kneighbors(X, 5, max_memory=budget))
    assert peak - (dist.nbytes + ind.nbytes) <= budget, (peak, budget)
    assert (stats[0].rechecked == n) if ties else (stats[0].rechecked == 0)


def test_cuda_tiles_override_the_plan_inside_the_block_only():
    from gpusmote.neighbors import cuda_tiles
    from gpusmote.neighbors._memory import plan_torch

    cuda = torch.device("cuda")  # planning only reads the device type

    def plan():
        return plan_torch(n=200_000, m=200_000, d=32, kc=8, itemsize=4, device=cuda, budget=2**34)

    before = plan()
    with cuda_tiles(1024, 4096, 32):
        inside = plan()
    assert (inside.query_tile, inside.db_tile, inside.group) == (1024, 4096, 32)
    assert plan() == before != inside
    with pytest.raises(ValueError, match="group"):
        with cuda_tiles(1024, 4096, 0):
            pass
