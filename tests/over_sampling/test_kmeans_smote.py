import re

import numpy as np
import pytest
import torch

from gpusmote import KMeansSMOTE

imblearn_over = pytest.importorskip("imblearn.over_sampling")
sk_cluster = pytest.importorskip("sklearn.cluster")


def _data(weights=(0.9, 0.1), seed=0, n=1500, dtype=np.float64):
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.make_classification(
        n,
        6,
        n_informative=4,
        n_classes=len(weights),
        weights=list(weights),
        n_clusters_per_class=1,
        random_state=seed,
    )
    return X.astype(dtype), y


def _pair(seed=0, **params):
    """(gpusmote, imbalanced-learn) given imbalanced-learn's default clustering."""
    ours = KMeansSMOTE(
        random_state=seed,
        kmeans_estimator=sk_cluster.MiniBatchKMeans(random_state=seed),
        device="cpu",
        **params,
    )
    return ours, imblearn_over.KMeansSMOTE(random_state=seed, **params)


@pytest.mark.parametrize("weights", [(0.9, 0.1), (0.7, 0.2, 0.1)], ids=["binary", "multiclass"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threshold", ["auto", 0.05])
def test_same_rows_as_imbalanced_learn(weights, dtype, threshold):
    X, y = _data(weights, dtype=dtype)
    ours, theirs = _pair(cluster_balance_threshold=threshold)
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)
    assert Xo.dtype == Xt.dtype


def test_exponent_k_and_shared_random_state():
    X, y = _data(seed=1)
    params = dict(density_exponent=1.5, k_neighbors=4, cluster_balance_threshold=0.02)
    ours = KMeansSMOTE(
        random_state=np.random.RandomState(5),
        kmeans_estimator=sk_cluster.KMeans(n_clusters=4, random_state=0),
        device="cpu",
        **params,
    )
    theirs = imblearn_over.KMeansSMOTE(
        random_state=np.random.RandomState(5),
        kmeans_estimator=sk_cluster.KMeans(n_clusters=4, random_state=0),
        **params,
    )
    np.testing.assert_array_equal(ours.fit_resample(X, y)[0], theirs.fit_resample(X, y)[0])


def test_pandas_and_torch_inputs_match_numpy():
    pd = pytest.importorskip("pandas")
    X, y = _data((0.7, 0.2, 0.1), seed=2)
    ours, theirs = _pair(cluster_balance_threshold=0.05)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    Xo, yo = ours.fit_resample(frame, pd.Series(y, name="target"))
    Xt, yt = theirs.fit_resample(frame, pd.Series(y, name="target"))
    pd.testing.assert_frame_equal(Xo, Xt)
    pd.testing.assert_series_equal(yo, yt)
    Xn, _ = _pair(cluster_balance_threshold=0.05)[0].fit_resample(torch.as_tensor(X), y)
    assert isinstance(Xn, torch.Tensor)
    np.testing.assert_array_equal(Xn.numpy(), Xt.to_numpy())


def test_default_clustering_on_the_device(device):
    X, y = _data(seed=3, dtype=np.float32)
    Xt, yt = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    sampler = KMeansSMOTE(random_state=0, cluster_balance_threshold=0.05)
    Xo, yo = sampler.fit_resample(Xt, yt)
    assert Xo.device == Xt.device and torch.equal(Xo[: len(y)], Xt)
    counts = torch.bincount(yo).tolist()
    # each valid cluster's share is rounded up: at least the target, at most one row
    # more per cluster
    assert 0 <= counts[1] - counts[0] <= sampler.kmeans_estimator_.n_clusters
    # every new row lies between two minority rows of one cluster: inside their box
    new = Xo[len(y) :]
    minority = Xt[yt == 1]
    assert bool((new >= minority.min(0).values - 1e-5).all())
    assert bool((new <= minority.max(0).values + 1e-5).all())
    again, _ = KMeansSMOTE(random_state=0, cluster_balance_threshold=0.05).fit_resample(Xt, yt)
    assert torch.equal(Xo, again)
    # a torch.Generator seeds the k-means and the draws on the device
    outs = [
        KMeansSMOTE(
            random_state=torch.Generator(device=device).manual_seed(1),
            cluster_balance_threshold=0.05,
        ).fit_resample(Xt, yt)[0]
        for _ in range(2)
    ]
    assert torch.equal(outs[0], outs[1]) and outs[0].shape[0] > len(y)


def test_statistically_like_imbalanced_learn_with_the_defaults():
    """Default clustering (gpusmote's KMeans vs MiniBatchKMeans): the new rows have the
    same per-feature mean and spread within a tolerance of sampling noise."""
    X, y = _data(seed=4, n=4000)
    Xo, _ = KMeansSMOTE(random_state=0, cluster_balance_threshold=0.05, device="cpu").fit_resample(
        X, y
    )
    Xt, _ = imblearn_over.KMeansSMOTE(random_state=0, cluster_balance_threshold=0.05).fit_resample(
        X, y
    )
    ours, theirs = Xo[len(y) :], Xt[len(y) :]
    spread = X[y == 1].std(0)
    np.testing.assert_allclose(ours.mean(0), theirs.mean(0), atol=0.25 * spread.max())
    np.testing.assert_allclose(ours.std(0), theirs.std(0), rtol=0.25)


def test_errors():
    X, y = _data(seed=5)
    with pytest.raises(RuntimeError, match="No clusters found with sufficient samples of class 1"):
        KMeansSMOTE(cluster_balance_threshold=0.99, random_state=0, device="cpu").fit_resample(X, y)
    cases = [
        (dict(cluster_balance_threshold="high"), ValueError, "`cluster_balance_threshold` must"),
        (dict(density_exponent=None), ValueError, "`density_exponent` must be"),
        (dict(kmeans_estimator=0), ValueError, "`kmeans_estimator` must be an int >= 1"),
        (dict(kmeans_estimator="kmeans"), TypeError, "`kmeans_estimator` must be None, an int"),
    ]
    for params, exc, pattern in cases:
        with pytest.raises(exc, match=re.escape(pattern)):
            KMeansSMOTE(device="cpu", **params).fit_resample(X, y)
    fitted = KMeansSMOTE(device="cpu").fit(X, y)  # fit validates; rows come from fit_resample only
    assert not hasattr(fitted, "sample") and not hasattr(fitted, "iter_samples")
    # duplicated minority rows: no spread to weigh the clusters by
    X_dup = X.copy()
    X_dup[y == 1] = X_dup[y == 1][0]
    with pytest.raises(ValueError, match="`X` must be rows of class 1 with some spread"):
        KMeansSMOTE(
            cluster_balance_threshold=0.0, kmeans_estimator=1, random_state=0, device="cpu"
        ).fit_resample(X_dup, y)


def test_one_valid_cluster_and_one_cluster_in_all():
    """A single valid cluster takes all rows (its weight needs no pairwise pass)."""
    X, y = _data(seed=6)
    for est in (
        sk_cluster.KMeans(n_clusters=1, random_state=0),
        sk_cluster.KMeans(3, random_state=0),
    ):
        ours = KMeansSMOTE(random_state=0, kmeans_estimator=est, cluster_balance_threshold=0.15)
        theirs = imblearn_over.KMeansSMOTE(
            random_state=0, kmeans_estimator=est, cluster_balance_threshold=0.15
        )
        Xo, yo = ours.set_params(device="cpu").fit_resample(X, y)
        Xt, yt = theirs.fit_resample(X, y)
        np.testing.assert_array_equal(Xo, Xt)
        np.testing.assert_array_equal(yo, yt)
