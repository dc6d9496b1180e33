import re

import numpy as np
import pytest
import torch

from gpusmote import ADASYN, RandomOverSampler

imblearn_over = pytest.importorskip("imblearn.over_sampling")


def _data(dtype=np.float64, seed=0, sizes=(300, 40, 30)):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(i * 0.8, 1, (n, 4)) for i, n in enumerate(sizes)])
    y = np.concatenate([np.full(n, i) for i, n in enumerate(sizes)])
    order = rng.permutation(len(y))
    return X[order].astype(dtype), y[order]


STRATEGIES = ["auto", "minority", "not majority", "all", {1: 200, 2: 100}]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_random_over_sampler_same_rows_and_indices(strategy, dtype):
    X, y = _data(dtype)
    ours = RandomOverSampler(sampling_strategy=strategy, random_state=1, device="cpu")
    theirs = imblearn_over.RandomOverSampler(sampling_strategy=strategy, random_state=1)
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    np.testing.assert_array_equal(Xo, X[ours.sample_indices_])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_smoothed_bootstrap_matches(dtype):
    X, y = _data(dtype, seed=2)
    for shrinkage in (0.5, {1: 1.0, 2: 0.0}):
        Xo, _ = RandomOverSampler(random_state=3, shrinkage=shrinkage, device="cpu").fit_resample(
            X, y
        )
        Xt, _ = imblearn_over.RandomOverSampler(random_state=3, shrinkage=shrinkage).fit_resample(
            X, y
        )
        rtol = 1e-4 if dtype == np.float32 else 1e-7
        np.testing.assert_allclose(Xo, Xt, rtol=rtol, atol=1e-6 if dtype == np.float32 else 1e-12)
        assert Xo.dtype == dtype  # imbalanced-learn returns float64 here for float32 input
    with pytest.raises(ValueError, match="missing classes are"):
        RandomOverSampler(shrinkage={1: 1.0}, device="cpu").fit_resample(X, y)
    with pytest.raises(ValueError, match="needs to be >= 0"):
        RandomOverSampler(shrinkage=-1.0, device="cpu").fit_resample(X, y)
    with pytest.raises(TypeError, match="`shrinkage` must be None, a float or a dict"):
        RandomOverSampler(shrinkage="big", device="cpu").fit_resample(X, y)


