"""The engine over the whole finite range: the same neighbours at every magnitude.

A power-of-two scale is exact, so data on a coarse grid (at most 16 significant bits
here) scaled by ``2**e`` holds exactly the same numbers, down to float64's and float32's
denormals: its neighbours must be the unscaled data's, index for index, with the
distances scaled by ``2**e`` (and the search must do the same work: the same rows
rechecked). Decimal scales round each value once; on data without near-ties the
indices still match the unscaled data's, and the distances match within 1e-9.
"""

import numpy as np
import pytest
import torch

from gpusmote.neighbors import collect_stats, kneighbors

from .reference import chunked_kneighbors


def _grid(n, d, seed, bits=12):
    """Normal data rounded to multiples of 2**-bits (values below 2**4): exact under
    power-of-two scaling while the smallest step stays representable."""
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(size=(n, d)) * 2.0**bits) / 2.0**bits


def _search(X, k, dtype, **kwargs):
    with collect_stats() as stats:
        dist, ind = kneighbors(torch.tensor(X, dtype=dtype), k, device="cpu", **kwargs)
    return dist.double().numpy(), ind.numpy(), stats[0]


def _denormal_atol(dtype):
    # distances below the smallest normal are rounded to the denormal grid once
    return 2.0 * np.finfo(np.float64 if dtype == torch.float64 else np.float32).smallest_subnormal


# float64: 2**-1060 puts the grid's steps at 2**-1072, among the denormals
POW2_64 = [-1060, -1030, -1000, -700, -540, -520, -500, -300, -100, 0, 100, 300, 480]
POW2_32 = [-136, -130, -126, -110, -64, 0, 64, 100, 110]
BACKENDS = ["torch", "kdtree", "faiss"]


def _backend(backend):
    if backend == "faiss":
        pytest.importorskip("faiss")
    if backend == "kdtree":
        pytest.importorskip("scipy")
    return backend


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("e", POW2_64)
def test_float64_power_of_two_scales_keep_the_neighbours(e, backend):
    backend = _backend(backend)
    X = _grid(300, 5, seed=1)
    ref_d, ref_i = chunked_kneighbors(X, 4)
    dist, ind, stats = _search(X * 2.0**e, 4, torch.float64, backend=backend)
    _, _, base = _search(X, 4, torch.float64, backend=backend)
    np.testing.assert_array_equal(ind, ref_i)
    np.testing.assert_allclose(dist, ref_d * 2.0**e, rtol=1e-12, atol=_denormal_atol(torch.float64))
    assert (stats.rechecked, stats.score_dtype) == (base.rechecked, base.score_dtype)


@pytest.mark.parametrize("e", POW2_32)
def test_float32_power_of_two_scales_keep_the_neighbours(e):
    # large enough for float32 scores (the probe), which are where float32's own
    # range bites: the working coordinates are float32 too
    X = _grid(1500, 6, seed=2, bits=8)
    ref_d, ref_i = chunked_kneighbors(X, 5)
    dist, ind, stats = _search(X * 2.0**e, 5, torch.float32, backend="torch")
    _, _, base = _search(X, 5, torch.float32, backend="torch")
    assert base.score_dtype == "float32"
    np.testing.assert_array_equal(ind, ref_i)
    np.testing.assert_allclose(dist, ref_d * 2.0**e, rtol=1e-6, atol=_denormal_atol(torch.float32))
    assert (stats.rechecked, stats.score_dtype) == (base.rechecked, base.score_dtype)


@pytest.mark.parametrize(
    "scale", [1e-310, 1e-300, 1e-200, 1e-170, 1e-160, 1e-155, 1e-100, 1e100, 1e150]
)
def test_float64_decimal_scales_keep_the_neighbours(scale):
    rng = np.random.default_rng(3)
    # within 3 of the mean: 3e150 is inside float64's limit of 2**500 (3.3e150)
    X = rng.uniform(-3.0, 3.0, size=(200, 4))
    ref_d, ref_i = chunked_kneighbors(X, 3)
    for kwargs in ({}, {"Y": torch.tensor(X[:50] * scale)}, {"rows": np.arange(0, 200, 3)}):
        dist, ind = kneighbors(torch.tensor(X * scale), 3, device="cpu", **kwargs)
        want_i, want_d = ref_i, ref_d
        if "Y" in kwargs:
            want_d, want_i = chunked_kneighbors(X, 3, Y=X[:50], exclude_self=False)
        elif "rows" in kwargs:
            want_i, want_d = ref_i[kwargs["rows"]], ref_d[kwargs["rows"]]
        np.testing.assert_array_equal(ind.numpy(), want_i)
        np.testing.assert_allclose(dist.numpy(), want_d * scale, rtol=1e-9, atol=1e-323)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_all_zero_and_single_denormal_rows(dtype):
    tiny = float(torch.finfo(dtype).smallest_normal) * 2.0**-10
    X = np.zeros((40, 3))
    dist, ind, _ = _search(X, 3, dtype)
    np.testing.assert_array_equal(ind, chunked_kneighbors(X, 3)[1])
    assert not dist.any()
    X[7, 1] = tiny  # one denormal row among zeros: farthest from every other row
    dist, ind, _ = _search(X, 3, dtype)
    ref_d, ref_i = chunked_kneighbors(X / tiny, 3)
    np.testing.assert_array_equal(ind, ref_i)
    np.testing.assert_allclose(dist, ref_d * tiny, rtol=1e-6)


@pytest.mark.parametrize("e", [-1060, -700, -520, 0, 300, 700, 1000])
def test_sparse_power_of_two_scales_keep_the_neighbours(e):
    sparse = pytest.importorskip("scipy.sparse")
    X = _grid(200, 30, seed=4)
    X[np.random.default_rng(4).random(X.shape) < 0.7] = 0.0
    ref_d, ref_i = chunked_kneighbors(X, 4)
    dist, ind = kneighbors(sparse.csr_matrix(X * 2.0**e), 4, device="cpu")
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(
        dist.numpy(), ref_d * 2.0**e, rtol=1e-12, atol=_denormal_atol(torch.float64)
    )


def _classes(n=300, d=4, seed=5):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n - 60, d)), rng.normal(size=(60, d)) + 1.0])
    y = np.r_[np.zeros(n - 60, dtype=int), np.ones(60, dtype=int)]
    return X, y


@pytest.mark.parametrize("scale", [2.0**-1000, 1e-300, 1e-170, 1e-155, 2.0**-520, 5e149])
def test_samplers_on_scaled_data_give_the_scaled_result(scale):
    from gpusmote import ADASYN, SMOTE
    from gpusmote.under_sampling import TomekLinks

    X, y = _classes()
    tomek, scaled = TomekLinks(), TomekLinks()
    tomek.fit_resample(X, y)
    scaled.fit_resample(X * scale, y)
    assert tomek.sample_indices_.size < X.shape[0]  # links found and removed
    np.testing.assert_array_equal(scaled.sample_indices_, tomek.sample_indices_)
    for sampler in (SMOTE, ADASYN):
        X_res, y_res = sampler(random_state=0).fit_resample(X, y)
        Xs_res, ys_res = sampler(random_state=0).fit_resample(X * scale, y)
        np.testing.assert_array_equal(ys_res, y_res)
        # the new rows are x + u (x_nn - x) of the scaled rows: the unscaled result
        # times the scale, up to the scaled inputs' own rounding
        np.testing.assert_allclose(Xs_res, X_res * scale, rtol=1e-12, atol=1e-12 * scale)
