import logging

import numpy as np
import pytest
import torch

from gpusmote.neighbors import kneighbors
from gpusmote.neighbors._memory import plan_torch

from .reference import naive_kneighbors


def _to(X, device, dtype):
    return torch.as_tensor(X, dtype=dtype, device=device)


def _check_against_reference(X, k, device, dtype, Y=None, **kwargs):
    Xt = _to(X, device, dtype)
    Yt = None if Y is None else _to(Y, device, dtype)
    dist, ind = kneighbors(Xt, k, Y=Yt, **kwargs)
    # the reference sees exactly the values the engine saw
    ref_d, ref_i = naive_kneighbors(
        Xt.cpu().double().numpy(), k, None if Y is None else Yt.cpu().double().numpy()
    )
    assert ind.device.type == device.type and dist.device.type == device.type
    assert ind.dtype == torch.int64
    assert dist.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    np.testing.assert_array_equal(ind.cpu().numpy(), ref_i)
    rtol = 1e-12 if dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(dist.cpu().double().numpy(), ref_d, rtol=rtol, atol=0)
    return dist, ind


SHAPES = [  # (n, d, k): around the group size 64 and the tile edges forced below
    (2, 3, 1),
    (63, 4, 5),
    (64, 4, 5),
    (65, 3, 4),
    (129, 7, 9),
    (300, 17, 10),
    (257, 1, 5),  # d = 1
    (40, 4, 39),  # k = n - 1
]


@pytest.mark.parametrize("n,d,k", SHAPES)
def test_matches_reference(n, d, k, device, dtype):
    rng = np.random.default_rng(n * 31 + d)
    X = rng.normal(size=(n, d))
    _check_against_reference(X, k, device, dtype)


@pytest.mark.parametrize(
    "n,d,k,budget,cached",
    [
        (300, 17, 10, 30_000, False),
        (1000, 5, 6, 20_000, False),
        (257, 1, 5, 4_000, False),
        (257, 1, 5, 12_000, True),
    ],
)
def test_many_tiles_match_reference(n, d, k, budget, cached, device, dtype, monkeypatch):
    """A tiny max_memory forces many query and database tiles (and refine chunks)."""
    import gpusmote.neighbors._precision as precision

    # float32 data keeps float32 scores here, as at sizes the probe decides for
    monkeypatch.setattr(precision, "PROBE_MIN_WORK", 0)
    itemsize = 8 if dtype == torch.float64 else 4
    budget = budget * itemsize // 4
    plan = plan_torch(n=n, m=n, d=d, kc=k + 3, itemsize=itemsize, device=device, budget=budget)
    assert plan.query_tile < n and plan.db_tile < n and plan.cache_db == cached
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, d))
    _check_against_reference(X, k, device, dtype, max_memory=budget)


def test_tile_shapes_do_not_change_results(device, dtype):
    rng = np.random.default_rng(3)
    X = _to(rng.normal(size=(700, 6)), device, dtype)
    base = kneighbors(X, 7)
    for budget in (60_000, 300_000, "64MiB"):
        other = kneighbors(X, 7, max_memory=budget)
        assert torch.equal(base[0], other[0]) and torch.equal(base[1], other[1])


def test_duplicates_are_valid_neighbours(device, dtype):
    """Exclusion is by index: a row's exact duplicate is its neighbour at distance 0."""
    X = _to([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [0.0, 0.0], [1.0, 0.0]], device, dtype)
    dist, ind = kneighbors(X, 2)
    assert ind.tolist() == [[1, 3], [0, 3], [4, 0], [0, 1], [0, 1]]
    assert dist[:2, :].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    # imbalanced-learn's "drop the first column" would drop a duplicate, not the row itself
    _check_against_reference(
        np.repeat(np.random.default_rng(0).normal(size=(40, 3)), 4, axis=0), 6, device, dtype
    )


def test_ties_break_by_lower_index(device, dtype):
    """Integer grid: many equal distances, all ordered by index like the reference."""
    g = np.stack(np.meshgrid(np.arange(9), np.arange(9), np.arange(3)), -1).reshape(-1, 3)
    X = np.random.default_rng(1).permutation(g)
    _check_against_reference(X, 8, device, dtype)
    _check_against_reference(X, 8, device, dtype, max_memory=100_000)


def test_queries_other_than_x(device, dtype):
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(500, 8)), rng.normal(size=(77, 8))
    dist, ind = _check_against_reference(X, 6, device, dtype, Y=Y)
    # a query equal to a row of X finds it at distance 0: no exclusion for foreign queries
    _, ind2 = kneighbors(_to(X, device, dtype), 1, Y=_to(X[:5], device, dtype))
    assert ind2.ravel().tolist() == [0, 1, 2, 3, 4]


def test_exclude_self_with_explicit_y(device):
    rng = np.random.default_rng(2)
    X = torch.as_tensor(rng.normal(size=(50, 3)), device=device)
    a = kneighbors(X, 4)
    b = kneighbors(X, 4, Y=X.clone(), exclude_self=True)
    c = kneighbors(X, 4, Y=X, exclude_self=False)
    assert torch.equal(a[1], b[1])
    assert torch.equal(c[1][:, 0], torch.arange(50, device=device))


def test_cancellation_near_duplicates(device):
    """A large offset with tiny differences: |x|^2 - 2x.y + |y|^2 cancels in float32."""
    rng = np.random.default_rng(11)
    X = (1e4 + rng.normal(scale=1e-2, size=(400, 5))).astype(np.float32)
    _check_against_reference(X, 5, device, torch.float32)


