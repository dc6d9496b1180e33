"""Property tests: random shapes, dtypes, magnitudes, duplicates and bad values.

Each call either returns a valid result or raises a ValueError/TypeError whose message
names what was expected; nothing else (bounded so the suite stays quick). Every public
sampler sees every feature dtype (float16, bfloat16, float32, float64, int32, int64) in
every container (numpy, pandas, torch), and random data with NaN/inf or no rows.
Hypothesis runs derandomized, so CI cannot turn red by chance.
"""

import collections
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

SETTINGS = settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


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
    # small searches take float64 scores without a probe; the scores' precision is
    # drawn here, so that float32 certificates meet every kind of hostile data too
    scores = data.draw(st.sampled_from(["chosen", "float32", "float64"]))
    import gpusmote.neighbors._api as api

    with pytest.MonkeyPatch.context() as mp:
        if scores != "chosen":
            mp.setattr(api, "score_precision", lambda P, depth: scores)
        dist, ind = kneighbors(Xt, k, device="cpu", backend="torch")
    assert torch.equal(Xt, before)
    ref_d, ref_i = naive_kneighbors(X.astype(np.float64), k)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    assert torch.isfinite(dist).all()
    np.testing.assert_allclose(dist.double().numpy(), ref_d, rtol=1e-5, atol=0)


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(X=matrices(min_rows=130, max_rows=700), data=st.data())
def test_symmetric_self_search_is_exact_whatever_the_data(X, data):
    """The CPU self-search that serves both sides of each block (taken by default from
    32,768 rows of 32 features) forced onto small data: magnitudes, constant columns,
    duplicates and ties, with budgets from many small blocks to one."""
    import gpusmote.neighbors._api as api
    import gpusmote.neighbors._memory as memory

    k = data.draw(st.integers(1, min(40, X.shape[0] - 1)))
    budget = data.draw(st.sampled_from([None, 600_000, 2_000_000]))
    taken = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(memory, "SYMMETRIC_MIN_ROWS", 0)
        mp.setattr(memory, "SYMMETRIC_MIN_DIM", 1)
        original = api.symmetric_candidates
        mp.setattr(
            api, "symmetric_candidates", lambda P, plan: taken.append(1) or original(P, plan)
        )
        try:
            dist, ind = kneighbors(torch.as_tensor(X), k, device="cpu", max_memory=budget)
        except ValueError as err:  # a budget too small for this shape's tiles: named
            assert "`max_memory` must be" in str(err), str(err)
            return
    # 33 of the 40 examples take it; the others' small budgets do not fit its plan
    assert taken or budget is not None, "the symmetric path did not run"
    ref_d, ref_i = naive_kneighbors(X.astype(np.float64), k)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.double().numpy(), ref_d, rtol=1e-5, atol=0)


@SETTINGS
@given(X=matrices(min_rows=2, max_rows=20), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_kneighbors_rejects_nan_and_inf(X, bad):
    X = X.copy()
    X[0, 0] = bad
    with pytest.raises(ValueError, match="`X` must be"):
        kneighbors(X, 1, device="cpu")


@SETTINGS
@given(X=matrices(min_rows=2, max_rows=30), data=st.data())
def test_kneighbors_half_and_integer_features_are_exact(X, data):
    """float16/bfloat16 (distances in float32) and integer tensors (in float64): the
    neighbours of the values as stored, exact; no rows at all is an error naming X."""
    dtype = data.draw(st.sampled_from([torch.float16, torch.bfloat16, torch.int32, torch.int64]))
    if dtype.is_floating_point:
        limit = torch.finfo(dtype).max / 4
        X = np.clip(X.astype(np.float64), -limit, limit)
    else:
        # below 2**24 squared distances of up to 5 features stay below 2**53, exact in
        # float64 (beyond, the reference's own sums round and near-ties may swap)
        X = np.clip(np.round(X.astype(np.float64)), -(2.0**24), 2.0**24)
    Xt = torch.tensor(X, dtype=dtype)
    k = data.draw(st.integers(1, Xt.shape[0] - 1))
    before = Xt.clone()
    dist, ind = kneighbors(Xt, k, device="cpu")
    assert torch.equal(Xt, before)
    assert dist.dtype == (torch.float32 if dtype.is_floating_point else torch.float64)
    ref_d, ref_i = naive_kneighbors(Xt.to(torch.float64).numpy(), k)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.double().numpy(), ref_d, rtol=1e-5, atol=0)
    with pytest.raises(ValueError, match=re.escape("`X` must be an array with at least one row")):
        kneighbors(Xt[:0], 1, device="cpu")


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
# KMeansSMOTE, ADASYN (README "Errors")
_DOCUMENTED_RUNTIME = ("No clusters found", "not enough", "ADASYN is not suited to this data")


