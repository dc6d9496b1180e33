"""Swapping ``imblearn`` for ``gpusmote`` keeps working code working: ``n_jobs``,
neighbours objects, imbalanced-learn's fitted attributes, its exception classes,
scikit-learn's tags and HTML view, and every column dtype a DataFrame can hold."""

import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn import over_sampling as imb_over
from sklearn.neighbors import KNeighborsClassifier as SkKNN
from sklearn.neighbors import NearestNeighbors as SkNN
from sklearn.utils import get_tags

from gpusmote import ADASYN, SMOTE, SMOTENC, SVMSMOTE, BorderlineSMOTE, KMeansSMOTE
from gpusmote.combine import SMOTEENN, SMOTETomek
from gpusmote.exceptions import InvalidParameterError, NotFittedError
from gpusmote.neighbors import KNeighborsClassifier, NearestNeighbors
from gpusmote.under_sampling import (
    AllKNN,
    CondensedNearestNeighbour,
    EditedNearestNeighbours,
    NearMiss,
    NeighbourhoodCleaningRule,
    OneSidedSelection,
    RepeatedEditedNearestNeighbours,
    TomekLinks,
)

WITH_N_JOBS = [
    TomekLinks,
    EditedNearestNeighbours,
    RepeatedEditedNearestNeighbours,
    AllKNN,
    NearMiss,
    CondensedNearestNeighbour,
    OneSidedSelection,
    NeighbourhoodCleaningRule,
    KMeansSMOTE,
    SMOTEENN,
    SMOTETomek,
]


