"""The sampler template: ``fit_resample`` = check -> prepare (`gpusmote._io`) ->
``_fit_resample`` -> output, and ``fit`` = check -> prepare -> ``_fit``."""

from __future__ import annotations

import functools
import numbers
import threading
import weakref
from contextlib import nullcontext

import numpy as np
import torch

from ._device import load_cap, one_thread, resolve_device, resolve_jobs, small_input, thread_cap
from ._io import Kept, LabelsOnly, SamplerData, host_numpy, plain_input
from ._io._sparse import densify, is_sparse
from ._params import ParamsMixin
from ._params import clone as _clone
from ._progress import progress_bar
from ._random import check_random_state
from ._strategy import resolve
from ._typing import ArrayLike, Labels
from ._validation import check_finite, fmt_error, parse_memory
from .exceptions import InvalidParameterError
from .neighbors import NearestNeighbors, kneighbors
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
        estimators = _runs_estimators(self)
        single = small_input(X) and not estimators
        jobs = resolve_jobs(getattr(self, "n_jobs", None))
        # a larger call runs on no more threads than busy processes leave free; one that
        # runs estimators keeps the user's count (their rows may depend on it)
        load = nullcontext() if single or estimators else load_cap(_CPU)
        with instance_lock(self), thread_cap(jobs), one_thread(single, _CPU), load:
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
    _sets_sample_indices = False  # whether fit_resample sets sample_indices_ (`Kept`)

    # scikit-learn's protocol, where it is installed (`gpusmote._sklearn`) ---------------
    def __sklearn_tags__(self):
        from ._sklearn import sampler_tags

        return sampler_tags(self, sample_indices=self._sets_sample_indices)

    def _repr_html_(self):
        from ._sklearn import html_repr

        return html_repr(self)

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
        self._validate_params()
        X, y = plain_input(X, "X"), plain_input(y, "y")
        X, _ = self._sparse_input(X)
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
        self._validate_params()
        X, y = plain_input(X, "X"), plain_input(y, "y")
        X, back = self._sparse_input(X)
        with progress_bar(progress, desc=type(self).__name__):
            data = self._prepare(X, y)
            result = self._fit_resample(data)
            if isinstance(result, Kept):
                self.sample_indices_ = result.reported
            out = result.output(data)
        data.release()
        return (back(out[0]), out[1]) if back is not None else out

    # sparse input ---------------------------------------------------------------------
    # Whether this sampler works on sparse rows as they are (`gpusmote._io._sparse`): its
    # searches, interpolation and output stay sparse. The others get a dense copy.
    _sparse_native = False

    def _sparse_input(self, X):
        """``(X, back)``: sparse ``X`` as it is for a sampler with a sparse path; for the
        others a dense copy, with a warning, and ``back`` turning the dense output into
        the input's sparse format (imbalanced-learn's SMOTEN does the same)."""
        self._sparse_in = is_sparse(X)  # ClusterCentroids' voting="auto" follows it
        if not self._sparse_in or self._sparse_native:
            return X, None
        return densify(X, type(self).__name__, getattr(self, "max_memory", None))

    def _fit(self, data) -> None:
        """What ``fit`` does beyond validation (SMOTE: the neighbour graphs)."""

    def _fit_resample(self, data):
        raise NotImplementedError

    def _validate_params(self) -> None:
        """`_check_params`, its errors raised as `InvalidParameterError` (a ValueError
        and a TypeError, as imbalanced-learn's parameter errors are)."""
        try:
            self._check_params()
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InvalidParameterError):
                raise
            raise InvalidParameterError(str(exc)) from exc

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
        if "n_jobs" in names:
            resolve_jobs(self.n_jobs)

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
    def _search_kwargs(self) -> dict:
        """The keyword arguments of this sampler's `gpusmote.neighbors.kneighbors` calls."""
        return {
            "backend": getattr(self, "backend", "auto"),
            "device": self.device_,
            "max_memory": getattr(self, "max_memory", None),
        }

    def _estimator(self, spec):
        """A fresh clone of the estimator ``spec`` given as a parameter, with this
        sampler's ``n_jobs`` where both have one (imbalanced-learn passes it on too)."""
        est = _clone(spec)
        jobs = getattr(self, "n_jobs", None)
        if jobs is not None and hasattr(est, "get_params") and "n_jobs" in est.get_params(False):
            est.set_params(n_jobs=jobs)
        return est

    def _neighbours(self, param: str, spec, X_all, own=None, *, extra=1, attr=None):
        """imbalanced-learn's ``nn.fit(X_all).kneighbors(X_all[own])[:, extra:]`` (``own``
        None: all the rows).

        ``spec`` is an int (gpusmote's exact search, each row excluding its own index
        when ``extra``) or an estimator (cloned, its first ``extra`` columns dropped, as
        imbalanced-learn does). ``attr`` names the fitted attribute that keeps the
        estimator, as imbalanced-learn's ``nn_k_`` / ``nn_m_`` / ``nn_``: for an int,
        a `gpusmote.neighbors.NearestNeighbors` of ``spec + extra`` neighbours."""
        asked = X_all.shape[0] if own is None else own.numel()
        if isinstance(spec, numbers.Integral):
            k = int(spec)
            if k + extra > X_all.shape[0]:
                raise ValueError(
                    fmt_error(
                        param,
                        f"at most {X_all.shape[0] - extra} (the rows searched, less the row)",
                        k,
                    )
                )
            if attr is not None:
                est = NearestNeighbors(
                    n_neighbors=k + extra,
                    n_jobs=getattr(self, "n_jobs", None),
                    **self._search_kwargs(),
                )
                setattr(self, attr, est.fit(X_all))
            if asked == 0:  # nothing asked about (NCR: no misclassified row)
                return torch.empty((0, k), dtype=torch.int64, device=X_all.device)
            if extra:  # the rows search for themselves: no copy of them is needed
                return kneighbors(
                    X_all, k, rows=own, return_distance=False, **self._search_kwargs()
                )
            queries = X_all if own is None else X_all[own]  # each row its own neighbour too
            return kneighbors(
                X_all,
                k,
                Y=queries,
                exclude_self=False,
                return_distance=False,
                **self._search_kwargs(),
            )
        est = self._estimator(spec)
        if attr is not None:
            setattr(self, attr, est)
        if asked == 0:
            width = int(getattr(spec, "n_neighbors", extra)) - extra
            return torch.empty((0, max(width, 0)), dtype=torch.int64, device=X_all.device)
        queries = X_all if own is None else X_all[own]
        ours = isinstance(est, NearestNeighbors)
        est.fit(X_all if ours else host_numpy(X_all))
        nns = est.kneighbors(queries if ours else host_numpy(queries), return_distance=False)
        nns = torch.as_tensor(nns).to(X_all.device, torch.int64)
        return nns[:, extra:].contiguous() if extra else nns

    def _targets(self, data, *, skip_empty: bool = True):
        """``[(class index, rows to generate)]`` in sorted class order, from
        ``sampling_strategy_`` (classes with 0 left out unless ``skip_empty`` is False)."""
        index = {c: i for i, c in enumerate(data.classes)}
        return [
            (index[c], n) for c, n in self.sampling_strategy_.items() if n > 0 or not skip_empty
        ]
