"""Same kept rows (`sample_indices_`) as imbalanced-learn, method by method."""

import re
import warnings

import numpy as np
import pytest
import torch

import gpusmote.under_sampling as ours

imb = pytest.importorskip("imblearn.under_sampling")
datasets = pytest.importorskip("sklearn.datasets")

METHODS = [
    ("RandomUnderSampler", {"random_state": 0}),
    ("RandomUnderSampler", {"random_state": 1, "replacement": True}),
    ("TomekLinks", {}),
    ("EditedNearestNeighbours", {}),
    ("EditedNearestNeighbours", {"kind_sel": "mode", "n_neighbors": 5}),
    ("RepeatedEditedNearestNeighbours", {}),
    ("RepeatedEditedNearestNeighbours", {"kind_sel": "mode", "max_iter": 2}),
    ("AllKNN", {}),
    ("AllKNN", {"allow_minority": True, "n_neighbors": 5}),
    ("NearMiss", {"version": 1}),
    ("NearMiss", {"version": 2}),
    ("NearMiss", {"version": 3, "n_neighbors_ver3": 4}),
    ("NeighbourhoodCleaningRule", {}),
    ("NeighbourhoodCleaningRule", {"threshold_cleaning": 0.1, "n_neighbors": 4}),
    ("CondensedNearestNeighbour", {"random_state": 0}),
    ("CondensedNearestNeighbour", {"random_state": 1, "n_neighbors": 3, "n_seeds_S": 5}),
    ("OneSidedSelection", {"random_state": 0}),
    ("OneSidedSelection", {"random_state": 2, "n_neighbors": 3, "n_seeds_S": 4}),
    ("InstanceHardnessThreshold", {"random_state": 0, "cv": 3, "estimator": "logistic"}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(METHODS)]


def _data(weights=(0.6, 0.3, 0.1), seed=0, n=1500):
    X, y = datasets.make_classification(
        n,
        5,
        n_informative=3,
        n_classes=len(weights),
        weights=list(weights),
        n_clusters_per_class=1,
        flip_y=0.05,
        random_state=seed,
    )
    return X, y


def _pair(name, params):
    if params.get("estimator") == "logistic":
        linear_model = pytest.importorskip("sklearn.linear_model")
        params = {**params, "estimator": linear_model.LogisticRegression()}
    extra = {} if name == "RandomUnderSampler" else {"device": "cpu"}
    return getattr(ours, name)(**params, **extra), getattr(imb, name)(**params)


@pytest.mark.parametrize("weights", [(0.8, 0.2), (0.6, 0.3, 0.1)], ids=["binary", "multiclass"])
@pytest.mark.parametrize(("name", "params"), METHODS, ids=IDS)
def test_same_rows_as_imbalanced_learn(name, params, weights):
    X, y = _data(weights, seed=len(weights))
    a, b = _pair(name, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NearMiss-3 warns on both sides alike
        Xa, ya = a.fit_resample(X, y)
        Xb, yb = b.fit_resample(X, y)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)
    if hasattr(b, "n_iter_"):
        assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize(("name", "params"), METHODS[::2], ids=IDS[::2])
def test_pandas_keeps_index_and_dtypes(name, params):
    pd = pytest.importorskip("pandas")
    X, y = _data(seed=3)
    frame = pd.DataFrame(X, columns=list("abcde"), index=np.arange(len(y)) * 2 + 7)
    frame = frame.astype({"a": "float32"})
    target = pd.Series(y, name="label", index=frame.index)
    a, b = _pair(name, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xa, ya = a.fit_resample(frame, target)
        Xb, yb = b.fit_resample(frame, target)
    pd.testing.assert_frame_equal(Xa, Xb)
    pd.testing.assert_series_equal(ya, yb)


@pytest.mark.parametrize(("name", "params"), METHODS[2::2], ids=IDS[2::2])
def test_tensors_stay_on_their_device(name, params, device):
    X, y = _data(seed=4)
    Xt = torch.as_tensor(X, device=device)
    yt = torch.as_tensor(y, device=device)
    sampler, ref = _pair(name, params)
    sampler.set_params(device="auto")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xo, yo = sampler.fit_resample(Xt, yt)
        ref.fit_resample(X, y)
    assert Xo.device == Xt.device and yo.device == yt.device and Xo.dtype == Xt.dtype
    np.testing.assert_array_equal(sampler.sample_indices_, ref.sample_indices_)
    assert torch.equal(Xo, Xt[torch.as_tensor(sampler.sample_indices_, device=device)])


def test_neighbour_objects_are_accepted():
    neighbors = pytest.importorskip("sklearn.neighbors")
    X, y = _data(seed=5)
    for name in ("EditedNearestNeighbours", "RepeatedEditedNearestNeighbours", "AllKNN"):
        params = {"n_neighbors": neighbors.NearestNeighbors(n_neighbors=4)}
        a, b = _pair(name, params)
        a.fit_resample(X, y)
        b.fit_resample(X, y)
        np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)


def test_random_under_sampler_passes_any_rows_through():
    X = np.array([["a", 1.0], ["b", np.nan], ["c", 3.0], ["d", 4.0], ["e", 5.0]], dtype=object)
    y = np.array([0, 0, 0, 1, 1])
    Xo, yo = ours.RandomUnderSampler(random_state=0).fit_resample(X, y)
    Xt, yt = imb.RandomUnderSampler(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(yo, yt)
    assert [row[0] for row in Xo] == [row[0] for row in Xt]
    g = torch.Generator().manual_seed(0)
    _, yg = ours.RandomUnderSampler(random_state=g).fit_resample(X, y)
    assert np.bincount(yg).tolist() == [2, 2]


def test_bad_input():
    X, y = _data(seed=6)
    cases = [
        (ours.EditedNearestNeighbours(kind_sel="any"), ValueError, '`kind_sel` must be "all"'),
        (ours.EditedNearestNeighbours(n_neighbors=0), ValueError, "`n_neighbors` must be"),
        (ours.EditedNearestNeighbours(n_neighbors="3"), TypeError, "`n_neighbors` must be an int"),
        (ours.NearMiss(version=4), ValueError, "`version` must be 1, 2 or 3"),
        (ours.CondensedNearestNeighbour(n_seeds_S=0), ValueError, "`n_seeds_S` must be"),
        (ours.OneSidedSelection(n_neighbors="x"), TypeError, "`n_neighbors` must be None, an int"),
        (ours.RepeatedEditedNearestNeighbours(max_iter=0), ValueError, "`max_iter` must be"),
        (ours.AllKNN(allow_minority="yes"), TypeError, "`allow_minority`"),
        (ours.NeighbourhoodCleaningRule(threshold_cleaning=-1), ValueError, "`threshold_cleaning`"),
        (ours.TomekLinks(sampling_strategy={0: 10}), ValueError, "as a dict for cleaning methods"),
        (ours.RandomUnderSampler(sampling_strategy={0: 10**6}), ValueError, "samples in a class"),
    ]
    for sampler, exc, pattern in cases:
        with pytest.raises(exc, match=re.escape(pattern)):
            sampler.fit_resample(X, y)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match=re.escape("`X` must be finite")):
        ours.TomekLinks(device="cpu").fit_resample(X_nan, y)
    with pytest.raises(ValueError, match=re.escape("`n_neighbors` must be at most")):
        ours.NearMiss(n_neighbors=10**5, device="cpu").fit_resample(X, y)
    assert np.isnan(X_nan[0, 0]) and not np.isnan(X).any()


STRING_OK = [2, 3, 5, 7, 9, 14]  # imbalanced-learn's "mode" votes (scipy) refuse strings


@pytest.mark.parametrize(
    ("name", "params"), [METHODS[i] for i in STRING_OK], ids=[IDS[i] for i in STRING_OK]
)
def test_string_labels(name, params):
    X, y = _data(seed=7)
    labels = np.array(["cat", "dog", "emu"])[y]
    a, b = _pair(name, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, ya = a.fit_resample(X, labels)
        b.fit_resample(X, labels)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    assert ya.dtype == labels.dtype


@pytest.mark.parametrize("version", [1, 2, 3])
def test_near_miss_searches_with_a_given_neighbours_object(version):
    """A non-Euclidean neighbours object is honoured (its own kneighbors), as there."""
    neighbors = pytest.importorskip("sklearn.neighbors")
    X, y = _data(seed=8)
    params = {
        "version": version,
        "n_neighbors": neighbors.NearestNeighbors(n_neighbors=4, metric="manhattan"),
        "n_neighbors_ver3": neighbors.NearestNeighbors(n_neighbors=2, metric="manhattan"),
    }
    a, b = _pair("NearMiss", params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a.fit_resample(X, y)
        b.fit_resample(X, y)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    euclidean, _ = _pair("NearMiss", {"version": version, "n_neighbors": 4})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        euclidean.fit_resample(X, y)
    assert not np.array_equal(euclidean.sample_indices_, a.sample_indices_)


@pytest.mark.parametrize(("name", "params"), METHODS, ids=IDS)
def test_same_rows_on_separated_classes(name, params):
    """Classes far apart: no row is misclassified, in danger or linked, so the cleaning
    steps have nothing to look at (NeighbourhoodCleaningRule searched zero rows)."""
    rng = np.random.default_rng(0)
    sizes = (150, 40, 30)
    X = np.concatenate([rng.normal(10 * i, 1, (m, 4)) for i, m in enumerate(sizes)])
    y = np.concatenate([np.full(m, i) for i, m in enumerate(sizes)])
    a, b = _pair(name, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xa, ya = a.fit_resample(X, y)
        Xb, yb = b.fit_resample(X, y)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)