def _data(n=(120, 40), d=4, seed=0):
    """Continuous draws: no tied distances, so every search order agrees."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(1.2 * i, 1, (m, d)) for i, m in enumerate(n)])
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    return X, y


# n_jobs ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", WITH_N_JOBS, ids=lambda c: c.__name__)
def test_n_jobs_wherever_imblearn_has_it(cls):
    X, y = _data()
    before = torch.get_num_threads()
    sampler = cls(n_jobs=1)
    assert sampler.get_params()["n_jobs"] == 1
    sampler.fit_resample(X, y)
    assert torch.get_num_threads() == before
    cls(n_jobs=-1).fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="`n_jobs` must be None or a non-zero int"):
        cls(n_jobs=0).fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="`n_jobs`"):
        cls(n_jobs=1.5).fit_resample(X, y)


def test_n_jobs_caps_torch_threads_during_the_call_and_restores_them(two_threads):
    """(Both cores taken as free: beside other work a large call would also hold to the
    free cores, `_device.load_cap`; CI once ran this beside other tests.)"""
    X, y = _data(n=(15000, 3000), d=16)  # above the one-thread size of small inputs
    seen = []

    def strategy(y_):  # a callable strategy runs inside fit_resample, under the cap
        seen.append(torch.get_num_threads())
        return {0: 3000}

    NearMiss(sampling_strategy=strategy, n_jobs=1).fit_resample(X, y)
    assert seen == [1] and torch.get_num_threads() == 2
    NearMiss(sampling_strategy=strategy, n_jobs=None).fit_resample(X, y)
    assert seen == [1, 2]  # None: no cap (a large input keeps torch's setting)


def test_n_jobs_caps_from_several_threads_restore_the_setting():
    X, y = _data(n=(2000, 500), d=8)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    errors = []

    def run(jobs):
        try:
            for _ in range(3):
                TomekLinks(n_jobs=jobs, device="cpu").fit_resample(X, y)
        except Exception as exc:  # re-raised below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run, args=(j,)) for j in (1, 2, None, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)


def test_n_jobs_reaches_the_scikit_learn_objects():
    X, y = _data()
    enn = EditedNearestNeighbours(n_neighbors=SkNN(n_neighbors=4), n_jobs=2).fit(X, y)
    enn.fit_resample(X, y)
    assert enn.nn_.n_jobs == 2 and enn.n_neighbors.n_jobs is None  # a clone, set
    ncr = NeighbourhoodCleaningRule(n_jobs=2)
    ncr.fit_resample(X, y)
    assert ncr.edited_nearest_neighbours_.n_jobs == 2
    combined = SMOTEENN(n_jobs=3, random_state=0)
    combined.fit_resample(X, y)
    assert combined.enn_.n_jobs == 3
    cnn = CondensedNearestNeighbour(n_neighbors=SkKNN(1), n_jobs=2, random_state=0)
    cnn.fit_resample(X, y)
    assert all(est.n_jobs == 2 for est in cnn.estimators_)


# neighbours objects -------------------------------------------------------------------
@pytest.mark.parametrize(
    "ours, theirs, names",
    [
        (ADASYN, imb_over.ADASYN, ["n_neighbors"]),
        (BorderlineSMOTE, imb_over.BorderlineSMOTE, ["k_neighbors", "m_neighbors"]),
        (SVMSMOTE, imb_over.SVMSMOTE, ["k_neighbors", "m_neighbors"]),
    ],
    ids=["ADASYN", "BorderlineSMOTE", "SVMSMOTE"],
)
def test_neighbours_objects_give_imblearns_rows(ours, theirs, names):
    X, y = _data(n=(150, 40), seed=3)
    params = {name: SkNN(n_neighbors=6 + 2 * i) for i, name in enumerate(names)}
    ours_s = ours(random_state=0, device="cpu", **params)
    X_a, y_a = ours_s.fit_resample(X, y)
    X_b, y_b = theirs(random_state=0, **params).fit_resample(X, y)
    np.testing.assert_allclose(X_a, X_b, rtol=1e-12, atol=1e-12)  # float64 in, float64 out
    np.testing.assert_array_equal(y_a, y_b)
    for attr, name in (("nn_", "n_neighbors"), ("nn_k_", "k_neighbors"), ("nn_m_", "m_neighbors")):
        if name in names:
            got = getattr(ours_s, attr)
            assert isinstance(got, SkNN) and got is not params[name]
            assert got.n_neighbors == params[name].n_neighbors


# fitted attributes ---------------------------------------------------------------------
def test_imblearns_fitted_attributes():
    X, y = _data(n=(150, 50), seed=1)
    smote = SMOTE(random_state=0).fit(X, y)
    assert isinstance(smote.nn_k_, NearestNeighbors) and smote.nn_k_.n_neighbors == 6
    assert smote.nn_k_.n_samples_fit_ == 50  # fitted on the last class searched
    for cls in (BorderlineSMOTE, SVMSMOTE):
        s = cls(random_state=0)
        s.fit_resample(X, y)
        assert (s.nn_k_.n_neighbors, s.nn_m_.n_neighbors) == (6, 11)
    ada = ADASYN(random_state=0)
    ada.fit_resample(X, y)
    assert ada.nn_.n_neighbors == 6
    for cls in (EditedNearestNeighbours, RepeatedEditedNearestNeighbours, AllKNN):
        s = cls()
        s.fit_resample(X, y)
        assert s.nn_.n_neighbors == 4
    renn, allknn = RepeatedEditedNearestNeighbours(), AllKNN()
    renn.fit_resample(X, y)
    allknn.fit_resample(X, y)
    assert isinstance(renn.enn_, EditedNearestNeighbours) and renn.enn_.n_neighbors == 3
    assert isinstance(allknn.enn_, EditedNearestNeighbours)
    nm = NearMiss(version=3)
    with pytest.warns(UserWarning, match="larger than the number of samples available"):
        nm.fit_resample(X, y)  # version 3 keeps fewer than asked here, as imbalanced-learn
    assert (nm.nn_.n_neighbors, nm.nn_ver3_.n_neighbors) == (3, 3)
    ncr = NeighbourhoodCleaningRule()
    ncr.fit_resample(X, y)
    assert isinstance(ncr.edited_nearest_neighbours_, EditedNearestNeighbours)
    assert hasattr(ncr.edited_nearest_neighbours_, "sample_indices_")  # fitted
    assert ncr.nn_.n_neighbors == 3
    for cls in (CondensedNearestNeighbour, OneSidedSelection):
        s = cls(random_state=0)
        s.fit_resample(X, y)
        assert len(s.estimators_) == 1
        est = s.estimators_[0]
        assert isinstance(est, KNeighborsClassifier) and list(est.classes_) == [0, 1]
    for cls in (SMOTEENN, SMOTETomek):
        s = cls(random_state=0)
        s.fit_resample(X, y)
        assert s.n_features_in_ == 4
    Xc = np.c_[X, np.arange(len(X)) % 3]
    nc = SMOTENC([4], random_state=0)
    nc.fit_resample(Xc, y)
    assert nc.n_features_ == 5
    assert list(nc.categorical_encoder_.categories_[0]) == [0.0, 1.0, 2.0]
    km = KMeansSMOTE(random_state=0, cluster_balance_threshold=0.0, kmeans_estimator=2)
    km.fit_resample(X, y)
    for attr in ("cluster_centers_", "labels_", "inertia_", "n_iter_", "n_features_in_"):
        assert hasattr(km.kmeans_estimator_, attr), attr
    assert km.kmeans_estimator_.n_clusters == 2


def test_knn_rule_classifier_against_scikit_learn():
    X, y = _data(n=(200, 80), seed=5)
    rng = np.random.default_rng(1)
    Q = rng.normal(0.6, 1.2, (100, 4))
    for k in (1, 4, 7):
        ours = KNeighborsClassifier(k, device="cpu").fit(X, y)
        theirs = SkKNN(k).fit(X, y)
        np.testing.assert_array_equal(ours.predict(Q), theirs.predict(Q))
        np.testing.assert_allclose(ours.predict_proba(Q), theirs.predict_proba(Q), atol=0)
    with pytest.raises(NotFittedError):
        KNeighborsClassifier().predict(Q)


# exceptions, tags, HTML ----------------------------------------------------------------
def test_parameter_errors_are_invalid_parameter_errors():
    from sklearn.utils._param_validation import InvalidParameterError as SkInvalid

    X, y = _data()
    cases = [
        SMOTE(k_neighbors="five"),
        SMOTE(max_memory=-1),
        SMOTE(device="tpu"),
        TomekLinks(sampling_strategy="all", backend="nope"),
        EditedNearestNeighbours(kind_sel="most"),
        BorderlineSMOTE(kind="borderline-3"),
        ADASYN(n_neighbors=0),
    ]
    for sampler in cases:
        with pytest.raises(SkInvalid) as info:
            sampler.fit_resample(X, y)
        assert isinstance(info.value, InvalidParameterError)
        assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_not_fitted_is_scikit_learns_not_fitted_error():
    from sklearn.exceptions import NotFittedError as SkNotFitted

    for call in (lambda: SMOTE().sample(5), lambda: NearestNeighbors().kneighbors([[0.0]])):
        with pytest.raises(SkNotFitted) as info:
            call()
        assert isinstance(info.value, (ValueError, AttributeError))


def test_import_loads_no_scikit_learn_and_errors_link_to_it_later():
    """gpusmote's import brings no scikit-learn, scipy or pandas (about 70 MiB in every
    Dask worker); scikit-learn imported afterwards still catches gpusmote's errors."""
    code = """
import sys
import gpusmote
heavy = [m for m in ("sklearn", "scipy", "pandas") if m in sys.modules]
assert not heavy, heavy
import sklearn.exceptions, sklearn.utils._param_validation as pv
try:
    gpusmote.SMOTE(k_neighbors=0).fit_resample([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
except pv.InvalidParameterError as exc:
    assert isinstance(exc, TypeError)
try:
    gpusmote.SMOTE().sample(3)
except sklearn.exceptions.NotFittedError:
    pass
from gpusmote.exceptions import NotFittedError
assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_tags_and_html_repr():
    from imblearn.base import is_sampler

    tags = get_tags(SMOTE())
    assert tags.estimator_type == "sampler" and tags.target_tags.required
    assert tags.input_tags.sparse
    assert is_sampler(SMOTE()) and is_sampler(TomekLinks())
    assert get_tags(TomekLinks()).sampler_tags.sample_indices
    assert not get_tags(SMOTE()).sampler_tags.sample_indices
    html = SMOTEENN(smote=SMOTE(k_neighbors=3))._repr_html_()
    assert "SMOTEENN" in html and "k_neighbors" in html


def test_everything_else_works_without_scikit_learn():
    code = """
