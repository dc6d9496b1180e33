"""One suite over every public sampler (the guard test keeps the list complete)."""

import inspect
import re

import numpy as np
import pytest
import torch

import gpusmote
from gpusmote.base import BaseSampler

SAMPLERS = [
    gpusmote.SMOTE,
    gpusmote.BorderlineSMOTE,
    gpusmote.SVMSMOTE,
    gpusmote.ADASYN,
    gpusmote.KMeansSMOTE,
    gpusmote.RandomOverSampler,
    gpusmote.SMOTENC,
    gpusmote.SMOTEN,
]


def _make(Sampler, **params):
    """A default instance; SMOTENC is told its categorical column (3, integer-valued)."""
    if Sampler is gpusmote.SMOTENC:
        return Sampler([3], **params)
    return Sampler(**params)


def _public_samplers():
    found = set()
    for module in (gpusmote, gpusmote.over_sampling):
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseSampler):
                found.add(obj)
    return found


def test_every_public_sampler_is_in_the_common_suite():
    assert _public_samplers() == set(SAMPLERS)


def _all_public_samplers():
    from gpusmote import combine, under_sampling

    found = _public_samplers()
    for module in (under_sampling, combine):
        found |= {getattr(module, n) for n in module.__all__ if inspect.isclass(getattr(module, n))}
    return {c for c in found if issubclass(c, BaseSampler)}


def test_every_parameter_is_documented_in_its_class():
    """help() shows each parameter: the shared descriptions are filled in (gpusmote._docs),
    not referred to ("as for SMOTE")."""
    for Sampler in _all_public_samplers():
        doc = Sampler.__doc__
        assert not re.search(r"^\s*\{\w+\}$", doc, re.M), Sampler
        for name in Sampler._param_names():
            assert re.search(rf"^    {name} :", doc, re.M), (Sampler, name)


def test_public_signatures_have_type_hints():
    """Every parameter of every sampler's __init__, fit and fit_resample is annotated, and
    the annotations resolve at runtime (typing.get_type_hints, as tools call it)."""
    import typing

    for Sampler in _all_public_samplers():
        for method in (Sampler.__init__, Sampler.fit, Sampler.fit_resample):
            params = inspect.signature(method).parameters.values()
            bare = [p.name for p in params if p.name != "self" and p.annotation is p.empty]
            assert bare == [], (Sampler, method.__name__, bare)
            typing.get_type_hints(method)


def test_every_sampler_follows_the_template():
    """No sampler writes its own fit or fit_resample: each is BaseSampler's, which checks,
    prepares, calls the sampler's _fit_resample and builds the output."""
    samplers = _all_public_samplers()
    assert len(samplers) >= 20
    for Sampler in samplers:
        assert Sampler.fit_resample is BaseSampler.fit_resample, Sampler
        assert Sampler.fit is BaseSampler.fit, Sampler
        assert "_fit_resample" in {n for c in Sampler.__mro__[:-3] for n in vars(c)}, Sampler


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate(
        [rng.normal(0, 1, (120, 4)), rng.normal(2, 1, (30, 4)), rng.normal(-2, 1, (20, 4))]
    )
    X[:, 3] = np.round(X[:, 3])  # a categorical column for SMOTENC
    y = np.r_[np.zeros(120, int), np.ones(30, int), np.full(20, 2)]
    return X.astype(np.float32), y


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_counts_layout_and_determinism(Sampler):
    X, y = _data()
    Xo, yo = _make(Sampler, random_state=0, device="cpu").fit_resample(X, y)
    sampler = _make(Sampler, random_state=0, device="cpu")
    Xo2, yo2 = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(Xo, Xo2)
    np.testing.assert_array_equal(yo, yo2)
    np.testing.assert_array_equal(Xo[: len(y)], X)  # originals first, unchanged
    counts = dict(zip(*np.unique(yo, return_counts=True), strict=True))
    before = dict(zip(*np.unique(y, return_counts=True), strict=True))
    for c, n in before.items():
        target = n + sampler.sampling_strategy_.get(c, 0)
        if getattr(Sampler, "_exact_counts", True):
            assert counts[c] == target
        else:  # ADASYN: per-row rounding moves the total a little, as in imbalanced-learn
            assert abs(counts[c] - target) <= 0.05 * target
    assert Xo.dtype == X.dtype and yo.dtype == y.dtype


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_fit_validates_and_sets_the_strategy_like_fit_resample(Sampler):
    X, y = _data(3)
    fitted = _make(Sampler, random_state=0, device="cpu")
    assert fitted.fit(X, y) is fitted
    resampled = _make(Sampler, random_state=0, device="cpu")
    resampled.fit_resample(X, y)
    assert fitted.sampling_strategy_ == resampled.sampling_strategy_
    assert fitted.n_features_in_ == X.shape[1]
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    params = {"shrinkage": 1.0} if Sampler is gpusmote.RandomOverSampler else {}
    with pytest.raises(ValueError, match=re.escape("`X` must be finite")):
        _make(Sampler, device="cpu", **params).fit(X_inf, y)


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_types_and_dtypes_are_preserved(Sampler, device, dtype):
    X, y = _data(1)
    Xt = torch.as_tensor(X, dtype=dtype, device=device)
    yt = torch.as_tensor(y, device=device)
    Xo, yo = _make(Sampler, random_state=0).fit_resample(Xt, yt)
    assert isinstance(Xo, torch.Tensor) and Xo.dtype == dtype and Xo.device == Xt.device
    assert isinstance(yo, torch.Tensor) and yo.dtype == yt.dtype and yo.device == yt.device
    assert torch.equal(Xo[: len(y)], Xt)


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_clone_and_params_round_trip(Sampler):
    base = pytest.importorskip("sklearn.base")
    sampler = _make(Sampler, random_state=3, device="cpu")
    twin = base.clone(sampler)
    assert twin.get_params() == sampler.get_params()
    twin.set_params(random_state=4)
    assert twin.random_state == 4 and sampler.random_state == 3
    assert repr(sampler).startswith(Sampler.__name__ + "(")


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_bad_input_is_rejected(Sampler):
    X, y = _data(2)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    params = {"shrinkage": 1.0} if Sampler is gpusmote.RandomOverSampler else {}
    with pytest.raises(ValueError, match=re.escape("`X` must be finite")):
        _make(Sampler, device="cpu", **params).fit_resample(X_nan, y)
    with pytest.raises(ValueError, match=re.escape("`y` must be one label per row")):
        _make(Sampler, device="cpu").fit_resample(X, y[:-2])
    with pytest.raises(ValueError, match=re.escape("`X` must be a 2-D array")):
        _make(Sampler, device="cpu").fit_resample(X[:, 0], y)
    assert not np.isnan(X).any()  # inputs untouched
