"""The exact engine on data shaped like real tables: wide columns beside narrow ones,
integer features, duplicates, heavy tails, a large offset, embedding widths.

Every backend must give the float64 reference's neighbours (ties by lower index), and
the rows it rechecks must be few: the genuine ties (k-th and kc-th distances equal),
not every row of a table with one wide column.
"""

import numpy as np
import pytest
import torch

from gpusmote.datasets import GENERATORS, load
from gpusmote.datasets import make_dataset as make
from gpusmote.neighbors import SearchStats, collect_stats, kneighbors
from gpusmote.neighbors._api import _n_candidates

from .reference import chunked_kneighbors

BACKENDS = ["torch", "kdtree", pytest.param("faiss", marks=pytest.mark.faiss), "auto"]
SIZES = {  # small enough for the reference, large enough for several tiles
    "creditcard": (3000, 30),
    "integers": (2500, 6),
    "duplicates": (2500, 8),
    "heavy_tails": (2500, 8),
    "offset": (2500, 8),
    "wide": (600, 768),
}


_REFERENCE = {}


def _reference(X, k):
    """The float64 reference's kc nearest (kc as the engine's), computed once per data."""
    kc = _n_candidates(k, X.shape[0] - 1)
    X64 = np.asarray(X, dtype=np.float64)
    key = (X64.tobytes(), X64.shape, kc)
    if key not in _REFERENCE:
        _REFERENCE.clear()  # one data set at a time
        _REFERENCE[key] = chunked_kneighbors(X64, kc)
    return _REFERENCE[key]


def _exact(X, k, backend, dtype=torch.float32, **kwargs):
    if backend == "faiss":
        pytest.importorskip("faiss")
    Xt = torch.as_tensor(X, dtype=dtype)
    with collect_stats() as stats:
        dist, ind = kneighbors(Xt, k, backend=backend, device="cpu", **kwargs)
    ref_d, ref_i = _reference(Xt.double().numpy(), k)
    np.testing.assert_array_equal(ind.numpy(), ref_i[:, :k])
    # float32 output: the float64 distance rounded once
    rtol = 1e-12 if dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(dist.double().numpy(), ref_d[:, :k], rtol=rtol, atol=0)
    return stats[-1]


def _genuine_ties(X, k):
    """Rows whose k-th nearest distance equals their last candidate's (the kc-th): no
    bound can certify their candidates, whatever the precision."""
    d, _ = _reference(X, k)
    return int((d[:, -1] == d[:, k - 1]).sum())


def test_the_generators_are_named_seeded_and_shaped():
    assert set(GENERATORS) == set(SIZES)
    for name, (n, d) in SIZES.items():
        X, y = make(name, n, d)
        X2, y2 = make(name, n, d)
        assert X.shape == (n, d) and y.shape == (n,) and X.dtype == np.float32
        assert np.array_equal(X, X2) and np.array_equal(y, y2)
        assert 0 < y.sum() < n / 4
    X, _ = make("creditcard", 5000)
    assert X[:, -2].max() > 1e5 and (X[:, -2] == np.round(X[:, -2])).all()  # Time: seconds
    assert X[:, -1].max() > 1e3  # Amount
    X, _ = make("duplicates", 1000)
    assert len(np.unique(X, axis=0)) == 600


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(SIZES))
def test_exact_on_every_generator(name, backend):
    n, d = SIZES[name]
    X, _ = make(name, n, d)
    stats = _exact(X, 5, backend)
    assert stats.queries == n
    ties = _genuine_ties(X, 5)
    assert stats.rechecked >= ties
    if stats.score_dtype == "float64":  # then only the genuine ties, on any machine
        assert stats.rechecked == ties, (stats, ties)


@pytest.mark.parametrize("name", ["abalone19", "page_blocks0"])
def test_exact_on_the_bundled_datasets(name):
    X = np.asarray(load(name).data, dtype=np.float32)
    for backend in ("torch", "kdtree", "auto", "faiss"):
        stats = _exact(X, 5, backend)
        if backend != "faiss":  # faiss scores in float32 whatever the data needs
            assert stats.rechecked <= max(_genuine_ties(X, 5), 0.01 * len(X))


def test_float64_input_on_every_generator():
    """float64 data takes float32 scores where the probe finds they certify (their
    products cost half float64's, issue #28): still the float64 reference's neighbours,
    and few rows rechecked beyond the genuine ties."""
    for name, (n, d) in SIZES.items():
        X, _ = make(name, min(n, 1500), d)
        stats = _exact(X, 3, "torch", dtype=torch.float64)
        ties = _genuine_ties(X, 3)
        assert stats.score_dtype in ("float32", "chained", "float64")
        if stats.score_dtype == "float64":
            assert stats.rechecked == ties
        assert ties <= stats.rechecked <= ties + 0.01 * len(X), (name, stats, ties)


