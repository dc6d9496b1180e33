import re

import numpy as np
import pytest
import torch

from gpusmote import SMOTENC

imblearn_over = pytest.importorskip("imblearn.over_sampling")


def _mixed(n=400, seed=0, n_classes=3):
    rng = np.random.default_rng(seed)
    X = np.empty((n, 5), dtype=object)
    X[:, 0] = rng.normal(size=n)
    X[:, 1] = rng.choice(["a", "b", "c", "d"], n)
    X[:, 2] = rng.normal(size=n) * 3
    X[:, 3] = rng.choice([10, 20], n)
    X[:, 4] = rng.normal(size=n)
    sizes = [n - 100, 60, 40][:n_classes]
    sizes[0] = n - sum(sizes[1:])
    y = np.repeat(np.arange(n_classes), sizes)
    return X, y[rng.permutation(n)]


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("k", [5, 15])  # 15 neighbours over 2-4 categories: many ties
def test_same_rows_as_imbalanced_learn_on_object_arrays(n_classes, k):
    X, y = _mixed(n_classes=n_classes, seed=k)
    Xo, yo = SMOTENC([1, 3], k_neighbors=k, random_state=0, device="cpu").fit_resample(X, y)
    Xt, yt = imblearn_over.SMOTENC([1, 3], k_neighbors=k, random_state=0).fit_resample(X, y)
    assert Xo.dtype == Xt.dtype == object
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numeric_arrays_masks_and_shared_random_state(dtype):
    X, y = _mixed(seed=1)
    X[:, 1] = np.searchsorted(["a", "b", "c", "d"], X[:, 1])
    X = X.astype(dtype)
    mask = [False, True, False, True, False]
    ours = SMOTENC(mask, random_state=np.random.RandomState(4), device="cpu")
    theirs = imblearn_over.SMOTENC(mask, random_state=np.random.RandomState(4))
    Xo, _ = ours.fit_resample(X, y)
    Xt, _ = theirs.fit_resample(X, y)
    assert Xo.dtype == Xt.dtype == dtype
    np.testing.assert_array_equal(Xo, Xt)
    assert ours.median_std_.keys() == theirs.median_std_.keys()
    for c, value in ours.median_std_.items():
        assert value == pytest.approx(theirs.median_std_[c], rel=1e-5)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_arrays_keep_their_dtype_and_imbalanced_learns_rows(dtype):
    """Integer input comes back in its dtype, new continuous values truncated toward 0,
    as in imbalanced-learn (distinct values: no distance ties to break differently)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4)) * 5000
    X[:, 3] = rng.integers(0, 3, 60)
    X = X.astype(dtype)
    y = np.r_[np.zeros(45, int), np.ones(15, int)]
    Xo, yo = SMOTENC([3], random_state=0, device="cpu").fit_resample(X, y)
    Xt, yt = imblearn_over.SMOTENC([3], random_state=0).fit_resample(X, y)
    assert Xo.dtype == Xt.dtype == dtype
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)


def test_pandas_categoricals_strings_and_names():
    pd = pytest.importorskip("pandas")
    X, y = _mixed(seed=2)
    frame = pd.DataFrame(
        {
            "x0": X[:, 0].astype(np.float64),
            "colour": pd.Categorical(X[:, 1]),
            "x2": X[:, 2].astype(np.float32),
            "size": X[:, 3].astype(np.int64),
            "x4": X[:, 4].astype(np.float64),
        }
    )
    frame["size"] = frame["size"].astype(str)
    target = pd.Series(y, name="target")
    for spec in (["colour", "size"], [1, 3]):
        Xo, yo = SMOTENC(spec, random_state=0, device="cpu").fit_resample(frame, target)
        Xt, yt = imblearn_over.SMOTENC(spec, random_state=0).fit_resample(frame, target)
        pd.testing.assert_frame_equal(Xo, Xt)
        pd.testing.assert_series_equal(yo, yt)
        assert isinstance(Xo["colour"].dtype, pd.CategoricalDtype)
    auto = frame.assign(size=frame["size"].astype("category"))
    Xo, _ = SMOTENC("auto", random_state=0, device="cpu").fit_resample(auto, target)
    Xt, _ = imblearn_over.SMOTENC("auto", random_state=0).fit_resample(auto, target)
    pd.testing.assert_frame_equal(Xo, Xt)


def test_encoder_decides_categories():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    X, y = _mixed(seed=3, n_classes=2)
    enc = preprocessing.OneHotEncoder(categories=[["d", "c", "b", "a"], [20, 10]])
    ours = SMOTENC([1, 3], categorical_encoder=enc, random_state=0, device="cpu")
    theirs = imblearn_over.SMOTENC([1, 3], categorical_encoder=enc, random_state=0)
    np.testing.assert_array_equal(ours.fit_resample(X, y)[0], theirs.fit_resample(X, y)[0])
    assert list(ours.categories_[0]) == ["d", "c", "b", "a"]
    dropping = preprocessing.OneHotEncoder(drop="first")
    with pytest.raises(ValueError, match="one column per category"):
        SMOTENC([1, 3], categorical_encoder=dropping, device="cpu").fit_resample(X, y)


def test_tensor_input_on_the_device(device):
    X, y = _mixed(seed=4, n_classes=2)
    X[:, 1] = np.searchsorted(["a", "b", "c", "d"], X[:, 1])
    Xt = torch.as_tensor(X.astype(np.float32), device=device)
    yt = torch.as_tensor(y, device=device)
    Xo, yo = SMOTENC([1, 3], random_state=0).fit_resample(Xt, yt)
    assert Xo.device == Xt.device and Xo.dtype == torch.float32
    assert torch.equal(Xo[: len(y)], Xt)
    new = Xo[len(y) :].cpu()
    assert set(new[:, 1].tolist()) <= {0.0, 1.0, 2.0, 3.0}
    assert set(new[:, 3].tolist()) <= {10.0, 20.0}
    if device.type == "cpu":  # same rows as the numpy path
        ref, _ = imblearn_over.SMOTENC([1, 3], random_state=0).fit_resample(X.astype(np.float32), y)
        np.testing.assert_array_equal(Xo.numpy(), ref)
    g = torch.Generator(device=device).manual_seed(0)
    Xg, _ = SMOTENC([1, 3], random_state=g).fit_resample(Xt, yt)
    assert set(Xg[len(y) :, 3].cpu().tolist()) <= {10.0, 20.0}


def test_bad_input():
    X, y = _mixed(seed=5, n_classes=2)
    cases = [
        ([1, 9], ValueError, "`categorical_features` must be column indices in [-5, 5)"),
        (["colour"], ValueError, "names need a DataFrame"),
        ([True, False], ValueError, "`categorical_features` must be a boolean mask of 5 entries"),
        ([0, 1, 2, 3, 4], ValueError, "SMOTE-NC needs some continuous features"),
        ([], ValueError, "SMOTE-NC needs some categorical features"),
        ("auto", ValueError, '`categorical_features` must be "auto" only for a pandas DataFrame'),
        ([3], TypeError, "numbers in the continuous columns"),
    ]
    for spec, exc, pattern in cases:
        with pytest.raises(exc, match=re.escape(pattern)):
            SMOTENC(spec, device="cpu").fit_resample(X, y)
    X_missing = X.copy()
    X_missing[3, 1] = None
    with pytest.raises(ValueError, match="no missing values in categorical column 1"):
        SMOTENC([1, 3], device="cpu").fit_resample(X_missing, y)
    assert X_missing[3, 1] is None and X[3, 1] is not None  # inputs untouched
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=list("abcde"))
    with pytest.raises(ValueError, match=re.escape("unknown: ['zz']")):
        SMOTENC(["b", "zz"], device="cpu").fit_resample(frame, y)
    fitted = SMOTENC([1, 3], device="cpu").fit(
        X, y
    )  # fit validates; rows come from fit_resample only
    assert not hasattr(fitted, "sample") and not hasattr(fitted, "iter_samples")
