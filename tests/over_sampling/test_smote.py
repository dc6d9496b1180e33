import re

import numpy as np
import pytest
import torch

from gpusmote import SMOTE, NearestNeighbors
from gpusmote.exceptions import NotFittedError

imblearn_over = pytest.importorskip("imblearn.over_sampling")


def _data(n_per_class=(200, 30, 45), d=5, dtype=np.float64, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(loc=i, size=(n, d)) for i, n in enumerate(n_per_class)])
    y = np.concatenate([np.full(n, i) for i, n in enumerate(n_per_class)])
    order = rng.permutation(len(y))
    X, y = X[order].astype(dtype), y[order]
    if labels is not None:
        y = np.asarray(labels)[y]
    return X, y


def _tol(dtype):
    return {"rtol": 1e-4, "atol": 0} if dtype == np.float32 else {"rtol": 1e-7, "atol": 0}


STRATEGIES_MULTI = ["auto", "minority", "not minority", "not majority", "all", {1: 100, 2: 60}]
STRATEGIES_BINARY = [0.5, 1.0, "auto", "minority", {1: 150}, lambda y: {1: int((y == 1).sum()) * 2}]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strategy", STRATEGIES_MULTI)
def test_same_rows_as_imbalanced_learn_multiclass(strategy, dtype):
    X, y = _data(dtype=dtype)
    ours = SMOTE(sampling_strategy=strategy, random_state=7, device="cpu")
    theirs = imblearn_over.SMOTE(sampling_strategy=strategy, random_state=7)
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = theirs.fit_resample(X, y)
    assert Xo.dtype == Xt.dtype and Xo.shape == Xt.shape
    np.testing.assert_allclose(Xo, Xt, **_tol(dtype))
    np.testing.assert_array_equal(yo, yt)
    assert dict(ours.sampling_strategy_) == dict(theirs.sampling_strategy_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strategy", STRATEGIES_BINARY)
def test_same_rows_as_imbalanced_learn_binary(strategy, dtype):
    X, y = _data(n_per_class=(300, 40), dtype=dtype, seed=1)
    Xo, yo = SMOTE(sampling_strategy=strategy, random_state=3, device="cpu").fit_resample(X, y)
    Xt, yt = imblearn_over.SMOTE(sampling_strategy=strategy, random_state=3).fit_resample(X, y)
    np.testing.assert_allclose(Xo, Xt, **_tol(dtype))
    np.testing.assert_array_equal(yo, yt)


def test_shared_random_state_instance_matches():
    """A RandomState instance is one stream across classes (an int restarts per class)."""
    X, y = _data()
    Xo, _ = SMOTE(random_state=np.random.RandomState(5), device="cpu").fit_resample(X, y)
    Xt, _ = imblearn_over.SMOTE(random_state=np.random.RandomState(5)).fit_resample(X, y)
    np.testing.assert_array_equal(Xo, Xt)
    Xi, _ = SMOTE(random_state=5, device="cpu").fit_resample(X, y)
    assert not np.array_equal(Xo, Xi)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_k_neighbors_and_neighbour_objects_match(k):
    X, y = _data(seed=2)
    expected = imblearn_over.SMOTE(k_neighbors=k, random_state=0).fit_resample(X, y)
    for nn in (k, NearestNeighbors(n_neighbors=k + 1)):
        got = SMOTE(k_neighbors=nn, random_state=0, device="cpu").fit_resample(X, y)
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
    sk_neighbors = pytest.importorskip("sklearn.neighbors")
    got = SMOTE(k_neighbors=sk_neighbors.NearestNeighbors(n_neighbors=k + 1), random_state=0)
    np.testing.assert_allclose(got.fit_resample(X, y)[0], expected[0], rtol=1e-12)


def test_layout_originals_first_then_classes_in_order():
    X, y = _data(labels=np.array(["c", "a", "b"]))  # class 0 -> "c" is the majority
    Xo, yo = SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    n = len(y)
    np.testing.assert_array_equal(Xo[:n], X)
    np.testing.assert_array_equal(yo[:n], y)
    new = yo[n:]
    assert list(dict.fromkeys(new)) == ["a", "b"]  # sorted, grouped, majority untouched
    assert (new[:-1] <= new[1:]).all()


def test_rows_lie_on_segments_both_directions():
    """Two minority points: every new row is on the segment between them, from either end.

    ``x + u * |x_nn - x|`` (a common tutorial bug) would push rows generated from the
    upper point beyond it.
    """
    a, b = np.array([0.0, 0.0]), np.array([1.0, 2.0])
    X = np.vstack([np.random.default_rng(0).normal(5, 1, size=(400, 2)), a, b])
    y = np.r_[np.zeros(400, int), 1, 1]
    Xo, _ = SMOTE(k_neighbors=1, random_state=0, device="cpu").fit_resample(X, y)
    t = Xo[402:, 0]  # position along the segment (x = t, y = 2t)
    np.testing.assert_allclose(Xo[402:, 1], 2 * t, rtol=1e-12, atol=1e-12)
    assert t.min() >= 0.0 and t.max() <= 1.0
    assert (t < 0.25).sum() > 50 and (t > 0.75).sum() > 50  # from both ends


@pytest.mark.parametrize(
    "dtype,big", [(torch.float32, 3.4e38), (torch.float16, 6.5e4), (torch.float64, 1e150)]
)
def test_rows_near_the_dtypes_largest_stay_finite_on_their_segments(dtype, big):
    """x + u * (x_nn - x) overflows when x and x_nn are far apart near the dtype's
    largest values (imbalanced-learn gives infinities there): gpusmote does not."""
    from gpusmote import ADASYN, BorderlineSMOTE

    minority = [-1.0, 1.0, -0.9, 0.9, -0.95, 0.95]
    X = torch.tensor([[v * big] for v in minority] + [[float(i)] for i in range(12)], dtype=dtype)
    y = torch.tensor([1] * 6 + [0] * 12)
    samplers = [
        SMOTE(k_neighbors=3, random_state=0, device="cpu"),
        BorderlineSMOTE(k_neighbors=3, random_state=0, kind="borderline-2", device="cpu"),
        ADASYN(n_neighbors=3, random_state=0, device="cpu"),
    ]
    for sampler in samplers:
        Xr, _ = sampler.fit_resample(X, y)
        new = Xr[len(X) :].double()
        assert len(new) and torch.isfinite(new).all(), type(sampler).__name__
        assert (new.abs() <= big * 1.001).all()
    Xr, _ = samplers[0].fit_resample(X, y)  # SMOTE: each row on a minority segment
    new, rows = Xr[len(X) :].double().ravel(), X[:6].double().ravel()
    lo, hi = rows.min(), rows.max()
    assert ((new >= lo) & (new <= hi)).all() and (new < 0).any() and (new > 0).any()
    if dtype == torch.float64:  # beyond 2**500 squared float64 distances overflow
        with pytest.raises(ValueError, match=re.escape("`X` must be within 3.3e+150")):
            samplers[0].fit_resample(X * 1e10, y)


def test_pandas_in_pandas_out():
    pd = pytest.importorskip("pandas")
    X, y = _data(dtype=np.float32)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["count"] = np.arange(len(frame), dtype=np.int64) % 7
    target = pd.Series(np.array(["no", "yes", "maybe"])[y], name="label")
    Xo, yo = SMOTE(random_state=0, device="cpu").fit_resample(frame, target)
    Xt, yt = imblearn_over.SMOTE(random_state=0).fit_resample(frame, target)
    assert list(Xo.columns) == list(frame.columns) and (Xo.dtypes == frame.dtypes).all()
    assert yo.name == "label" and yo.dtype == target.dtype
    pd.testing.assert_frame_equal(Xo, Xt, rtol=1e-6)
    pd.testing.assert_series_equal(yo, yt)
    assert list(SMOTE(device="cpu").fit(frame, target).feature_names_in_) == list(frame.columns)


def test_lists_and_bool_labels():
    X, y = _data(n_per_class=(40, 10), seed=3)
    yb = y.astype(bool)
    Xo, yo = SMOTE(random_state=1, device="cpu").fit_resample(X.tolist(), yb.tolist())
    Xt, yt = imblearn_over.SMOTE(random_state=1).fit_resample(X.tolist(), yb.tolist())
    assert isinstance(Xo, list) and isinstance(yo, list)
    np.testing.assert_allclose(np.array(Xo), np.array(Xt), rtol=1e-7)
    assert yo == yt


def test_integer_features_round_like_imbalanced_learn():
    X, y = _data(seed=4)
    Xi = (X * 10_000).astype(np.int64)  # wide range: no tied distances to order differently
    Xo, _ = SMOTE(random_state=0, device="cpu").fit_resample(Xi, y)
    Xt, _ = imblearn_over.SMOTE(random_state=0).fit_resample(Xi, y)
    assert Xo.dtype == np.int64
    np.testing.assert_array_equal(Xo, Xt)


def test_torch_in_torch_out(device, dtype):
    X, y = _data(dtype=np.float64)
    Xt = torch.as_tensor(X, dtype=dtype, device=device)
    yt = torch.as_tensor(y, device=device)
    Xo, yo = SMOTE(random_state=0).fit_resample(Xt, yt)
    assert isinstance(Xo, torch.Tensor) and Xo.device.type == device.type and Xo.dtype == dtype
    assert yo.device.type == device.type and yo.dtype == yt.dtype
    expected = imblearn_over.SMOTE(random_state=0).fit_resample(Xt.cpu().numpy(), y)
    np.testing.assert_allclose(Xo.cpu().numpy(), expected[0], **_tol(Xt.cpu().numpy().dtype))
    np.testing.assert_array_equal(yo.cpu().numpy(), expected[1])


def test_torch_generator_draws_on_device(device):
    X, y = _data(dtype=np.float32)
    Xt, yt = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)

    def run(seed):
        g = torch.Generator(device=device).manual_seed(seed)
        return SMOTE(random_state=g).fit_resample(Xt, yt)

    (X1, y1), (X2, _), (X3, _) = run(0), run(0), run(1)
    assert torch.equal(X1, X2) and not torch.equal(X1, X3)
    assert torch.bincount(y1).tolist() == [200, 200, 200]
    # same distribution as the numpy stream: new rows inside each class's bounding box
    for c in (1, 2):
        cls = Xt[yt == c]
        new = X1[len(y) :][y1[len(y) :] == c]
        assert (new >= cls.min(0).values - 1e-6).all() and (new <= cls.max(0).values + 1e-6).all()