@pytest.mark.parametrize("d", [12, 300])
def test_float64_data_is_centred_before_its_float32_scores(d):
    """Values near 1e6 that differ in their last float32 bits and beyond: rounded to
    float32 first, each would move by up to 0.03, as far as the neighbours lie apart, and
    the certificate (which bounds the rounding of centred values) would pass wrong rows.
    Centred in float64 and rounded once, the float32 scores certify and are exact."""
    rng = np.random.default_rng(3)
    X = 1e6 + rng.normal(size=(1500, d)) * (0.05 / np.sqrt(d))
    stats = _exact(X, 3, "torch", dtype=torch.float64)
    assert stats.score_dtype == ("float32" if d < 254 else "chained")
    assert stats.rechecked <= 0.01 * len(X)


def test_integers_far_from_zero_are_centred_before_their_float32_scores():
    """int64 values near 1e9 (timestamps, identifiers) a few units apart: float32 holds
    them to 64 units only, so rounded first they gave 2,041 wrong neighbours of 4,500."""
    rng = np.random.default_rng(0)
    X = 1_000_000_000 + rng.integers(0, 40, size=(1500, 12))
    with collect_stats() as stats:
        dist, ind = kneighbors(X, 3, device="cpu", backend="torch")
    ref_d, ref_i = chunked_kneighbors(X.astype(np.float64), 3)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.numpy(), ref_d, rtol=1e-12, atol=0)
    assert stats[-1].score_dtype in ("float32", "float64")


def test_scores_in_float64_where_one_wide_column_needs_them():
    """A credit-card-shaped table (seconds and amounts beside unit-scale columns): float32
    products cannot separate neighbours, and it once rechecked 19,536 of 20,000 rows.
    Now the scores are float64 and nothing but genuine ties is rechecked."""
    X, _ = make("creditcard", 3000)
    stats = _exact(X, 3, "torch")
    assert stats.score_dtype == "float64"
    assert stats.rechecked == _genuine_ties(X, 3) == 0


def test_scores_stay_float32_where_they_certify():
    X = np.random.default_rng(0).normal(size=(3000, 16)).astype(np.float32)
    stats = _exact(X, 5, "torch")
    assert stats.score_dtype == "float32" and stats.rechecked == 0
    # heavy tails: a few far outliers no longer coarsen every row's bound
    X, _ = make("heavy_tails", 3000, 16)
    stats = _exact(X, 5, "torch")
    assert stats.rechecked <= 0.01 * len(X)