def test_plain_bootstrap_takes_any_rows_as_imbalanced_learn():
    """Without shrinkage rows are only indexed: NaN, strings and mixed dtypes pass through."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(
        {"amount": [1.0, np.nan, 3.0, 4.0, 5.0, np.inf], "city": list("abcdef")},
        index=[10, 11, 12, 13, 14, 15],
    )
    y = pd.Series([0, 0, 0, 0, 1, 1], index=X.index, name="label")
    X_before = X.copy()
    ros = RandomOverSampler(random_state=0, device="cpu")
    assert ros.fit(X, y).sampling_strategy_ == {1: 2}  # fit takes what fit_resample takes
    Xo, yo = ros.fit_resample(X, y)
    Xt, yt = imblearn_over.RandomOverSampler(random_state=0).fit_resample(X, y)
    pd.testing.assert_frame_equal(Xo, Xt)
    pd.testing.assert_series_equal(yo, yt)
    pd.testing.assert_frame_equal(X, X_before)
    rows = [[1.0, "a"], [2.0, "b"], [3.0, "c"], [4.0, "d"]]
    out, labels = RandomOverSampler(random_state=0, device="cpu").fit_resample(rows, [0, 0, 0, 1])
    assert len(out) == 6 and labels == [0, 0, 0, 1, 1, 1]
    out[3][0] = -1.0  # the output's rows are copies, never the user's own lists
    assert rows[3] == [4.0, "d"]
    with pytest.raises(ValueError, match=re.escape("`X` must be finite")):
        RandomOverSampler(shrinkage=1.0, device="cpu").fit_resample(X[["amount"]], y)
    with pytest.raises(ValueError, match=re.escape("`X` must be a 2-D array")):
        RandomOverSampler(device="cpu").fit_resample(np.arange(6.0), y)


def test_smoothed_rows_that_overflow_their_dtype_are_an_error():
    X = torch.tensor([[-60000.0], [60000.0], [0.0], [1.0], [2.0], [3.0]], dtype=torch.float16)
    y = torch.tensor([1, 1, 0, 0, 0, 0])
    with pytest.raises(ValueError, match=re.escape("`X` must be small enough")):
        RandomOverSampler(random_state=0, shrinkage=3.0, device="cpu").fit_resample(X, y)
    Xr, _ = RandomOverSampler(random_state=0, shrinkage=3.0, device="cpu").fit_resample(
        X.float(), y
    )
    assert torch.isfinite(Xr).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strategy", STRATEGIES[:4])
def test_adasyn_same_rows(strategy, dtype):
    X, y = _data(dtype, seed=4)
    Xo, yo = ADASYN(sampling_strategy=strategy, random_state=0, device="cpu").fit_resample(X, y)
    Xt, yt = imblearn_over.ADASYN(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    assert Xo.dtype == Xt.dtype
    np.testing.assert_allclose(Xo, Xt, rtol=1e-4 if dtype == np.float32 else 1e-7)
    np.testing.assert_array_equal(yo, yt)


def test_adasyn_random_state_instance_and_neighbours():
    X, y = _data(seed=5)
    for k in (3, 7):
        Xo, _ = ADASYN(
            n_neighbors=k, random_state=np.random.RandomState(2), device="cpu"
        ).fit_resample(X, y)
        Xt, _ = imblearn_over.ADASYN(
            n_neighbors=k, random_state=np.random.RandomState(2)
        ).fit_resample(X, y)
        np.testing.assert_allclose(Xo, Xt, rtol=1e-12)


def test_adasyn_errors():
    rng = np.random.default_rng(0)
    X = np.r_[
        rng.normal(0, 1, (50, 2)), rng.normal(100, 1, (10, 2))
    ]  # far apart: no mixed neighbours
    y = np.r_[np.zeros(50, int), np.ones(10, int)]
    with pytest.raises(RuntimeError, match="not suited to this data: use SMOTE"):
        ADASYN(device="cpu").fit_resample(X, y)
    X2, y2 = _data(seed=6, sizes=(50, 4))
    with pytest.raises(ValueError, match=re.escape("class 1, which has 4")):
        ADASYN(device="cpu").fit_resample(X2, y2)
    with pytest.raises(TypeError, match="`n_neighbors` must be an int"):
        ADASYN(n_neighbors="5", device="cpu").fit_resample(X2, y2)


def test_torch_in_torch_out(device):
    X, y = _data(np.float32, seed=7)
    Xt, yt = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    for sampler in (ADASYN(random_state=0), RandomOverSampler(random_state=0)):
        Xo, yo = sampler.fit_resample(Xt, yt)
        assert Xo.device.type == device.type and Xo.dtype == torch.float32
        assert yo.device.type == device.type
    g = torch.Generator(device=device).manual_seed(0)
    Xo, yo = RandomOverSampler(random_state=g).fit_resample(Xt, yt)
    assert torch.bincount(yo).tolist() == [300, 300, 300]


@pytest.mark.parametrize("name", ["RandomOverSampler", "ADASYN", "BorderlineSMOTE", "SVMSMOTE"])
def test_pandas_in_pandas_out_matches_imbalanced_learn(name):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn.svm")
    import gpusmote

    X, y = _data(np.float64, seed=8)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    target = pd.Series(np.array(["no", "yes", "maybe"])[y], name="label")
    Xo, yo = getattr(gpusmote, name)(random_state=0, device="cpu").fit_resample(frame, target)
    Xt, yt = getattr(imblearn_over, name)(random_state=0).fit_resample(frame, target)
    pd.testing.assert_frame_equal(Xo, Xt, rtol=1e-7)
    pd.testing.assert_series_equal(yo, yt)