import sys
sys.modules["sklearn"] = None  # import sklearn -> ImportError
import numpy as np
from gpusmote import SMOTE, SMOTENC
from gpusmote.under_sampling import TomekLinks, CondensedNearestNeighbour
from gpusmote.exceptions import InvalidParameterError, NotFittedError
rng = np.random.default_rng(0)
X = rng.normal(size=(80, 3)); y = np.r_[np.zeros(60, int), np.ones(20, int)]
assert SMOTE(random_state=0).fit_resample(X, y)[0].shape == (120, 3)
TomekLinks().fit_resample(X, y)
cnn = CondensedNearestNeighbour(random_state=0); cnn.fit_resample(X, y)
assert cnn.estimators_[0].predict(X[:2]).shape == (2,)
Xc = np.c_[X, np.arange(80) % 3]
nc = SMOTENC([3], random_state=0); nc.fit_resample(Xc, y)
assert nc.categorical_encoder_ is None
assert SMOTE()._repr_html_() is None
try:
    SMOTE(k_neighbors=0).fit_resample(X, y)
except ValueError as exc:
    assert isinstance(exc, InvalidParameterError) and isinstance(exc, TypeError)
try:
    SMOTE().sample(3)
except AttributeError as exc:
    assert isinstance(exc, NotFittedError) and isinstance(exc, ValueError)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# DataFrame columns ----------------------------------------------------------------------
def _frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n - 15, int), np.ones(15, int)]
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n) * 1e3}), y, rng


