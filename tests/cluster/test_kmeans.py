import re

import numpy as np
import pytest
import torch

from gpusmote.cluster import KMeans
from gpusmote.exceptions import NotFittedError

sk_cluster = pytest.importorskip("sklearn.cluster")


def _blobs(n=3000, d=6, centers=5, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 6, (centers, d))
    X = np.concatenate([rng.normal(m, 1.0, (n // centers, d)) for m in means])
    return X[rng.permutation(len(X))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_labels_as_scikit_learn_from_the_same_init(dtype):
    X = _blobs().astype(dtype)
    init = X[np.random.RandomState(1).choice(len(X), 5, replace=False)]
    theirs = sk_cluster.KMeans(5, init=init, n_init=1, algorithm="lloyd").fit(X)
    ours = KMeans(5, init=init, device="cpu").fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-4)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-4)
    assert ours.n_iter_ == theirs.n_iter_


def test_kmeans_plus_plus_finds_the_blobs_like_scikit_learn():
    X = _blobs(seed=2)
    for seed in range(3):
        ours = KMeans(5, random_state=seed, device="cpu").fit(X)
        theirs = sk_cluster.KMeans(5, random_state=seed).fit(X)
        # well-separated blobs: the optimum, whichever seed
        assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-6)
        assert len(np.unique(ours.labels_)) == 5


def test_deterministic_and_predict_matches_labels(device):
    X = torch.as_tensor(_blobs(seed=3), device=device)
    a = KMeans(7, random_state=0).fit(X)
    b = KMeans(7, random_state=0).fit(X)
    assert torch.equal(a.labels_, b.labels_) and a.labels_.device == X.device
    assert torch.equal(a.predict(X), a.labels_)
    assert torch.equal(KMeans(7, random_state=0).fit_predict(X), a.labels_)
    assert isinstance(a.cluster_centers_, torch.Tensor)
    g = torch.Generator(device=device).manual_seed(0)
    labels = KMeans(7, random_state=g).fit_predict(X)
    assert labels.shape == (X.shape[0],)


def test_random_init_n_init_and_empty_clusters():
    X = _blobs(seed=4)
    est = KMeans(5, init="random", random_state=0, device="cpu").fit(X)
    assert est.n_iter_ >= 1 and np.isfinite(est.inertia_)
    # 4 distinct points, 4 clusters from a degenerate init: every cluster still used
    pts = np.repeat(np.array([[0.0, 0], [10, 0], [0, 10], [10, 10]]), 25, axis=0)
    init = np.array([[0.0, 0], [0.1, 0], [0.2, 0], [0.3, 0]])
    labels = KMeans(4, init=init, device="cpu").fit_predict(pts)
    assert len(np.unique(labels)) == 4


def test_bad_parameters():
    X = _blobs(n=50)
    cases = [
        (dict(n_clusters=0), ValueError, "`n_clusters` must be an integer >= 1"),
        (dict(n_clusters=51), ValueError, "`n_clusters` must be at most the number of rows (50)"),
        (dict(init="kmeans"), ValueError, '`init` must be "k-means++", "random" or an array'),
        (dict(init=np.zeros((2, 6))), ValueError, "`init` must be an array of shape (8, 6)"),
        (dict(n_init="many"), ValueError, '`n_init` must be "auto" or an int >= 1'),
        (dict(tol=-1.0), ValueError, "`tol` must be a float >= 0"),
    ]
    for params, exc, pattern in cases:
        with pytest.raises(exc, match=re.escape(pattern)):
            KMeans(device="cpu", **params).fit(X)
    with pytest.raises(NotFittedError, match="not fitted"):
        KMeans().predict(X)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match=re.escape("`X` must be finite")):
        KMeans(device="cpu").fit(X_nan)
    assert np.isnan(X_nan[0, 0]) and not np.isnan(X).any()