def test_inputs_are_not_modified():
    X, y = _data(dtype=np.float32)
    X0, y0 = X.copy(), y.copy()
    Xt = torch.as_tensor(X)
    Xt0 = Xt.clone()
    SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    SMOTE(random_state=0).fit_resample(Xt, torch.as_tensor(y))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert torch.equal(Xt, Xt0)


def test_params_clone_pipeline_and_grid_search():
    base = pytest.importorskip("sklearn.base")
    model_selection = pytest.importorskip("sklearn.model_selection")
    linear = pytest.importorskip("sklearn.linear_model")
    pipeline = pytest.importorskip("imblearn.pipeline")
    smote = SMOTE(k_neighbors=NearestNeighbors(n_neighbors=4), random_state=0, device="cpu")
    params = smote.get_params()
    assert params["k_neighbors__n_neighbors"] == 4 and params["device"] == "cpu"
    twin = base.clone(smote)
    assert twin.get_params(deep=False).keys() == smote.get_params(deep=False).keys()
    assert twin.k_neighbors is not smote.k_neighbors
    X, y = _data(n_per_class=(200, 40), seed=5)
    pipe = pipeline.Pipeline(
        [("smote", SMOTE(random_state=0, device="cpu")), ("clf", linear.LogisticRegression())]
    )
    grid = model_selection.GridSearchCV(
        pipe, {"smote__k_neighbors": [3, 5]}, cv=3, scoring="recall"
    )
    grid.fit(X, y)
    assert grid.best_params_["smote__k_neighbors"] in (3, 5)
    assert 0.0 <= grid.best_score_ <= 1.0


