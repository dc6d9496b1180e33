"""Property tests: random shapes, dtypes, magnitudes, duplicates and bad values.

Each call either returns a valid result or raises a ValueError/TypeError whose message
names what was expected; nothing else (bounded so the suite stays quick).
"""

import re

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gpusmote import SMOTE, RandomOverSampler  # noqa: E402
from gpusmote.neighbors import kneighbors  # noqa: E402
from gpusmote.under_sampling import RandomUnderSampler, TomekLinks  # noqa: E402

from .neighbors.reference import naive_kneighbors  # noqa: E402

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def matrices(draw, min_rows=2, max_rows=40):
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = 10.0 ** draw(st.integers(-30, 30))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale
    if draw(st.booleans()):  # a constant column
        X[:, draw(st.integers(0, d - 1))] = scale
    if draw(st.booleans()) and n > 2:  # duplicate rows
        X[: n // 3] = X[n // 3 : 2 * (n // 3)]
    if draw(st.booleans()):  # integers: exact ties everywhere
        X = np.round(rng.normal(size=(n, d)) * 3)
    return X.astype(dtype)


@SETTINGS
@given(X=matrices(), data=st.data())
def test_kneighbors_is_exact_whatever_the_data(X, data):
    n = X.shape[0]
    k = data.draw(st.integers(1, n - 1))
    layout = data.draw(st.sampled_from(["plain", "strided", "tensor-view"]))
    Xt = torch.as_tensor(X)
    if layout == "strided":
        Xt = torch.as_tensor(np.repeat(X, 2, axis=0))[::2]
    elif layout == "tensor-view":
        Xt = torch.as_tensor(np.concatenate([X, X], axis=1))[:, : X.shape[1]]
    before = Xt.clone()
    dist, ind = kneighbors(Xt, k, device="cpu")
    assert torch.equal(Xt, before)
    ref_d, ref_i = naive_kneighbors(X.astype(np.float64), k)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    assert torch.isfinite(dist).all()
    np.testing.assert_allclose(dist.double().numpy(), ref_d, rtol=1e-5, atol=0)


@SETTINGS
@given(X=matrices(min_rows=2, max_rows=20), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_kneighbors_rejects_nan_and_inf(X, bad):
    X = X.copy()
    X[0, 0] = bad
    with pytest.raises(ValueError, match="`X` must be"):
        kneighbors(X, 1, device="cpu")


@st.composite
def labelled(draw):
    X = draw(matrices(min_rows=8, max_rows=50))
    n = X.shape[0]
    n_min = draw(st.integers(2, n // 2))
    kind = draw(st.sampled_from(["int", "negative", "str", "bool", "sparse ints"]))
    values = {
        "int": (0, 1),
        "negative": (-7, -3),
        "str": ("no", "yes"),
        "bool": (False, True),
        "sparse ints": (10, 1000),
    }[kind]
    y = np.array([values[0]] * n, dtype=object)
    y[draw(st.permutations(range(n)))[:n_min]] = values[1]
    y = y.astype(type(values[0])) if kind != "str" else y.astype(str)
    return X, y


SAMPLERS = [
    lambda: SMOTE(random_state=0, k_neighbors=1, device="cpu"),
    lambda: RandomOverSampler(random_state=0, device="cpu"),
    lambda: RandomUnderSampler(random_state=0),
    lambda: TomekLinks(device="cpu"),
]


@SETTINGS
@given(Xy=labelled(), which=st.integers(0, len(SAMPLERS) - 1))
def test_samplers_return_valid_rows_or_a_clear_error(Xy, which):
    X, y = Xy
    X_in, y_in = X.copy(), y.copy()
    sampler = SAMPLERS[which]()
    try:
        X_res, y_res = sampler.fit_resample(X, y)
    except (ValueError, TypeError) as err:
        assert "must be" in str(err) or "needs" in str(err), str(err)
        return
    np.testing.assert_array_equal(X, X_in)  # inputs untouched
    np.testing.assert_array_equal(y, y_in)
    assert X_res.shape[0] == y_res.shape[0] and X_res.shape[1] == X.shape[1]
    assert X_res.dtype == X.dtype
    assert np.isfinite(X_res).all()
    assert set(np.unique(y_res)) <= set(np.unique(y))
    counts = {c: int((y_res == c).sum()) for c in np.unique(y)}
    if which in (0, 1):  # over-samplers: balanced, originals first and unchanged
        assert len(set(counts.values())) == 1
        np.testing.assert_array_equal(X_res[: len(X)], X)
        np.testing.assert_array_equal(y_res[: len(y)], y)
    elif which == 2:
        assert len(set(counts.values())) == 1


def _every_sampler():
    import gpusmote
    import gpusmote.combine
    import gpusmote.under_sampling

    from .test_common import SAMPLERS as OVER
    from .test_common import _make
    from .under_sampling.test_common_under import UNDER

    out = []
    for cls in OVER + UNDER:
        params = {}
        names = cls().get_params() if cls is not gpusmote.SMOTENC else {"random_state": 0}
        if "random_state" in names:
            params["random_state"] = 0
        if "device" in names:
            params["device"] = "cpu"
        out.append((cls.__name__, lambda cls=cls, params=params: _make(cls, **params)))
    return out


EVERY = _every_sampler()
# Failures whose messages are imbalanced-learn's or scikit-learn's own (the same data
# fails the same way there): every other error names its parameter ("`x` must be ...").
_DOCUMENTED = (
    "No samples will be generated with the provided ratio settings",  # ADASYN
    "All support vectors are considered as noise",  # SVMSMOTE
    "cannot be greater than the number of members in each class",  # IHT's StratifiedKFold
)
_DOCUMENTED_RUNTIME = ("No clusters found", "not enough")  # KMeansSMOTE


@pytest.mark.parametrize("name,make", EVERY, ids=[n for n, _ in EVERY])
@settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(Xy=labelled())
def test_every_sampler_valid_rows_or_a_clear_error(name, make, Xy):
    X, y = Xy
    X_in, y_in = X.copy(), y.copy()
    try:
        X_res, y_res = make().fit_resample(X, y)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert re.search(r"`\w+` must be", message) or any(m in message for m in _DOCUMENTED), (
            f"{name}: {message}"
        )
        return
    except RuntimeError as err:
        assert any(m in str(err) for m in _DOCUMENTED_RUNTIME), f"{name}: {err}"
        return
    finally:
        np.testing.assert_array_equal(X, X_in)  # inputs untouched, whatever happened
        np.testing.assert_array_equal(y, y_in)
    X_res, y_res = np.asarray(X_res), np.asarray(y_res)
    assert X_res.shape[0] == y_res.shape[0] and X_res.shape[1] == X.shape[1], name
    assert np.isfinite(X_res.astype(np.float64)).all(), name
    assert set(np.unique(y_res)) <= set(np.unique(y)), name