@pytest.mark.parametrize(
    "kind", ["bool", "boolean", "Int64", "Float64", "object-numbers", "category-numbers", "int8"]
)
@pytest.mark.parametrize("cls", [SMOTE, TomekLinks], ids=lambda c: c.__name__)
def test_numeric_dataframe_columns_are_accepted(kind, cls):
    X, y, rng = _frame()
    n = len(X)
    values = rng.integers(0, 3, n)
    column = {
        "bool": values > 0,
        "boolean": pd.array(values > 0, dtype="boolean"),
        "Int64": pd.array(values, dtype="Int64"),
        "Float64": pd.array(values + 0.5, dtype="Float64"),
        "object-numbers": pd.Series(values, dtype=object),
        "category-numbers": pd.Categorical(values),
        "int8": values.astype(np.int8),
    }[kind]
    X = X.assign(c=column)
    before = X.copy()
    sampler = cls(random_state=0) if cls is SMOTE else cls()
    X_res, y_res = sampler.fit_resample(X, y)
    pd.testing.assert_frame_equal(X, before)  # the input is untouched
    assert list(X_res.columns) == ["a", "b", "c"] and len(X_res) == len(y_res)
    # the distances read the column's numbers: the same rows as its float copy gives
    as_float = X.assign(c=values.astype(float) + (0.5 if kind == "Float64" else 0.0))
    if kind in ("bool", "boolean"):
        as_float = X.assign(c=(values > 0).astype(float))
    X_ref, _ = (cls(random_state=0) if cls is SMOTE else cls()).fit_resample(as_float, y)
    np.testing.assert_allclose(X_res[["a", "b"]].to_numpy(), X_ref[["a", "b"]].to_numpy())
    if kind == "category-numbers" and cls is SMOTE:
        assert X_res["c"].dtype == np.int64  # new values are not among the categories
    else:
        assert X_res["c"].dtype == X["c"].dtype
    if cls is SMOTE and kind in ("Int64", "int8"):
        new = X_ref["c"].to_numpy()[n:]
        np.testing.assert_array_equal(
            np.asarray(X_res["c"].to_numpy()[n:], dtype=float), np.trunc(new)
        )


@pytest.mark.parametrize(
    "column, what",
    [
        (pd.Series(["x", "y"] * 30, dtype="string"), "column 'c' of dtype string holding 'x'"),
        (pd.Series(["1", "oops"] * 30, dtype=object), "column 'c' of dtype object holding 'oops'"),
        (pd.Categorical(["x", "y"] * 30), "column 'c' of dtype category"),
        (pd.Series(pd.date_range("2026-01-01", periods=60)), "column 'c' of dtype datetime64"),
    ],
    ids=["string", "object-text", "category-text", "datetime"],
)
def test_other_dataframe_columns_are_refused_naming_the_column(column, what):
    X, y, _ = _frame()
    X = X.assign(c=column)
    with pytest.raises(TypeError, match=what.replace("(", r"\(")):
        SMOTE(random_state=0).fit_resample(X, y)


def test_missing_values_in_nullable_columns_are_refused():
    X, y, _ = _frame()
    X = X.assign(c=pd.array([None] + [1] * 59, dtype="Int64"))
    with pytest.raises(ValueError, match="`X` must be finite"):
        SMOTE(random_state=0).fit_resample(X, y)


def test_smotenc_takes_object_numbers_in_continuous_columns():
    X, y, rng = _frame()
    X = X.assign(a=pd.Series(X["a"].to_numpy(), dtype=object), cat=rng.choice(["u", "v"], 60))
    X_res, _ = SMOTENC(["cat"], random_state=0).fit_resample(X, y)
    ref, _ = SMOTENC(["cat"], random_state=0).fit_resample(X.astype({"a": float}), y)
    np.testing.assert_allclose(X_res["a"].to_numpy(float), ref["a"].to_numpy(float))


def test_balanced_batch_sampler_with_string_labels():
    from gpusmote.data import BalancedBatchSampler

    labels = np.array(["ok"] * 90 + ["fraud"] * 10, dtype=object)
    batches = list(BalancedBatchSampler(labels, batch_size=10, seed=0))
    drawn = labels[np.concatenate(batches)]
    assert 0.3 < np.mean(drawn == "fraud") < 0.7  # balanced in expectation
    weighted = BalancedBatchSampler(labels, batch_size=10, class_weights={"ok": 1.0, "fraud": 0.0})
    assert all((labels[b] == "ok").all() for b in weighted)


def test_cli_resample_with_bool_and_nullable_columns(tmp_path):
    from gpusmote.cli import main

    X, y, rng = _frame(n=200)
    frame = X.assign(flag=rng.random(200) > 0.5, count=pd.array(rng.integers(0, 4, 200), "Int64"))
    frame["target"] = np.where(y == 1, "fraud", "ok")
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    assert (
        main(["resample", str(src), "-o", str(dst), "--target", "target", "--quiet", "--seed", "0"])
        == 0
    )
    out = pd.read_csv(dst)
    assert (out["target"] == "fraud").sum() == (out["target"] == "ok").sum()
    assert set(out["flag"].unique()) <= {True, False}