def test_sample_and_iter_samples():
    X, y = _data(n_per_class=(200, 30), dtype=np.float32, seed=6)
    smote = SMOTE(random_state=0, device="cpu").fit(X, y)
    assert dict(smote.sampling_strategy_) == {1: 170}
    X_new, y_new = smote.sample(1000)
    assert X_new.shape == (1000, 5) and X_new.dtype == np.float32 and (y_new == 1).all()
    cls = X[y == 1]
    assert (X_new >= cls.min(0) - 1e-6).all() and (X_new <= cls.max(0) + 1e-6).all()
    # a fresh fit with the same seed starts the same stream: its first draw is fit_resample's
    first, _ = SMOTE(random_state=0, device="cpu").fit(X, y).sample(170)
    Xo, _ = SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    np.testing.assert_array_equal(first, Xo[len(y) :])
    chunks = list(smote.iter_samples(2500, chunk_size=1000))
    assert [len(c[0]) for c in chunks] == [1000, 1000, 500]
    with pytest.raises(ValueError, match="`klass` must be one of the over-sampled classes"):
        smote.sample(5, klass=0)
    with pytest.raises(NotFittedError, match="not fitted"):
        SMOTE().sample(5)


def test_sample_tensors_stay_tensors(device):
    X, y = _data(n_per_class=(100, 20), dtype=np.float32)
    smote = SMOTE(random_state=0).fit(
        torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    )
    X_new, y_new = smote.sample(64, klass=1)
    assert X_new.device.type == device.type and X_new.dtype == torch.float32
    assert y_new.device.type == device.type and (y_new == 1).all()


