"""The CPU self-search that computes each distance block once for both of its sides."""

import numpy as np
import pytest
import torch

import gpusmote.neighbors._api as api
import gpusmote.neighbors._memory as memory
import gpusmote.neighbors._torch as engine
from gpusmote.neighbors import kneighbors
from gpusmote.neighbors._backend import self_search_pays
from gpusmote.neighbors._memory import plan_symmetric

from .reference import naive_kneighbors

CPU = torch.device("cpu")


def _exact(X, k, dtype, **kwargs):
    Xt = torch.as_tensor(X, dtype=dtype)
    exclude = kwargs.pop("exclude_self", None)
    if exclude is False:
        kwargs.update(Y=Xt, exclude_self=False)
    dist, ind = kneighbors(Xt, k, device="cpu", **{"backend": "torch", **kwargs})
    ref_d, ref_i = naive_kneighbors(Xt.double().numpy(), k, exclude_self=exclude is not False)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    rtol = 1e-12 if dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(dist.double().numpy(), ref_d, rtol=rtol, atol=0)
    return dist, ind


@pytest.fixture
def small(monkeypatch):
    """Take the symmetric path from a few hundred rows (by default it starts where it
    pays, at 32,768 rows of 32 features)."""
    monkeypatch.setattr(memory, "SYMMETRIC_MIN_ROWS", 0)
    monkeypatch.setattr(memory, "SYMMETRIC_MIN_DIM", 1)


@pytest.fixture
def counted(monkeypatch, small):
    """Count symmetric searches, so that a test knows it ran that path."""
    calls = []
    original = engine.symmetric_candidates

    def spy(P, plan):
        calls.append(plan)
        yield from original(P, plan)

    monkeypatch.setattr(api, "symmetric_candidates", spy)
    return calls


def test_default_sizes_where_it_pays():
    budget = 256 << 20
    assert plan_symmetric(n=40_000, d=32, kc=4, itemsize=4, device=CPU, budget=budget)
    assert plan_symmetric(n=40_000, d=16, kc=4, itemsize=4, device=CPU, budget=budget) is None
    assert plan_symmetric(n=20_000, d=64, kc=4, itemsize=4, device=CPU, budget=budget) is None
    # and from fewer rows where they are wide (issue #28: 3,845 x 1,617)
    assert plan_symmetric(n=3072, d=256, kc=4, itemsize=4, device=CPU, budget=budget)
    assert plan_symmetric(n=3071, d=256, kc=4, itemsize=4, device=CPU, budget=budget) is None
    assert plan_symmetric(n=20_000, d=256, kc=4, itemsize=4, device=CPU, budget=budget)
    assert plan_symmetric(n=20_000, d=255, kc=4, itemsize=4, device=CPU, budget=budget) is None
    assert plan_symmetric(n=3072, d=255, kc=4, itemsize=4, device=CPU, budget=budget) is None


def test_plan_only_for_cpu_self_searches_that_fit(small):
    plan = plan_symmetric(n=3000, d=8, kc=8, itemsize=4, device=CPU, budget=256 << 20)
    assert plan is not None and plan.query_tile % 64 == 0 and plan.db_tile >= plan.query_tile
    cuda = torch.device("cuda")
    assert plan_symmetric(n=3000, d=8, kc=8, itemsize=4, device=cuda, budget=256 << 20) is None
    assert plan_symmetric(n=100, d=8, kc=8, itemsize=4, device=CPU, budget=256 << 20) is None
    # the database and the running candidates must fit in half the budget
    assert plan_symmetric(n=3000, d=8, kc=8, itemsize=4, device=CPU, budget=200_000) is None


@pytest.mark.parametrize(
    "n,d,k,exclude_self,budget",
    [
        (3000, 8, 5, True, None),  # three chunks of 1024 rows
        (2500, 3, 10, False, None),  # each row its own first neighbour
        (1500, 2, 7, True, 2_000_000),  # a small budget: small chunks, many blocks
        (700, 32, 1, True, None),
        (1000, 4, 300, True, None),  # more candidates than a chunk has rows: dense selection
    ],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_symmetric_search_is_exact(n, d, k, exclude_self, budget, dtype, counted):
    X = np.random.default_rng(n + d).normal(size=(n, d))
    _exact(X, k, dtype, exclude_self=exclude_self, max_memory=budget)
    assert counted, "the symmetric path did not run"
    if budget is not None:
        assert counted[0].query_tile < 1024


def test_dense_fallback_is_exact(monkeypatch, counted):
    """Blocks where too many groups beat the bounds go through the dense selection."""
    monkeypatch.setattr(engine, "_sparse", lambda *a, **kw: False)
    X = np.random.default_rng(0).normal(size=(2100, 5))
    _exact(X, 6, torch.float32)
    assert counted


def test_ties_and_duplicates(counted):
    grid = np.stack(np.meshgrid(np.arange(9), np.arange(9), np.arange(9)), -1).reshape(-1, 3)
    X = np.random.default_rng(1).permutation(np.r_[grid, grid[:200]])  # exact duplicates too
    _exact(X.astype(np.float64), 8, torch.float32)
    _exact(X.astype(np.float64), 8, torch.float64, max_memory=2_000_000)
    assert len(counted) == 2


def test_same_result_as_one_sided_search(monkeypatch, small):
    X = torch.as_tensor(np.random.default_rng(2).normal(size=(2600, 16)), dtype=torch.float32)
    sym = kneighbors(X, 5, device="cpu")
    monkeypatch.setattr(api, "plan_symmetric", lambda **kw: None)
    one_sided = kneighbors(X, 5, device="cpu")
    assert torch.equal(sym[1], one_sided[1]) and torch.equal(sym[0], one_sided[0])


def test_self_search_pays_on_cpu_for_most_rows(small):
    assert self_search_pays(1000, 600, 8, backend="auto", device="cpu", max_memory=None)
    assert not self_search_pays(1000, 400, 8, backend="auto", device="cpu", max_memory=None)
    assert not self_search_pays(1000, 600, 8, backend="faiss", device="cpu", max_memory=None)


def test_default_self_search_pays_only_where_symmetric():
    assert not self_search_pays(1000, 900, 8, backend="auto", device="cpu", max_memory=None)
    assert self_search_pays(40_000, 36_000, 32, backend="torch", device="cpu", max_memory=None)


def test_cleaning_through_the_self_search_keeps_imbalanced_learns_rows(counted):
    """ENN asks for most rows: it searches all of them once (symmetric) and keeps its own."""
    imblearn = pytest.importorskip("imblearn.under_sampling")
    from gpusmote.under_sampling import EditedNearestNeighbours, TomekLinks

    rng = np.random.default_rng(4)
    X = rng.normal(size=(1500, 6))
    y = (rng.random(1500) < 0.2).astype(int)
    X[y == 1] += 0.8
    # the torch engine: auto may race a KD-tree at 6 features
    ours = EditedNearestNeighbours(device="cpu", backend="torch").fit(X, y)
    ours.fit_resample(X, y)
    theirs = imblearn.EditedNearestNeighbours().fit(X, y)
    theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    t_ours, t_theirs = TomekLinks(device="cpu", backend="torch"), imblearn.TomekLinks()
    t_ours.fit_resample(X, y)
    t_theirs.fit_resample(X, y)
    np.testing.assert_array_equal(t_ours.sample_indices_, t_theirs.sample_indices_)
    assert len(counted) >= 2