@pytest.mark.parametrize("name,make", EVERY, ids=[n for n, _ in EVERY])
@settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(Xy=labelled())
def test_every_sampler_valid_rows_or_a_clear_error(name, make, Xy):
    _check_call(name, make, *Xy, None)


# --- every dtype and container, NaN/inf and empty input -------------------------------
_HALF_SCALE = {"float16": (-3, 3), "bfloat16": (-30, 30)}
_INDEX_ONLY = {"RandomOverSampler", "RandomUnderSampler"}  # rows indexed, never computed on
# exactly sampling_strategy_'s counts (the others may not: ADASYN's and KMeansSMOTE's
# rounding, BorderlineSMOTE without rows in danger, NearMiss's warnings, cleaning)
_EXACT_COUNTS = {"SMOTE", "RandomOverSampler", "SMOTENC", "SMOTEN", "RandomUnderSampler"}
_EXACT_COUNTS |= {"ClusterCentroids"}
KINDS = [
    (container, dtype)
    for container in ("numpy", "pandas", "tensor")
    for dtype in ("float16", "bfloat16", "float32", "float64", "int32", "int64")
    if container == "tensor" or dtype != "bfloat16"  # numpy has no bfloat16
] + [("strided tensor", "float32"), ("strided tensor", "float16"), ("transposed tensor", "int64")]
# what users hand over too (issue 27): a `.npy` from a big-endian platform, numbers in an
# object array, a tensor that is part of an autograd graph
KINDS += [("big-endian", "float64"), ("big-endian", "float32"), ("big-endian", "int64")]
KINDS += [("object", "float64"), ("grad tensor", "float32"), ("grad tensor", "float64")]


def _in_container(X, y, container: str, dtype: str):
    """``X`` (float64 ndarray) as ``dtype`` in ``container``; ``y`` in the matching one."""
    if container.endswith("tensor"):
        if container == "grad tensor":
            X = torch.tensor(X, dtype=getattr(torch, dtype), requires_grad=True)
            return X, (torch.as_tensor(y) if y.dtype.kind in "iub" else y)
        if container == "strided tensor":  # every other row of larger tensors, labels too
            X = torch.tensor(np.repeat(X, 2, axis=0), dtype=getattr(torch, dtype))[::2]
            if y.dtype.kind in "iub":
                return X, torch.as_tensor(np.repeat(y, 2))[::2]
        elif container == "transposed tensor":  # column-major
            X = torch.tensor(X.T.copy(), dtype=getattr(torch, dtype)).T
        else:
            X = torch.tensor(X, dtype=getattr(torch, dtype))
        return X, (torch.as_tensor(y) if y.dtype.kind in "iub" else y)
    X = X.astype(dtype)
    if container == "big-endian":
        return X.astype(X.dtype.newbyteorder(">")), y
    if container == "object":
        return X.astype(object), y
    if container == "pandas":
        import pandas as pd

        return pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]), pd.Series(y)
    return X, y


