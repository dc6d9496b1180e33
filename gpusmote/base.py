"""The sampler template: ``fit_resample`` = check -> prepare (`gpusmote._io`) ->
``_fit_resample`` -> output, and ``fit`` = check -> prepare -> ``_fit``."""

from __future__ import annotations

import functools
import threading
import weakref

import numpy as np
import torch

from ._device import one_thread, resolve_device, small_input
from ._io import Kept, LabelsOnly, SamplerData
from ._params import ParamsMixin
from ._params import clone as _clone
from ._progress import progress_bar
from ._random import check_random_state
from ._strategy import resolve
from ._typing import ArrayLike, Labels
from ._validation import check_finite, parse_memory
from .neighbors._backend import resolve_backend

__all__ = ["ParamsMixin", "BaseSampler", "instance_lock", "_clone"]

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

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        X = args[0] if args else kwargs.get("X")
        single = small_input(X) and not _runs_estimators(self)
        with instance_lock(self), one_thread(single, _CPU):
            return method(self, *args, **kwargs)

    return locked


class BaseSampler(ParamsMixin):
    """The template every sampler follows; a new sampler writes ``__init__`` and
    ``_fit_resample`` (and, where its ``fit`` does more than validate, ``_fit``).

    ``fit_resample(X, y)``:

    1. ``_check_params()``: the constructor's parameters, before the data is read
       (``random_state``, ``backend`` and ``max_memory`` here, each where the sampler
       has it; samplers extend it);
    2. ``_prepare(X, y)``: ``(X, y)`` validated and converted once (`gpusmote._io`),
       ``sampling_strategy_``, ``n_features_in_``, ``device_`` set;
    3. ``_fit_resample(data)``: the method itself, on the compute device. It returns
       one of `gpusmote._io`'s results: `Kept` (the indices of the rows kept: cleaning
       and under-sampling, which become ``sample_indices_``), `NewRows` (blocks of new
       rows per class, after the input's own), `TableRows`, `Replaced` or `Passed`;
    4. the result's ``output(data)``: ``(X_out, y_out)`` in the input's containers.

    Threads: ``fit`` and ``fit_resample`` on one instance run one at a time (a lock per
    instance), so calls from several threads each return their own data's rows; the
    fitted attributes afterwards are those of the call that finished last. Separate
    instances (``sklearn.base.clone``) run in parallel.
    """

    _sampling_type = "over-sampling"

    @one_at_a_time
    def fit(self, X: ArrayLike, y: Labels, *, progress: bool | str = False):
        """Validate ``(X, y)`` and the parameters and set ``sampling_strategy_``, as
        imbalanced-learn's ``fit`` does. Rows come from `fit_resample` (SMOTE's also
        from ``sample`` / ``iter_samples``, whose neighbour graphs ``fit`` builds).

        Parameters
        ----------
        X : array-like, DataFrame or tensor of shape (n_samples, n_features)
        y : array-like, Series or tensor of shape (n_samples,)
        progress : bool or "auto", default=False
            As for `fit_resample`.

        Returns
        -------
        self
        """
        self._check_params()
        with progress_bar(progress, desc=type(self).__name__):
            data = self._prepare(X, y)
            self._fit(data)
        data.release()
        return self

    @one_at_a_time
    def fit_resample(self, X: ArrayLike, y: Labels, *, progress: bool | str = False):
        """Resample ``(X, y)``.

        Parameters
        ----------
        X : array-like, DataFrame or tensor of shape (n_samples, n_features)
        y : array-like, Series or tensor of shape (n_samples,)
        progress : bool or "auto", default=False
            Show a tqdm progress bar on stderr, in rows searched and written, with rate
            and ETA ("auto": only when stderr is a terminal). Needs tqdm.

        Returns
        -------
        X_resampled, y_resampled
            In the containers of ``(X, y)``: numpy, pandas (names, dtypes), lists or
            tensors (on their device).
        """
        self._check_params()
        with progress_bar(progress, desc=type(self).__name__):
            data = self._prepare(X, y)
            result = self._fit_resample(data)
            if isinstance(result, Kept):
                self.sample_indices_ = result.indices
            out = result.output(data)
        data.release()
        return out

    def _fit(self, data) -> None:
        """What ``fit`` does beyond validation (SMOTE: the neighbour graphs)."""

    def _fit_resample(self, data):
        raise NotImplementedError

    def _check_params(self) -> None:
        """Validate the constructor's parameters that do not need the data, naming the
        parameter; samplers with parameters of their own extend it."""
        names = self._param_names()
        if "random_state" in names:
            check_random_state(self.random_state)
        if "backend" in names:
            resolve_backend(self.backend)
        if "max_memory" in names:
            parse_memory(self.max_memory, "max_memory")

    # the data -------------------------------------------------------------------------
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

    def _prepare(self, X, y):
        """Validate ``(X, y)``, resolve ``sampling_strategy_``; returns the `SamplerData`."""
        self.device_ = self._resolve_device(X)
        data = SamplerData(X, y, self.device_)
        check_finite(data.X, "X")
        return self._describe_input(data)

    def _prepare_labels(self, X, y):
        """`_prepare` for samplers that only index rows: ``X`` is counted, not converted."""
        self.device_ = self._resolve_device(X)
        return self._describe_input(LabelsOnly(X, y, self.device_))

    def _describe_input(self, data):
        """``sampling_strategy_``, ``n_features_in_`` and ``feature_names_in_`` from ``data``."""
        self._resolve_strategy(data)
        if data.n_features is not None:
            self.n_features_in_ = data.n_features
        if data.columns is not None:
            self.feature_names_in_ = np.asarray([str(c) for c in data.columns], dtype=object)
        return data

    # helpers the methods share --------------------------------------------------------
    def _search(self) -> dict:
        """The keyword arguments of this sampler's `gpusmote.neighbors.kneighbors` calls."""
        return {
            "backend": getattr(self, "backend", "auto"),
            "device": self.device_,
            "max_memory": getattr(self, "max_memory", None),
        }

    def _targets(self, data, *, skip_empty: bool = True):
        """``[(class index, rows to generate)]`` in sorted class order, from
        ``sampling_strategy_`` (classes with 0 left out unless ``skip_empty`` is False)."""
        index = {c: i for i, c in enumerate(data.classes)}
        return [
            (index[c], n) for c, n in self.sampling_strategy_.items() if n > 0 or not skip_empty
        ]
