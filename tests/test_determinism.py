"""Same seed, same output: across runs, CPU thread counts, tile shapes and threads."""

import inspect
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from gpusmote import ADASYN, SMOTE, BorderlineSMOTE
from gpusmote.neighbors import kneighbors
from gpusmote.under_sampling import EditedNearestNeighbours, NearMiss, TomekLinks


def _data(seed=0, n=1500, d=8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, n // 8, replace=False)] = 1
    X[y == 1] += 0.7
    return X, y


SAMPLERS = {
    "SMOTE": lambda mem: SMOTE(random_state=0, device="cpu", max_memory=mem),
    "BorderlineSMOTE": lambda mem: BorderlineSMOTE(random_state=0, device="cpu", max_memory=mem),
    "ADASYN": lambda mem: ADASYN(random_state=0, device="cpu", max_memory=mem),
    "EditedNearestNeighbours": lambda mem: EditedNearestNeighbours(device="cpu", max_memory=mem),
    "TomekLinks": lambda mem: TomekLinks(device="cpu", max_memory=mem),
    "NearMiss": lambda mem: NearMiss(device="cpu", max_memory=mem),
}


def _run(name, X, y, mem=None):
    X_res, y_res = SAMPLERS[name](mem).fit_resample(X, y)
    return np.asarray(X_res), np.asarray(y_res)


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


class _threads:
    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_bit_identical_across_runs_threads_and_tile_shapes(name):
    X, y = _data()
    base = _run(name, X, y)
    assert _same(base, _run(name, X, y))
    with _threads(1):
        assert _same(base, _run(name, X, y)), "1 thread differs from the default"
    with _threads(2):
        assert _same(base, _run(name, X, y)), "2 threads differ from the default"
    for mem in ("600KiB", "4MiB", "1GiB"):  # from many small tiles to one block
        assert _same(base, _run(name, X, y, mem)), f"max_memory={mem} differs"


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_bit_identical_across_threads_where_the_ops_are_threaded(name, monkeypatch):
    """The one-thread rules (sampler calls on small inputs, searches of small work) kept
    off, on data big enough for torch to split its operations (40,000+ values): one and
    two threads give the same bits."""
    import gpusmote._device as device

    monkeypatch.setattr(device, "SMALL_INPUT", -1)
    monkeypatch.setattr(device, "SMALL_WORK", 0)
    X, y = _data(2, n=6000, d=8)
    with _threads(1):
        one = _run(name, X, y)
    with _threads(2):
        assert torch.get_num_threads() == 2
        assert _same(one, _run(name, X, y)), "2 threads differ from 1"


def test_neighbours_identical_across_threads_and_tile_shapes():
    X = torch.as_tensor(_data(1, n=2500, d=24)[0])
    base = kneighbors(X, 6, device="cpu")
    with _threads(1):
        one = kneighbors(X, 6, device="cpu")
    small = kneighbors(X, 6, device="cpu", max_memory="700KiB")
    for other in (one, small):
        assert torch.equal(base[0], other[0]) and torch.equal(base[1], other[1])


def test_estimators_run_concurrently_on_different_data():
    """Separate instances in separate threads at once give what they give alone: no
    shared mutable state (one instance per thread, as with scikit-learn)."""
    jobs = [(name, seed) for name in ("SMOTE", "TomekLinks", "ADASYN") for seed in (1, 2)]
    data = {seed: _data(seed) for seed in (1, 2)}
    alone = {(name, seed): _run(name, *data[seed]) for name, seed in jobs}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        together = list(pool.map(lambda job: _run(job[0], *data[job[1]]), jobs * 2))
    for job, result in zip(jobs * 2, together, strict=True):
        assert _same(alone[job], result), f"{job} differs when run beside others"


def test_kneighbors_concurrently():
    Xs = [torch.as_tensor(_data(s, n=1200, d=10)[0]) for s in range(4)]
    alone = [kneighbors(X, 5, device="cpu") for X in Xs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda X: kneighbors(X, 5, device="cpu"), Xs))
    for a, b in zip(alone, together, strict=True):
        assert torch.equal(a[1], b[1]) and torch.equal(a[0], b[0])


def _seeded_samplers():
    from .test_common import SAMPLERS as OVER
    from .under_sampling.test_common_under import UNDER

    return [S for S in OVER + UNDER if "random_state" in inspect.signature(S.__init__).parameters]


# their random_state reaches scikit-learn or a numpy RandomState: a Generator is refused
_NO_GENERATOR = {"CondensedNearestNeighbour", "OneSidedSelection", "InstanceHardnessThreshold"}


@pytest.mark.parametrize("Sampler", _seeded_samplers(), ids=lambda S: S.__name__)
def test_a_torch_generator_alone_decides_every_samplers_output(Sampler):
    """Given a torch.Generator, every draw comes from it: torch's global seed changes
    nothing (SVMSMOTE's Beta draw once came from the global generator)."""
    from .test_common import _data as common_data
    from .test_common import _make

    X, y = common_data()
    runs = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        sampler = _make(Sampler, random_state=torch.Generator().manual_seed(7), device="cpu")
        if Sampler.__name__ in _NO_GENERATOR:
            with pytest.raises(TypeError, match="`random_state` must be None, an int or a"):
                sampler.fit_resample(X, y)
            return
        runs.append([np.asarray(a) for a in sampler.fit_resample(X, y)])
    assert _same(runs[0], runs[1])