@st.composite
def hostile(draw, container: str, dtype: str):
    """``(X, y, bad)``: random values fitting ``dtype``, NaN/inf (``bad``) or no rows."""
    X, y = draw(labelled())
    n, d = X.shape
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    if dtype.startswith("int"):
        X = np.round(rng.normal(size=(n, d)) * 10.0 ** draw(st.integers(0, 6)))
    elif dtype in _HALF_SCALE:
        X = rng.normal(size=(n, d)) * 10.0 ** draw(st.integers(*_HALF_SCALE[dtype]))
    X = X.astype(np.float64)
    bad = None if dtype.startswith("int") else draw(st.sampled_from([None, np.nan, np.inf]))
    if bad is not None:
        X[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = bad
    if draw(st.integers(0, 5)) == 0:  # no rows at all
        X, y, bad = X[:0], y[:0], None
    return (*_in_container(X, y, container, dtype), bad)


def _as_float64(X) -> np.ndarray:
    if isinstance(X, torch.Tensor):
        return X.detach().to(torch.float64).cpu().numpy()
    return np.asarray(X, dtype=np.float64)


def _copy(obj):
    return obj.detach().clone() if isinstance(obj, torch.Tensor) else obj.copy()


def _assert_same(a, b) -> None:
    if isinstance(a, torch.Tensor):
        a = a.detach()
        assert a.dtype == b.dtype and torch.equal(a.isnan(), b.isnan())
        assert torch.equal(a.nan_to_num(), b.nan_to_num())
    else:
        a, b = np.asarray(a), np.asarray(b)
        numbers_in_objects = a.dtype.kind == "O" and all(isinstance(v, float | int) for v in a.flat)
        if numbers_in_objects:  # NaN equals NaN only as floats
            assert all(type(u) is type(v) for u, v in zip(a.flat, b.flat, strict=True))
            a, b = a.astype(np.float64), b.astype(np.float64)
        np.testing.assert_array_equal(a, b)  # NaN equal NaN here


def _check_call(name, make, X, y, bad) -> None:
    """One ``fit_resample``: valid rows in the input's container and dtype, or an error
    naming its parameter (``X``'s finiteness for NaN/inf), inputs untouched either way."""
    X_in, y_in = _copy(X), _copy(y)
    sampler = make()
    try:
        X_res, y_res = sampler.fit_resample(X, y)
    except (ValueError, TypeError) as err:
        message = str(err)
        if len(X) == 0:
            assert "`X` must be" in message, f"{name}: {message}"
        elif bad is not None and "`X`" in message:  # else another parameter came first
            # (SMOTEN reads an object array as categories: NaN is a missing category there)
            missing = "`X` must be no missing values in categorical column"
            assert "`X` must be finite" in message or missing in message, f"{name}: {message}"
        assert re.search(r"`\w+` must be", message) or any(m in message for m in _DOCUMENTED), (
            f"{name}: {message}"
        )
        return
    except RuntimeError as err:
        assert any(m in str(err) for m in _DOCUMENTED_RUNTIME), f"{name}: {err}"
        return
    finally:
        _assert_same(X, X_in)
        _assert_same(y, y_in)
    assert len(X) > 0, f"{name} accepted empty input"
    assert bad is None or name in _INDEX_ONLY, f"{name} accepted non-finite input"
    assert type(X_res) is type(X) and type(y_res) is type(y), name
    if isinstance(X, torch.Tensor):
        assert X_res.dtype == X.dtype and X_res.device == X.device, name
        assert not X_res.requires_grad, name  # detached
        assert not getattr(y_res, "requires_grad", False), name
    elif hasattr(X, "columns"):
        assert list(X_res.columns) == list(X.columns), name
        assert list(X_res.dtypes) == list(X.dtypes) or name == "ClusterCentroids", name
    elif X.dtype.kind == "O":  # read as float64, as there (rows only indexed, and
        # SMOTENC's / SMOTEN's tables of categories, keep their objects)
        kept = name in _INDEX_ONLY or name in ("SMOTENC", "SMOTEN")
        assert X_res.dtype == (X.dtype if kept else np.float64), name
    elif not (name == "ClusterCentroids" and X.dtype.kind == "i"):  # float64 centroids there
        assert X_res.dtype in (X.dtype, X.dtype.newbyteorder("=")), name  # native order
    rows = _as_float64(X_res)
    assert rows.shape[0] == len(y_res) and rows.shape[1] == X.shape[1], name
    counts_in, counts_out = (
        collections.Counter(
            (v.cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)).tolist()
        )
        for v in (y, y_res)
    )
    assert set(counts_out) <= set(counts_in), name
    if hasattr(sampler, "sample_indices_"):  # every output row is an input row, NaN and all
        np.testing.assert_array_equal(rows, _as_float64(X)[sampler.sample_indices_])
    if name not in _INDEX_ONLY:
        assert np.isfinite(rows).all(), name
    strategy, module = sampler.sampling_strategy_, type(sampler).__module__
    if module.startswith("gpusmote.over_sampling"):  # originals first, then new rows
        np.testing.assert_array_equal(rows[: len(X)], _as_float64(X))
        expected = {c: n + strategy.get(c, 0) for c, n in counts_in.items()}
    elif module.startswith("gpusmote.under_sampling"):  # a subset, or centroids
        expected = {c: strategy.get(c, n) for c, n in counts_in.items()}
    if name in _EXACT_COUNTS:
        assert dict(counts_out) == expected, name
    elif module.startswith("gpusmote.over_sampling"):
        assert all(counts_out[c] >= n for c, n in counts_in.items()), name
    elif module.startswith("gpusmote.under_sampling"):
        assert all(counts_out[c] <= n for c, n in counts_in.items()), name