@pytest.mark.parametrize("queries", [100, 200])
def test_few_queries_take_float64_scores_without_a_probe(queries):
    """Under 128 queries the probe (32 of them) would cost more than float32 scores
    could save: float64 straight away, still exact. From 128 the probe decides."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 16)).astype(np.float32)
    Y = rng.normal(size=(queries, 16)).astype(np.float32)
    with collect_stats() as stats:
        dist, ind = kneighbors(X, 5, Y=Y, backend="torch", device="cpu")
    assert stats[0].score_dtype == ("float64" if queries < 128 else "float32")
    ref_d, ref_i = chunked_kneighbors(X, 5, Y=Y)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.numpy(), ref_d, rtol=1e-6, atol=0)


def test_duplicates_are_finished_without_sorting_rows():
    """40 % duplicate rows: the rows whose k-th and kc-th distances tie are rechecked, and
    their tie finish measures only the rows within the rounding bound of the k-th."""
    X, _ = make("duplicates", 3000, 8)
    stats = _exact(X, 5, "torch")
    ties = _genuine_ties(X, 5)
    assert 0 < ties <= stats.rechecked <= ties + 0.01 * len(X)
    assert stats.tie_candidates < 20 * stats.rechecked  # not whole rows (3,000 each)


def test_a_grid_where_every_row_ties():
    """An integer grid: each inner row has four neighbours at distance 1 and four at
    sqrt(2), so with k = 5 the k-th and the last candidate tie; the lower indices win."""
    g = np.stack(np.meshgrid(np.arange(40), np.arange(40)), -1).reshape(-1, 2)
    for backend in ("torch", "kdtree"):
        stats = _exact(g.astype(np.float32), 5, backend)
        assert stats.rechecked == _genuine_ties(g, 5) > 1000


def test_collect_stats_is_per_thread_nested_and_sees_samplers():
    from gpusmote import SMOTE

    X, y = make("creditcard", 3000)
    y[:40] = 1  # a minority of 45 or so rows
    with collect_stats() as outer:
        with collect_stats() as inner:
            kneighbors(X, 2, device="cpu")
        SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    assert len(inner) == 1 and len(outer) == 2
    assert all(isinstance(s, SearchStats) for s in outer)
    assert outer[1].n == int((y == 1).sum()) and outer[1].k == 5
    kneighbors(X[:100], 2, device="cpu")  # outside: collected nowhere
    assert len(outer) == 2


def test_kdtree_backend_needs_scipy(monkeypatch):
    import gpusmote.neighbors._tree as tree

    def missing():
        raise ModuleNotFoundError(
            'backend="kdtree" needs scipy: pip install "gpusmote[kdtree]"; or use ...'
        )

    monkeypatch.setattr(tree, "import_scipy_spatial", missing)
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ModuleNotFoundError, match=r"gpusmote\[kdtree\]"):
        kneighbors(X, 2, backend="kdtree", device="cpu")
    # auto never needs it
    assert kneighbors(X, 2, device="cpu")[1].shape == (50, 2)


def test_kdtree_with_other_queries_and_float64():
    rng = np.random.default_rng(3)
    X = np.round(rng.normal(size=(800, 3)), 1)
    Y = np.round(rng.normal(size=(300, 3)), 1)
    d_t, i_t = kneighbors(X, 4, Y=Y, backend="kdtree", device="cpu")
    ref_d, ref_i = chunked_kneighbors(X, 4, Y=Y)
    np.testing.assert_array_equal(i_t.numpy(), ref_i)
    np.testing.assert_allclose(d_t.numpy(), ref_d, rtol=1e-12, atol=0)
    assert d_t.dtype == torch.float64


@pytest.mark.parametrize("tree_wins", [True, False], ids=["tree-wins", "torch-wins"])
def test_auto_races_the_tree_against_the_torch_engines_measured_rates(monkeypatch, tree_wins):
    """``backend="auto"`` times only the tree per call; the torch engine's side is its
    rates, measured once per process. Rates forced here (a torch engine 1e6x slower or
    faster than the tree could be) decide the race both ways, and both answers are the
    float64 reference's."""
    pytest.importorskip("scipy.spatial")
    import gpusmote.neighbors._tree as tree

    X, _ = make("integers", 3000, 8)
    rates = (1e-3, 1e-3) if tree_wins else (0.0, 0.0)
    monkeypatch.setitem(tree._TORCH_RATES, 1, rates)  # 3,000^2 x 8: the one-thread rates
    assert tree.tree_choice(torch.device("cpu"), 3000, 3000, 8, 8, 1 << 30) == "race"
    with collect_stats() as stats:
        d_t, i_t = kneighbors(X, 5, device="cpu")
    assert stats[0].backend == ("kdtree" if tree_wins else "torch")
    ref_d, ref_i = chunked_kneighbors(X, 5, exclude_self=True)
    np.testing.assert_array_equal(i_t.numpy(), ref_i)
    np.testing.assert_allclose(d_t.numpy(), ref_d, rtol=1e-6, atol=0)


