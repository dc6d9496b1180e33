"""One suite over every under-sampler, cleaning method and combination."""

import inspect

import numpy as np
import pytest

import gpusmote.combine
import gpusmote.under_sampling
from gpusmote.base import BaseSampler

datasets = pytest.importorskip("sklearn.datasets")

UNDER = [
    gpusmote.under_sampling.RandomUnderSampler,
    gpusmote.under_sampling.TomekLinks,
    gpusmote.under_sampling.EditedNearestNeighbours,
    gpusmote.under_sampling.RepeatedEditedNearestNeighbours,
    gpusmote.under_sampling.AllKNN,
    gpusmote.under_sampling.NearMiss,
    gpusmote.under_sampling.NeighbourhoodCleaningRule,
    gpusmote.under_sampling.CondensedNearestNeighbour,
    gpusmote.under_sampling.OneSidedSelection,
    gpusmote.under_sampling.ClusterCentroids,
    gpusmote.under_sampling.InstanceHardnessThreshold,
    gpusmote.combine.SMOTEENN,
    gpusmote.combine.SMOTETomek,
]


def test_every_public_under_sampler_is_in_the_suite():
    found = set()
    for module in (gpusmote.under_sampling, gpusmote.combine):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseSampler):
                found.add(obj)
    assert found == set(UNDER)


def _make(Sampler, **params):
    accepted = inspect.signature(Sampler).parameters
    return Sampler(**{k: v for k, v in params.items() if k in accepted})


def _data():
    X, y = datasets.make_classification(
        600,
        4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        weights=[0.6, 0.3, 0.1],
        n_clusters_per_class=1,
        flip_y=0.05,
        random_state=0,
    )
    return X.astype(np.float32), y


@pytest.mark.parametrize("Sampler", UNDER)
def test_deterministic_inputs_untouched_and_fit(Sampler):
    X, y = _data()
    X0, y0 = X.copy(), y.copy()
    a = _make(Sampler, random_state=0, device="cpu")
    b = _make(Sampler, random_state=0, device="cpu")
    Xa, ya = a.fit_resample(X, y)
    Xb, yb = b.fit_resample(X, y)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert Xa.dtype == X.dtype and ya.dtype == y.dtype and len(Xa) == len(ya)
    if hasattr(a, "sample_indices_"):
        np.testing.assert_array_equal(Xa, X[a.sample_indices_])
    fitted = _make(Sampler, random_state=0, device="cpu")
    assert fitted.fit(X, y) is fitted and hasattr(fitted, "sampling_strategy_")


@pytest.mark.parametrize("Sampler", UNDER)
def test_clone_and_params(Sampler):
    base = pytest.importorskip("sklearn.base")
    sampler = _make(Sampler, random_state=3)
    twin = base.clone(sampler)
    assert twin.get_params().keys() == sampler.get_params().keys()
    assert repr(sampler).startswith(Sampler.__name__ + "(")
