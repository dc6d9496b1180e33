"""Estimator plumbing shared by every public class: scikit-learn-style parameters."""

from __future__ import annotations

import copy
import functools
import inspect
import threading
import weakref

import numpy as np
import torch

from ._device import one_thread, resolve_device, small_input
from ._io import LabelsOnly, SamplerData
from ._strategy import resolve
from ._validation import check_finite

__all__ = ["ParamsMixin", "BaseSampler", "instance_lock"]

# Per-instance locks, kept outside the instances: `__init__` only stores parameters
# (so `clone` works), and a fitted sampler must still pickle and deep-copy.
_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def instance_lock(obj) -> threading.RLock:
    """The re-entrant lock of ``obj``, made on first use (a copy gets its own)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(obj)
        if lock is None:
            lock = _LOCKS[obj] = threading.RLock()
        return lock


_CPU = torch.device("cpu")


def _clone(estimator):
    """A fresh unfitted copy: scikit-learn's ``clone`` without needing scikit-learn."""
    if hasattr(estimator, "get_params"):
        return type(estimator)(**estimator.get_params(deep=False))
    return copy.deepcopy(estimator)


def _runs_estimators(sampler) -> bool:
    """Whether a parameter of ``sampler`` is an estimator (a KMeans, a classifier, a
    neighbours object, an inner sampler) that the call runs. torch's thread setting
    reaches their OpenMP code too: scikit-learn's KMeans gave other centroids in the
    last bits with torch on one thread, so a call that runs one keeps the caller's.
    Classes that run scikit-learn's even by default say so (``_external_estimators``)."""
    if getattr(sampler, "_external_estimators", False):
        return True
    params = sampler.get_params(deep=False) if hasattr(sampler, "get_params") else {}
    return any(hasattr(v, "fit") or hasattr(v, "kneighbors") for v in params.values())


def one_at_a_time(method):
    """Run ``method(X, ...)`` holding its instance's lock: the fitted state it writes
    (``sampling_strategy_``, graphs, the stream) is one call's, never a mix of two
    threads' calls. On a small CPU input its torch operations run on one thread
    (`_device.small_input`; the neighbour searches choose their own), unless it runs
    an estimator given as a parameter (`_runs_estimators`)."""
    if getattr(method, "_one_at_a_time", False):
        return method

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        X = args[0] if args else kwargs.get("X")
        single = small_input(X) and not _runs_estimators(self)
        with instance_lock(self), one_thread(single, _CPU):
            return method(self, *args, **kwargs)

    locked._one_at_a_time = True
    return locked


class ParamsMixin:
    """``get_params`` / ``set_params`` / ``repr`` from the ``__init__`` signature.

    ``__init__`` only stores its arguments under the same names, so that
    ``sklearn.base.clone`` works without scikit-learn being a dependency.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        return sorted(p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict:
        out = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{key}", val) for key, val in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        if not params:
            return self
        valid = self._param_names()
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters are {valid}."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        parts = []
        for name in self._param_names():
            value = getattr(self, name)
            default = defaults.get(name, inspect.Parameter.empty)
            if default is inspect.Parameter.empty or not _same(value, default):
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _same(a, b) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:  # arrays and tensors compare elementwise
        return False


class BaseSampler(ParamsMixin):
    """The ``fit_resample`` template every sampler follows.

    Input validation and conversion happen once (`gpusmote._io.SamplerData`), the
    strategy is resolved on class counts (`gpusmote._strategy.resolve`), the subclass
    computes on the device, and the output is rebuilt in the input's container types:
    the original rows first, unchanged and in order, then the new rows by class.

    Threads: ``fit`` and ``fit_resample`` on one instance run one at a time (a lock per
    instance, taken around every subclass's own ``fit`` / ``fit_resample`` too), so
    calls from several threads each return their own data's rows; the fitted
    attributes afterwards are those of the call that finished last. Separate instances
    (``sklearn.base.clone``) run in parallel.
    """

    _sampling_type = "over-sampling"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("fit", "fit_resample"):
            method = cls.__dict__.get(name)
            if method is not None:
                setattr(cls, name, one_at_a_time(method))

    @one_at_a_time
    def fit(self, X, y):
        """Validate ``(X, y)`` and set ``sampling_strategy_`` (imbalanced-learn's ``fit``);
        returns self. Rows come from ``fit_resample``."""
        self._check_params()
        self._prepare(X, y).release()
        return self

    def _check_params(self) -> None:
        """Validate the constructor's parameters (those that do not need the data);
        raise with the parameter named. Samplers with parameters of their own extend it;
        `fit` calls it first."""

    def _resolve_strategy(self, data) -> None:
        """``sampling_strategy_`` from the class counts (and the labels, for a callable)."""
        self.sampling_strategy_ = resolve(
            self.sampling_strategy,
            data.class_counts(),
            self._sampling_type,
            y=data.labels_for_callable() if callable(self.sampling_strategy) else None,
        )

    def _resolve_device(self, X):
        data_device = X.device if isinstance(X, torch.Tensor) else None
        return resolve_device(getattr(self, "device", "auto"), data_device=data_device)

    def _prepare_labels(self, X, y):
        """`_prepare` for samplers that only index rows: ``X`` is counted, not converted."""
        self.device_ = self._resolve_device(X)
        return self._describe_input(LabelsOnly(X, y, self.device_))

    def _prepare(self, X, y):
        """Validate ``(X, y)``, resolve ``sampling_strategy_``; returns the `SamplerData`."""
        self.device_ = self._resolve_device(X)
        data = SamplerData(X, y, self.device_)
        check_finite(data.X, "X")
        return self._describe_input(data)

    def _describe_input(self, data):
        """``sampling_strategy_``, ``n_features_in_`` and ``feature_names_in_`` from ``data``."""
        self._resolve_strategy(data)
        if data.n_features is not None:
            self.n_features_in_ = data.n_features
        if data.columns is not None:
            self.feature_names_in_ = np.asarray([str(c) for c in data.columns], dtype=object)
        return data
