import re

import numpy as np
import pytest
import torch

from gpusmote import SMOTEN

imblearn_over = pytest.importorskip("imblearn.over_sampling")


def _nominal(n=300, seed=0, n_classes=3):
    """Four columns of 4-8 categories; 300 rows of 7,168 possible: distances rarely tie."""
    rng = np.random.default_rng(seed)
    columns = [list("abcdefgh"), list("xyzw"), ["p", "q", "r", "s", "t"], list("ABCDEFG")]
    X = np.stack([rng.choice(c, n) for c in columns], 1).astype(object)
    sizes = [n - 80, 50, 30][:n_classes]
    sizes[0] = n - sum(sizes[1:])
    y = np.repeat(np.arange(n_classes), sizes)[rng.permutation(n)]
    return X, y


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("k", [3, 5])
def test_same_rows_as_imbalanced_learn(n_classes, k):
    X, y = _nominal(n_classes=n_classes, seed=k)
    Xo, yo = SMOTEN(k_neighbors=k, random_state=0, device="cpu").fit_resample(X, y)
    Xt, yt = imblearn_over.SMOTEN(k_neighbors=k, random_state=0).fit_resample(X, y)
    assert Xo.dtype == Xt.dtype
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)


def test_string_and_integer_arrays_and_shared_random_state():
    X, y = _nominal(seed=1)
    for data in (X.astype(str), np.searchsorted(sorted(set(X.ravel())), X).astype(np.int64)):
        ours = SMOTEN(random_state=np.random.RandomState(3), device="cpu")
        theirs = imblearn_over.SMOTEN(random_state=np.random.RandomState(3))
        Xo, _ = ours.fit_resample(data, y)
        Xt, _ = theirs.fit_resample(data, y)
        assert Xo.dtype == Xt.dtype == data.dtype
        np.testing.assert_array_equal(Xo, Xt)


def test_pandas_in_pandas_out():
    pd = pytest.importorskip("pandas")
    X, y = _nominal(seed=2)
    frame = pd.DataFrame(X, columns=["w", "x", "y", "z"]).astype({"w": "category"})
    Xo, yo = SMOTEN(random_state=0, device="cpu").fit_resample(frame, pd.Series(y, name="t"))
    Xt, yt = imblearn_over.SMOTEN(random_state=0).fit_resample(frame, pd.Series(y, name="t"))
    pd.testing.assert_frame_equal(Xo, Xt)
    pd.testing.assert_series_equal(yo, yt)


def test_encoder_and_neighbour_estimator():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    neighbors = pytest.importorskip("sklearn.neighbors")
    X, y = _nominal(seed=3, n_classes=2)
    enc = preprocessing.OrdinalEncoder(
        categories=[list("hgfedcba"), list("wzyx"), list("tsrqp"), list("GFEDCBA")]
    )
    for params in (
        dict(categorical_encoder=enc),
        dict(k_neighbors=neighbors.NearestNeighbors(n_neighbors=4)),
    ):
        Xo, _ = SMOTEN(random_state=0, device="cpu", **params).fit_resample(X, y)
        Xt, _ = imblearn_over.SMOTEN(random_state=0, **params).fit_resample(X, y)
        np.testing.assert_array_equal(Xo, Xt)


def test_tensor_codes_on_the_device(device):
    X, y = _nominal(seed=4, n_classes=2)
    codes = np.searchsorted(sorted(set(X.ravel())), X).astype(np.float32)
    Xt = torch.as_tensor(codes, device=device)
    yt = torch.as_tensor(y, device=device)
    Xo, yo = SMOTEN(random_state=0).fit_resample(Xt, yt)
    assert Xo.device == Xt.device and Xo.dtype == torch.float32
    assert torch.equal(Xo[: len(y)], Xt)
    for f in range(4):  # new values are values of that column
        assert set(Xo[len(y) :, f].tolist()) <= set(Xt[:, f].tolist())
    if device.type == "cpu":
        ref, _ = imblearn_over.SMOTEN(random_state=0).fit_resample(codes, y)
        np.testing.assert_array_equal(Xo.numpy(), ref)
    g = torch.Generator(device=device).manual_seed(0)
    Xg, yg = SMOTEN(random_state=g).fit_resample(Xt, yt)
    assert torch.bincount(yg).tolist() == [250, 250]


def test_tiles_do_not_change_the_neighbours():
    from gpusmote.neighbors._vdm import vdm_block, vdm_kneighbors, vdm_tables

    X, y = _nominal(n=500, seed=5)
    codes = torch.as_tensor(np.searchsorted(sorted(set(X.ravel())), X))
    tables = vdm_tables(codes, torch.as_tensor(y), 3, [int(c.max()) + 1 for c in codes.T])
    full = vdm_block(codes, codes, tables)
    # reference: the full matrix ordered by (distance, index)
    order = full.sort(dim=1, stable=True).indices[:, :6].numpy()
    for budget in (10_000, 60_000, 1 << 30):  # 19, 117 and all columns per tile
        np.testing.assert_array_equal(vdm_kneighbors(codes, tables, 6, budget).numpy(), order)


def test_bad_input():
    X, y = _nominal(seed=6, n_classes=2)
    with pytest.raises(
        ValueError, match=re.escape("`k_neighbors` must be smaller than the number of rows")
    ):
        SMOTEN(k_neighbors=80, device="cpu").fit_resample(X, y)
    X_nan = np.where(X == "a", None, X)
    with pytest.raises(ValueError, match="no missing values in categorical column 0"):
        SMOTEN(device="cpu").fit_resample(X_nan, y)
    with pytest.raises(TypeError, match="`categorical_encoder` must be None or an encoder"):
        SMOTEN(categorical_encoder="ordinal", device="cpu").fit_resample(X, y)
    fitted = SMOTEN(device="cpu").fit(X, y)  # fit validates; rows come from fit_resample only
    assert not hasattr(fitted, "sample") and not hasattr(fitted, "iter_samples")
