import re

import numpy as np
import pytest
import torch

from gpusmote.combine import SMOTEENN, SMOTETomek
from gpusmote.under_sampling import ClusterCentroids, InstanceHardnessThreshold

imb_under = pytest.importorskip("imblearn.under_sampling")
imb_combine = pytest.importorskip("imblearn.combine")
datasets = pytest.importorskip("sklearn.datasets")
sk_cluster = pytest.importorskip("sklearn.cluster")


def _data(weights=(0.6, 0.3, 0.1), seed=0, n=1200):
    return datasets.make_classification(
        n,
        5,
        n_informative=3,
        n_classes=len(weights),
        weights=list(weights),
        n_clusters_per_class=1,
        flip_y=0.05,
        random_state=seed,
    )


@pytest.mark.parametrize("weights", [(0.8, 0.2), (0.6, 0.3, 0.1)], ids=["binary", "multiclass"])
def test_cluster_centroids_soft_equals_imbalanced_learn_given_its_kmeans(weights):
    X, y = _data(weights)
    Xo, yo = ClusterCentroids(
        estimator=sk_cluster.KMeans(random_state=0), device="cpu"
    ).fit_resample(X, y)
    Xt, yt = imb_under.ClusterCentroids(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)


def test_cluster_centroids_hard_picks_a_nearest_row():
    """Hard voting keeps, per centroid, a row at the smallest distance; where two rows
    tie (a two-row cluster's centroid is their midpoint) imbalanced-learn's rounding
    and gpusmote's lower index can pick different rows of equal distance."""
    X, y = _data((0.8, 0.2), seed=1)
    ours = ClusterCentroids(
        estimator=sk_cluster.KMeans(random_state=0), voting="hard", device="cpu"
    )
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = imb_under.ClusterCentroids(random_state=0, voting="hard").fit_resample(X, y)
    np.testing.assert_array_equal(yo, yt)
    centres = ours.estimator_.cluster_centers_
    majority = X[y == 0]
    n_min = int((y == 1).sum())
    for i, c in enumerate(centres):
        best = np.sqrt(((majority - c) ** 2).sum(1)).min()
        assert np.sqrt(((Xo[i] - c) ** 2).sum()) == pytest.approx(best, rel=1e-12)
        assert np.sqrt(((Xt[i] - c) ** 2).sum()) == pytest.approx(best, rel=1e-9)
    np.testing.assert_array_equal(Xo[-n_min:], Xt[-n_min:])  # the minority passes through
    assert (Xo == Xt).all(1).mean() > 0.98


def test_cluster_centroids_default_kmeans_on_the_device(device):
    X, y = _data(seed=2)
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, device=device)
    Xo, yo = ClusterCentroids(random_state=0).fit_resample(Xt, yt)
    assert Xo.device == Xt.device and Xo.dtype == torch.float32
    counts = torch.bincount(yo).tolist()
    assert counts == [counts[2]] * 3
    # the centroids of the majority class lie inside its bounding box
    box = Xt[yt == 0]
    new = Xo[yo == 0]
    assert bool((new >= box.min(0).values - 1e-5).all() and (new <= box.max(0).values + 1e-5).all())


@pytest.mark.parametrize("weights", [(0.8, 0.2), (0.6, 0.3, 0.1)], ids=["binary", "multiclass"])
@pytest.mark.parametrize("name", ["SMOTEENN", "SMOTETomek"])
def test_combinations_equal_imbalanced_learn(name, weights):
    X, y = _data(weights, seed=3)
    ours = {"SMOTEENN": SMOTEENN, "SMOTETomek": SMOTETomek}[name](random_state=0, device="cpu")
    theirs = getattr(imb_combine, name)(random_state=0)
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)
    assert ours.sampling_strategy_ == theirs.sampling_strategy_


def test_combinations_take_given_samplers_and_tensors(device):
    from gpusmote import SMOTE
    from gpusmote.under_sampling import EditedNearestNeighbours, TomekLinks

    X, y = _data((0.8, 0.2), seed=4)
    Xt, yt = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    smote = SMOTE(k_neighbors=3, random_state=1)
    for sampler in (
        SMOTEENN(
            smote=smote, enn=EditedNearestNeighbours(sampling_strategy="all", kind_sel="mode")
        ),
        SMOTETomek(smote=smote, tomek=TomekLinks(sampling_strategy="all")),
    ):
        Xo, yo = sampler.fit_resample(Xt, yt)
        assert Xo.device == Xt.device and yo.device == yt.device
        ref_X, ref_y = smote.fit_resample(X, y)
        cleaner = sampler.enn_ if hasattr(sampler, "enn_") else sampler.tomek_
        cleaner.set_params(device="cpu").fit_resample(ref_X, ref_y)
        np.testing.assert_array_equal(Xo.cpu().numpy(), ref_X[cleaner.sample_indices_])
    with pytest.raises(TypeError, match=re.escape("`enn` must be None or a sampler")):
        SMOTEENN(enn="enn").fit_resample(X, y)


def test_instance_hardness_default_forest_and_missing_estimator_api():
    X, y = _data((0.8, 0.2), seed=5, n=400)
    ours = InstanceHardnessThreshold(random_state=0)
    theirs = imb_under.InstanceHardnessThreshold(random_state=0)
    ours.fit_resample(X, y)
    theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    with pytest.raises(ValueError, match="`estimator` must be None or a classifier"):
        InstanceHardnessThreshold(estimator=sk_cluster.KMeans()).fit_resample(X, y)
    with pytest.raises(ValueError, match=re.escape("`cv` must be an integer >= 2")):
        InstanceHardnessThreshold(cv=1).fit_resample(X, y)
