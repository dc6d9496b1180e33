import re

import numpy as np
import pytest
import torch

from gpusmote import BorderlineSMOTE

imblearn_over = pytest.importorskip("imblearn.over_sampling")


def _data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(0, 1, (300, 4)), rng.normal(0.8, 1, (40, 4)), rng.normal(-0.8, 1, (30, 4))]
    y = np.r_[np.zeros(300, int), np.ones(40, int), np.full(30, 2)]
    order = rng.permutation(len(y))
    return X[order].astype(dtype), y[order]


@pytest.mark.parametrize("kind", ["borderline-1", "borderline-2"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strategy", ["auto", "minority", {1: 120, 2: 90}])
def test_same_rows_and_danger_rows_as_imbalanced_learn(kind, dtype, strategy):
    X, y = _data(dtype)
    ours = BorderlineSMOTE(kind=kind, sampling_strategy=strategy, random_state=2, device="cpu")
    theirs = imblearn_over.BorderlineSMOTE(kind=kind, sampling_strategy=strategy, random_state=2)
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = theirs.fit_resample(X, y)
    np.testing.assert_allclose(Xo, Xt, rtol=1e-4 if dtype == np.float32 else 1e-7)
    np.testing.assert_array_equal(yo, yt)
    assert ours.in_danger_indices.keys() == theirs.in_danger_indices.keys()
    for c, rows in ours.in_danger_indices.items():
        np.testing.assert_array_equal(rows, theirs.in_danger_indices[c])


@pytest.mark.parametrize("kind", ["borderline-1", "borderline-2"])
def test_shared_random_state_and_neighbour_counts(kind):
    X, y = _data(seed=1)
    for k, m in ((3, 6), (7, 15)):
        Xo, _ = BorderlineSMOTE(
            kind=kind,
            k_neighbors=k,
            m_neighbors=m,
            random_state=np.random.RandomState(9),
            device="cpu",
        ).fit_resample(X, y)
        Xt, _ = imblearn_over.BorderlineSMOTE(
            kind=kind, k_neighbors=k, m_neighbors=m, random_state=np.random.RandomState(9)
        ).fit_resample(X, y)
        np.testing.assert_allclose(Xo, Xt, rtol=1e-12)


def test_torch_in_torch_out(device):
    X, y = _data(np.float32, seed=2)
    Xo, yo = BorderlineSMOTE(random_state=0).fit_resample(
        torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    )
    assert Xo.device.type == device.type and Xo.dtype == torch.float32
    assert torch.bincount(yo).tolist() == [300, 300, 300]


def test_bad_parameters():
    X, y = _data(seed=3)
    cases = [
        (dict(kind="borderline-3"), ValueError, '`kind` must be "borderline-1" or "borderline-2"'),
        (dict(m_neighbors=0), ValueError, "`m_neighbors` must be an integer >= 1"),
        (dict(m_neighbors="ten"), TypeError, "`m_neighbors` must be an int or an object"),
    ]
    for params, exc, pattern in cases:
        with pytest.raises(exc, match=re.escape(pattern)):
            BorderlineSMOTE(device="cpu", **params).fit_resample(X, y)
    fitted = BorderlineSMOTE(device="cpu").fit(
        X, y
    )  # fit validates; rows come from fit_resample only
    assert not hasattr(fitted, "sample") and not hasattr(fitted, "iter_samples")
    with pytest.raises(
        ValueError, match=re.escape("`m_neighbors` must be smaller than the number of rows (20)")
    ):
        BorderlineSMOTE(m_neighbors=25, device="cpu").fit_resample(
            X[:20], np.r_[np.zeros(14, int), np.ones(6, int)]
        )


def test_no_danger_rows_warns_and_keeps_the_class_as_imbalanced_learn_does():
    rng = np.random.default_rng(4)
    X = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(50, 1, (20, 2))]  # far apart: no danger
    y = np.r_[np.zeros(100, int), np.ones(20, int)]
    with pytest.warns(UserWarning, match="no row of class 1 is in danger") as caught:
        Xo, yo = BorderlineSMOTE(random_state=0, device="cpu").fit_resample(X, y)
    assert caught[0].filename == __file__  # the warning points at the caller's line
    Xt, yt = imblearn_over.BorderlineSMOTE(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)