def test_torch_rates_are_measured_once_per_thread_count(monkeypatch):
    import gpusmote.neighbors._tree as tree

    monkeypatch.setattr(tree, "_TORCH_RATES", {})
    before = torch.get_num_threads()
    per_score, per_product = tree.torch_rates(1)
    assert per_score > 0 and per_product > 0
    assert tree.torch_rates(1) == (per_score, per_product)  # cached, not timed again
    assert torch.get_num_threads() == before  # measured at one thread, setting restored
    assert list(tree._TORCH_RATES) == [1]
    # 1000 x 10 x 4 multiply-adds: below SMALL_WORK, so the one-thread rates
    assert tree.torch_estimate(1000, 10, 4) == pytest.approx(
        10 * ((1000 + tree._QUERY_SCORES) * per_score + 1000 * 5 * per_product)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_wide_rows_scored_over_feature_slices(monkeypatch, dtype):
    """Rows from `SPLIT_MIN_DIM` features on are scored in blocks summed over slices of
    features; forced here onto small data with slices of 16 of 40 features and several
    query and database tiles, with duplicates and foreign queries."""
    import gpusmote.neighbors._memory as memory

    monkeypatch.setattr(memory, "SPLIT_MIN_DIM", 8)
    monkeypatch.setattr(memory, "SPLIT_DEPTH", 16)
    monkeypatch.setattr(memory, "_SPLIT_QUERY_TILE", 96)
    monkeypatch.setattr(memory, "_SPLIT_DB_TILE", 128)
    plan = memory.plan_torch(
        n=700, m=700, d=40, kc=8, itemsize=4, device=torch.device("cpu"), budget=256 << 20
    )
    assert (plan.depth, plan.query_tile, plan.db_tile) == (16, 96, 128)
    X, _ = make("wide", 700, 40)
    X[350:400] = X[:50]  # duplicates: ties at distance 0
    stats = _exact(X, 5, "torch", dtype=dtype)
    assert stats.rechecked == _genuine_ties(X, 5)
    Y = X[::7] + np.float32(0.01)
    d, i = kneighbors(torch.as_tensor(X, dtype=dtype), 4, Y=torch.as_tensor(Y, dtype=dtype))
    ref_d, ref_i = chunked_kneighbors(
        torch.as_tensor(X, dtype=dtype).double().numpy(),
        4,
        Y=torch.as_tensor(Y, dtype=dtype).double().numpy(),
    )
    np.testing.assert_array_equal(i.numpy(), ref_i)


@pytest.mark.cuda
@pytest.mark.parametrize("name", list(SIZES))
def test_exact_on_every_generator_on_cuda(name):
    """The same engine on the GPU: the probe, the float64 scores where they are needed,
    and the tie finish, against the float64 reference."""
    n, d = SIZES[name]
    X, _ = make(name, n, d)
    Xt = torch.as_tensor(X, device="cuda")
    with collect_stats() as stats:
        dist, ind = kneighbors(Xt, 5)
    assert ind.device.type == "cuda" and stats[0].backend == "torch"
    ref_d, ref_i = _reference(X, 5)
    np.testing.assert_array_equal(ind.cpu().numpy(), ref_i[:, :5])
    np.testing.assert_allclose(dist.cpu().double().numpy(), ref_d[:, :5], rtol=1e-6, atol=0)
    assert stats[0].rechecked <= max(_genuine_ties(X, 5), 0.01 * n)


def test_sliced_scores_float32_slices_summed_in_float64(monkeypatch):
    """Where float32 scores are too coarse for wide rows, float32 products over slices of
    features summed in float64 bound the rounding by the slice, not the width: forced
    here onto small data (slices of 16 of 40 features), against the reference."""
    import gpusmote.neighbors._api as api
    import gpusmote.neighbors._memory as memory
    from gpusmote.neighbors._precision import sliced_units

    monkeypatch.setattr(memory, "SPLIT_MIN_DIM", 8)
    monkeypatch.setattr(api, "SPLIT_MIN_DIM", 8)
    monkeypatch.setattr(memory, "SPLIT_DEPTH", 16)
    monkeypatch.setattr(api, "SPLIT_DEPTH", 16)
    offered = []

    def sliced(P, depth):
        offered.append(depth)
        return "sliced"

    monkeypatch.setattr(api, "score_precision", sliced)
    X, _ = make("wide", 700, 40)
    X[350:400] = X[:50]
    stats = _exact(X, 5, "torch")
    assert offered == [16] and stats.score_dtype == "sliced"
    assert stats.rechecked == _genuine_ties(X, 5)
    # the bound: a slice's worth of float32 accumulation, not the whole width's
    u_in, u_acc = sliced_units(40, 16)
    assert u_in == 2.0**-24 and u_acc * (40 + 6) == pytest.approx(2.0**-24 * (16 + 6))


def test_order_rows_by_distance_then_index_leaving_inputs_alone():
    """`order_rows` sorts only the rows out of (distance, index) order; checked against
    Python's tuple sort on tie-heavy rows (distances 0-3), most of them given in order
    (as the KD-tree gives them) and every seventh reversed."""
    from gpusmote.neighbors._exact import order_rows

    gen = torch.Generator().manual_seed(0)
    for trial in range(60):
        r, c = 50, int(torch.randint(1, 9, (1,), generator=gen))
        d2 = torch.randint(0, 4, (r, c), generator=gen).double()
        idx = torch.stack([torch.randperm(100, generator=gen)[:c] for _ in range(r)])
        if trial % 2:
            keys = [sorted(zip(d2[i].tolist(), idx[i].tolist(), strict=True)) for i in range(r)]
            d2 = torch.tensor([[p[0] for p in row] for row in keys], dtype=torch.float64)
            idx = torch.tensor([[p[1] for p in row] for row in keys])
            d2[::7], idx[::7] = d2[::7].flip(1), idx[::7].flip(1)
        d_in, i_in = d2.clone(), idx.clone()
        d_out, i_out = order_rows(d2, idx)
        assert torch.equal(d2, d_in) and torch.equal(idx, i_in)
        for row in range(r):
            want = sorted(zip(d_in[row].tolist(), i_in[row].tolist(), strict=True))
            assert list(zip(d_out[row].tolist(), i_out[row].tolist(), strict=True)) == want


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64])
def test_column_extremes_of_narrow_rows_folded_from_wide_views(dtype):
    from gpusmote.neighbors._exact import _column_extremes

    gen = torch.Generator().manual_seed(0)
    for r in (1, 7, 31, 32, 33, 1001):
        for d in (1, 3, 8, 30, 256, 300):
            X = (torch.randn(r, d, generator=gen) * 100).to(dtype)
            for rows in (X, X.T.contiguous().T):  # and a non-contiguous view
                lo, hi = _column_extremes(rows)
                assert torch.equal(lo, rows.amin(0)) and torch.equal(hi, rows.amax(0))