@pytest.mark.parametrize("container,dtype", KINDS)
@pytest.mark.parametrize("name,make", EVERY, ids=[n for n, _ in EVERY])
def test_every_sampler_every_dtype_and_container(name, make, container, dtype):
    rng = np.random.default_rng(0)
    # 4 columns: SMOTENC's common-suite instance treats column 3 as categorical
    X = np.round(rng.normal(size=(36, 4)) * (3 if dtype.startswith("int") else 1), 2)
    X[:, 3] = np.round(X[:, 3])
    y = np.r_[np.zeros(24, int), np.ones(12, int)]
    _check_call(name, make, *_in_container(X, y, container, dtype), None)


@pytest.mark.parametrize("container,dtype", KINDS)
@settings(
    max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=st.data())
def test_any_sampler_on_hostile_input(container, dtype, data):
    """Random data of every dtype and container, NaN/inf or no rows, into any sampler."""
    X, y, bad = data.draw(hostile(container, dtype))
    name, make = data.draw(st.sampled_from(EVERY))
    _check_call(name, make, X, y, bad)


@pytest.mark.parametrize("name,make", EVERY, ids=[n for n, _ in EVERY])
def test_read_only_input_gives_the_same_rows_and_no_torch_warning(name, make):
    """Read-only arrays (pandas' copy-on-write, memory maps) are read in place: the same
    rows as writable ones, and no "NumPy array is not writable" warning from torch."""
    import warnings

    rng = np.random.default_rng(1)
    X = np.round(rng.normal(size=(36, 3)), 2)
    y = np.r_[np.zeros(24, int), np.ones(12, int)]
    X_ro, y_ro = X.copy(), y.copy()
    X_ro.flags.writeable = y_ro.flags.writeable = False
    try:
        expected = make().fit_resample(X, y)
    except (ValueError, RuntimeError):
        expected = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = make().fit_resample(X_ro, y_ro)
        except (ValueError, RuntimeError):
            got = None
    assert not [w for w in caught if "not writable" in str(w.message)], name
    assert (got is None) == (expected is None), name
    if got is not None:
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