@pytest.mark.parametrize("scale", [1e-30, 1e30])
def test_extreme_magnitudes(device, scale):
    rng = np.random.default_rng(12)
    X = (rng.normal(size=(200, 4)) * scale).astype(np.float32)
    dist, _ = _check_against_reference(X, 3, device, torch.float32)
    assert torch.isfinite(dist).all()


def test_reduced_precision_matmul_stays_exact(device):
    """With TF32/bfloat16 products allowed, the certificate re-checks what it must."""
    rng = np.random.default_rng(13)
    X = rng.normal(size=(400, 12)).astype(np.float32)
    old = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        _check_against_reference(X, 5, device, torch.float32)
    finally:
        torch.set_float32_matmul_precision(old)


def test_uncertain_rows_are_rechecked(device, caplog):
    # k = 3: the 3rd neighbour ties with the candidates kept beyond it -> recheck
    X = _to(np.repeat(np.arange(30.0)[:, None], 3, axis=0), device, torch.float32)
    with caplog.at_level(logging.DEBUG, logger="gpusmote.neighbors"):
        _check_against_reference(X.cpu().numpy(), 3, device, torch.float32)
    assert any("rechecked" in rec.message for rec in caplog.records)


@pytest.mark.parametrize("dt", [torch.float16, torch.bfloat16])
def test_half_precision_input_computes_in_float32(device, dt):
    rng = np.random.default_rng(4)
    X = torch.as_tensor(rng.normal(size=(120, 6)), dtype=dt, device=device)
    dist, ind = kneighbors(X, 4)
    assert dist.dtype == torch.float32
    ref_d, ref_i = naive_kneighbors(X.cpu().double().numpy(), 4)
    np.testing.assert_array_equal(ind.cpu().numpy(), ref_i)


def test_array_likes_and_integers():
    X = [[0, 0], [3, 4], [1, 1]]
    dist, ind = kneighbors(X, 1, device="cpu")
    assert dist.dtype == torch.float64  # integers are searched exactly in float64
    assert ind.ravel().tolist() == [2, 2, 0]
    assert dist[1, 0].item() == pytest.approx(np.hypot(2, 3))
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [0.0, 3.0, 1.0], "b": [0, 4, 1]})
    assert kneighbors(frame, 1, return_distance=False, device="cpu").ravel().tolist() == [2, 2, 0]


def test_inputs_are_not_modified(device):
    rng = np.random.default_rng(6)
    Xn = (5 + rng.normal(size=(90, 4))).astype(np.float32)
    Xn_copy = Xn.copy()
    Xt = torch.as_tensor(Xn_copy.copy(), device=device)
    Xt_copy = Xt.clone()
    Y = torch.as_tensor(rng.normal(size=(9, 4)).astype(np.float32), device=device)
    Y_copy = Y.clone()
    kneighbors(Xn, 3, device=device)
    kneighbors(Xt, 3, Y=Y, max_memory=50_000)
    kneighbors(Xt, 3, backend="torch", max_memory=50_000)
    np.testing.assert_array_equal(Xn, Xn_copy)
    assert torch.equal(Xt, Xt_copy) and torch.equal(Y, Y_copy)


def test_inputs_that_require_grad_give_plain_outputs(device):
    X = torch.randn(40, 3, device=device, requires_grad=True)
    dist, ind = kneighbors(X, 3)
    assert dist.grad_fn is None and not dist.requires_grad
    assert X.grad is None


def test_return_distance_false(device):
    X = torch.randn(30, 3, device=device)
    ind = kneighbors(X, 2, return_distance=False)
    assert isinstance(ind, torch.Tensor) and ind.shape == (30, 2)


@pytest.mark.cuda
def test_cuda_results_match_cpu():
    rng = np.random.default_rng(8)
    X = torch.as_tensor(rng.normal(size=(3000, 32)).astype(np.float32))
    d_cpu, i_cpu = kneighbors(X, 5, device="cpu")
    d_gpu, i_gpu = kneighbors(X.cuda(), 5)
    assert i_gpu.is_cuda
    assert torch.equal(i_cpu, i_gpu.cpu())
    torch.testing.assert_close(d_cpu, d_gpu.cpu(), rtol=1e-6, atol=0)


@pytest.mark.parametrize("whole", [False, True], ids=["queried", "self-search"])
def test_rows_of_x_exclude_each_rows_own_index(device, whole, monkeypatch):
    """``rows=``: the queries are rows of X, each without its own index (an exact
    duplicate of it stays, at distance 0), whichever way the engine searches."""
    import gpusmote.neighbors._api as api

    monkeypatch.setattr(api, "self_search_pays", lambda *a, **kw: whole)
    rng = np.random.default_rng(3)
    X = rng.integers(0, 4, size=(120, 3)).astype(np.float64)  # many duplicates and ties
    rows = np.array([5, 0, 119, 5, 60])
    dist, ind = kneighbors(X, 4, rows=rows, device=device)
    full_d, full_i = naive_kneighbors(X, 119, exclude_self=True)
    np.testing.assert_array_equal(ind.cpu().numpy(), full_i[rows, :4])
    np.testing.assert_allclose(dist.cpu().numpy(), full_d[rows, :4], rtol=1e-12, atol=0)
    assert (ind.cpu().numpy() != rows[:, None]).all()


def test_rows_of_x_checks_its_arguments():
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match="rows"):
        kneighbors(X, 2, rows=[0], Y=X)
    with pytest.raises(ValueError, match="rows"):
        kneighbors(X, 2, rows=[7])
    with pytest.raises(TypeError, match="rows"):
        kneighbors(X, 2, rows=[0.5])
    with pytest.raises(ValueError, match="n_neighbors"):
        kneighbors(X, 6, rows=[0])
    ind = kneighbors(X, 2, rows=np.zeros(0, dtype=int), return_distance=False)
    assert tuple(ind.shape) == (0, 2)