@pytest.mark.parametrize(
    "make,exc,pattern",
    [
        (lambda X, y: (np.where(X > 2, np.nan, X), y), ValueError, "`X` must be finite"),
        (lambda X, y: (X, y[:-1]), ValueError, "`y` must be one label per row of X"),
        (lambda X, y: (X, np.zeros_like(y)), ValueError, "needs to have more than 1 class"),
        (lambda X, y: (X, y + 0.5), ValueError, "`y` must be class labels"),
    ],
)
def test_bad_data_is_rejected(make, exc, pattern):
    X, y = _data(n_per_class=(50, 10), seed=7)
    with pytest.raises(exc, match=re.escape(pattern)):
        SMOTE(device="cpu").fit_resample(*make(X, y))


def test_bad_parameters_are_rejected():
    X, y = _data(seed=8)
    cases = [
        (
            dict(sampling_strategy=0.5),
            ValueError,
            "can be a float only when the type of target is binary",
        ),
        (dict(sampling_strategy={9: 300}), ValueError, "{9} target class is/are not present"),
        (dict(k_neighbors=0), ValueError, "`k_neighbors` must be an integer >= 1"),
        (dict(k_neighbors="five"), TypeError, "`k_neighbors` must be an int or an object"),
        (dict(random_state="seed"), TypeError, "`random_state` must be None, an int"),
        (dict(backend="annoy"), ValueError, "`backend` must be"),
        (dict(device="tpu"), ValueError, "`device` must be"),
    ]
    for params, exc, pattern in cases:
        with pytest.raises(exc, match=re.escape(pattern)):
            SMOTE(**params).fit_resample(X, y)


def test_class_too_small_names_the_class_and_its_rows():
    X, y = _data(n_per_class=(50, 4), seed=9, labels=np.array(["ok", "rare"]))
    with pytest.raises(ValueError, match=r"class 'rare', which has 4 .*got 5"):
        SMOTE(device="cpu").fit_resample(X, y)
    with pytest.raises(ValueError, match=r"at most 4 neighbours.*class 'rare'"):
        SMOTE(k_neighbors=NearestNeighbors(n_neighbors=6), device="cpu").fit_resample(X, y)


@pytest.mark.cuda
def test_cuda_matches_cpu_rows():
    X, y = _data(dtype=np.float32)
    cpu = SMOTE(random_state=0, device="cpu").fit_resample(X, y)[0]
    gpu = SMOTE(random_state=0, device="cuda").fit_resample(X, y)[0]
    assert isinstance(gpu, np.ndarray)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-6)
