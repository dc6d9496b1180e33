import re
import sys

import numpy as np
import pytest
import torch

from gpusmote.neighbors import NearestNeighbors, kneighbors

X = np.random.default_rng(0).normal(size=(20, 3))


@pytest.mark.parametrize(
    "call,exc,pattern",
    [
        (
            lambda: kneighbors(np.array([[0.0, np.nan], [1.0, 2.0]]), 1),
            ValueError,
            "`X` must be finite",
        ),
        (
            lambda: kneighbors(np.array([[0.0, np.inf], [1.0, 2.0]]), 1),
            ValueError,
            "`X` must be finite",
        ),
        (lambda: kneighbors(X, 1, Y=np.array([[np.nan, 0, 0]])), ValueError, "`Y` must be finite"),
        (lambda: kneighbors(X[:, 0], 1), ValueError, "`X` must be a 2-D array"),
        (lambda: kneighbors(X[None], 1), ValueError, "`X` must be a 2-D array"),
        (lambda: kneighbors(np.empty((0, 3)), 1), ValueError, "at least one row"),
        (lambda: kneighbors(np.empty((4, 0)), 1), ValueError, "at least one feature"),
        (
            lambda: kneighbors(X, 1, Y=X[:, :2]),
            ValueError,
            "`Y` must be an array with 3 feature columns",
        ),
        (lambda: kneighbors(X, 0), ValueError, "`n_neighbors` must be an integer >= 1"),
        (lambda: kneighbors(X, 20), ValueError, "`n_neighbors` must be at most 19"),
        (lambda: kneighbors(X, 21, Y=X[:2]), ValueError, "`n_neighbors` must be at most 20"),
        (lambda: kneighbors(X, 2.5), TypeError, "`n_neighbors` must be an integer"),
        (lambda: kneighbors(X, True), TypeError, "`n_neighbors` must be an integer"),
        (lambda: kneighbors([["a", "b"], ["c", "d"]], 1), TypeError, "`X` must be numeric"),
        (lambda: kneighbors(X.astype(complex), 1), TypeError, "`X` must be real numeric"),
        (
            lambda: kneighbors(torch.ones(3, 2, dtype=torch.complex64), 1),
            TypeError,
            "`X` must be a real numeric tensor",
        ),
        (lambda: kneighbors(X, 1, backend="annoy"), ValueError, "`backend` must be"),
        (lambda: kneighbors(X, 1, device="tpu"), ValueError, "`device` must be"),
        (lambda: kneighbors(X, 1, device=3.0), TypeError, "`device` must be"),
        (lambda: kneighbors(X, 1, max_memory="lots"), ValueError, "`max_memory` must be"),
        (lambda: kneighbors(X, 1, max_memory=-5), ValueError, "`max_memory` must be"),
        (lambda: kneighbors(X, 1, max_memory=1.5), TypeError, "`max_memory` must be"),
        (lambda: kneighbors(X, 1, max_memory=100), ValueError, "`max_memory` must be at least"),
        (
            lambda: kneighbors(X, 1, Y=X[:3], exclude_self=True),
            ValueError,
            "`exclude_self` must be False",
        ),
        (
            lambda: kneighbors(X, 1, return_distance="yes"),
            TypeError,
            "`return_distance` must be a bool",
        ),
    ],
)
def test_bad_input_is_rejected_clearly(call, exc, pattern):
    with pytest.raises(exc, match=re.escape(pattern)):
        call()


def test_cuda_without_cuda_is_a_runtime_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        kneighbors(X, 1, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        NearestNeighbors(device="cuda").fit(X)


def test_non_numeric_dataframe_names_the_columns():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0], "city": ["x", "y"]})
    with pytest.raises(TypeError, match=r"column 'city' of dtype"):
        kneighbors(frame, 1)


def test_missing_faiss_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ModuleNotFoundError, match=re.escape('pip install "gpusmote[faiss]"')):
        kneighbors(X, 1, backend="faiss")


def test_memory_strings_are_parsed():
    from gpusmote._validation import parse_memory

    assert parse_memory("512MiB") == 512 * 1024**2
    assert parse_memory("2GB") == 2 * 10**9
    assert parse_memory("1.5 KiB") == 1536
    assert parse_memory(4096) == 4096


@pytest.mark.parametrize("value", [1e160, 1.7e308])
def test_float64_values_whose_squares_overflow_are_a_clear_error(value):
    """Beyond 2**500, squared float64 distances overflow: an error naming X, not garbage
    indices (the mean itself overflows near float64's largest value)."""
    X = np.array([[-value], [value], [0.0], [1.0]])
    with pytest.raises(ValueError, match=re.escape("`X` must be within 3.3e+150")):
        kneighbors(X, 1, device="cpu")
    dist, ind = kneighbors(X / value * 1e150, 1, device="cpu")  # just inside: exact
    assert ind.ravel().tolist() == [2, 2, 3, 2] and torch.isfinite(dist).all()


def test_float32_rows_near_the_largest_value_are_searched_exactly():
    """Centring a row near float32's largest value could overflow (row - mean) before
    scaling (out-of-range candidates followed); the working coordinates are scaled first."""
    from .reference import naive_kneighbors

    X = np.array(
        [[-3.4e38, 1.0], [3.4e38, 2.0], [-3e38, 0.0], [3e38, 1.0], [-3.2e38, 2.0], [3.1e38, 0.0]],
        dtype=np.float32,
    )
    dist, ind = kneighbors(X, 2, device="cpu")
    ref_d, ref_i = naive_kneighbors(X.astype(np.float64), 2)
    np.testing.assert_array_equal(ind, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-6)
