"""SMOTE: imbalanced-learn's rows, computed where the data is."""

from __future__ import annotations

import numbers

import torch

from .._device import compute_dtype
from .._interpolate import differences_overflow, interpolate_into
from .._io import host_numpy
from .._random import Stream, check_random_state
from .._validation import check_int, check_neighbours, fmt_error, parse_memory
from ..base import BaseSampler, _clone, instance_lock
from ..neighbors import NearestNeighbors, collect_stats, kneighbors
from ..neighbors._backend import resolve_backend

__all__ = ["SMOTE"]

_SHARED_DOC = """
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to over-sample and to how many rows, as in imbalanced-learn: a float
        (binary only) is the minority/majority ratio after resampling; "minority", "not
        minority", "not majority", "all", "auto" (= "not majority"); a dict
        ``{class: rows after resampling}``; or a callable ``y -> dict``.
    random_state : None, int, numpy.random.RandomState or torch.Generator
        None, an int or a RandomState reproduce imbalanced-learn's draws (an int gives
        every class a fresh ``RandomState(seed)``, a RandomState is shared by the classes;
        None is a fresh OS-seeded stream, never numpy's global one). A ``torch.Generator``
        draws on its own device instead: fastest, same distribution, not the same rows.
    device : "auto", "cpu", "cuda" or torch.device, keyword-only
        Where to compute. "auto": the device of a tensor ``X``, else CUDA when available,
        else the CPU. The output goes back where the input was.
    backend, max_memory : keyword-only
        Passed to `gpusmote.neighbors.kneighbors` for the neighbour search.
"""


class SMOTE(BaseSampler):
    __doc__ = (
        """Synthetic Minority Over-sampling Technique, imbalanced-learn compatible.

    Each new row is ``x + u * (x_nn - x)`` with ``x`` a row of the class, ``x_nn`` one of
    its ``k_neighbors`` nearest rows of the same class and ``u ~ U[0, 1)``. With the same
    data and ``random_state`` (None/int/RandomState) the output equals
    ``imblearn.over_sampling.SMOTE``'s, row for row (neighbours are exact; a duplicate
    row is a neighbour at distance 0 rather than being dropped in place of the row
    itself, so data with exact duplicates can differ).

    Parameters
    ----------"""
        + _SHARED_DOC
        + """    k_neighbors : int or object with ``kneighbors``, default=5
        Neighbours per row. An object (gpusmote's or scikit-learn's ``NearestNeighbors``)
        is cloned, fitted on each class and asked for its neighbours; its first column
        (the row itself) is dropped, as imbalanced-learn does.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict
        ``{class: rows generated}``, sorted by class.
    device_ : torch.device
    backend_ : str
        The neighbour engine of the last search ("torch", "kdtree", "faiss-flat", ... or
        "estimator").
    n_features_in_ : int
    feature_names_in_ : ndarray (DataFrame input only)

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote import SMOTE
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = np.r_[np.zeros(90, int), np.ones(10, int)]
    >>> X_res, y_res = SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [90, 90]
    >>> bool((X_res[:100] == X).all())
    True
    """
    )

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=5,
        device="auto",
        backend="auto",
        max_memory=None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    # fitting -------------------------------------------------------------------------
    def fit(self, X, y):
        """Validate, resolve ``sampling_strategy_`` and build each class's neighbour graph.

        Afterwards `sample` / `iter_samples` generate rows for the over-sampled classes.
        """
        data = self._fit(X, y)
        data.release()
        return self

    def fit_resample(self, X, y):
        """``(X_resampled, y_resampled)``: the input rows, unchanged and in order, then the
        synthetic rows grouped by class in sorted class order (imbalanced-learn's layout).
        """
        data = self._fit(X, y)
        self._report("generation")
        stream = Stream(self.random_state, self.device_)
        blocks = self._class_blocks(data)
        X_buf, dest = data.x_buffer(sum(n for _, n in blocks))
        start = 0
        for class_index, n in blocks:
            self._generate(class_index, n, stream.for_class(), dest[start : start + n])
            start += n
        y_buf = data.y_buffer(blocks)
        X_out, y_out = data.finish(X_buf, y_buf)
        data.release()
        return X_out, y_out

    def _report(self, step: str) -> None:
        """Tell a progress display (the CLI sets ``_on_step``) which phase starts."""
        callback = getattr(self, "_on_step", None)
        if callback is not None:
            callback(step)

    def _fit(self, X, y):
        self._check_params()
        data = self._prepare(X, y)
        self._report("neighbour search")
        self._data = data
        self._stream = Stream(self.random_state, self.device_)
        self._graphs, self._wide = {}, {}
        self.backend_ = None  # set by the first neighbour search
        for class_index, _n in self._class_blocks(data):
            rows = data.class_rows(class_index)
            self._graphs[class_index] = self._graph(rows, data.classes[class_index])
            self._wide[class_index] = differences_overflow(self._graphs[class_index][0])
        return data

    def _class_blocks(self, data):
        """``(class index, rows to generate)`` for each class to over-sample, sorted."""
        index = {c: i for i, c in enumerate(data.classes)}
        return [(index[c], n) for c, n in self.sampling_strategy_.items() if n > 0]

    def _check_params(self) -> None:
        check_random_state(self.random_state)
        resolve_backend(self.backend)
        parse_memory(self.max_memory, "max_memory")
        check_neighbours(self.k_neighbors, "k_neighbors")

    def _graph(self, Xc: torch.Tensor, label):
        """``(Xc, nn)``: the class's rows (compute dtype) and (n_c, k) neighbour indices."""
        Xc = Xc.to(compute_dtype(Xc.dtype))
        n_c = Xc.shape[0]
        k = self.k_neighbors
        if isinstance(k, numbers.Integral):
            require_more_rows(n_c, k, label)
            with collect_stats() as stats:
                nn = kneighbors(
                    Xc,
                    int(k),
                    backend=self.backend,
                    device=self.device_,
                    max_memory=self.max_memory,
                    return_distance=False,
                )
            self.backend_ = stats[-1].backend
            return Xc, nn
        est = _clone(k)
        wanted = getattr(est, "n_neighbors", None)
        if isinstance(wanted, numbers.Integral) and wanted > n_c:
            raise ValueError(
                fmt_error(
                    "k_neighbors",
                    f"an estimator asking for at most {n_c} neighbours (the rows of class "
                    f"{label!r}; its first neighbour is the row itself)",
                    k,
                )
            )
        ours = isinstance(est, NearestNeighbors)
        points = Xc if ours else host_numpy(Xc)
        est.fit(points)
        nn = torch.as_tensor(est.kneighbors(points, return_distance=False))[:, 1:]
        self.backend_ = "estimator"
        return Xc, nn.to(self.device_, torch.int64).contiguous()

    # generation ----------------------------------------------------------------------
    def _generate(self, class_index: int, n: int, gen, dest: torch.Tensor) -> None:
        """Write ``n`` synthetic rows of a class into ``dest`` (n, d)."""
        draws = gen.smote(self._graphs[class_index][1].numel(), n)
        self._write(self._graphs[class_index], draws, self._wide[class_index], dest)

    def _write(self, graph, draws, wide: bool, dest: torch.Tensor) -> None:
        """Interpolate the rows that ``draws`` = (flat, steps) pick from ``graph`` =
        (Xc, nn) into ``dest``: reads the fitted state only through its arguments."""
        Xc, nn = graph
        flat, steps = draws
        partners = nn.view(-1)[flat]  # nn[flat // k, flat % k]
        interpolate_into(Xc, flat // nn.shape[1], partners, steps, dest, self.max_memory, wide=wide)

    def _fitted_class(self, klass):
        if not hasattr(self, "_graphs"):
            raise RuntimeError("This SMOTE instance is not fitted yet; call fit(X, y) first.")
        labels = {self._data.classes[i]: i for i in self._graphs}
        if klass is None:
            if len(labels) != 1:
                raise ValueError(
                    fmt_error("klass", f"one of the over-sampled classes {list(labels)}", klass)
                )
            return next(iter(labels.values()))
        if klass not in labels:
            raise ValueError(
                fmt_error("klass", f"one of the over-sampled classes {list(labels)}", klass)
            )
        return labels[klass]

    # Whether `fit` keeps what `sample` and `iter_samples` draw from. The variants that
    # generate rows in `fit_resample` only set it False.
    _streams = True

    def _require_streams(self) -> None:
        if not self._streams:
            raise NotImplementedError(
                f"{type(self).__name__} generates rows in fit_resample only (fit only "
                "validates the data and sets sampling_strategy_, as in imbalanced-learn)."
            )

    def sample(self, n_samples: int, *, klass=None):
        """``(X_new, y_new)``: ``n_samples`` more synthetic rows of ``klass`` (default: the
        only over-sampled class), in the input's container types.

        Draws continue one stream across calls, started from ``random_state`` at `fit`.
        Calls from several threads on one instance are safe: each call's draws are one
        piece of the stream, taken under the instance's lock (the rows are then computed
        in parallel), so the blocks are those of some order of the calls one by one.
        """
        self._require_streams()
        n_samples = check_int(n_samples, "n_samples", minimum=0)
        with instance_lock(self):  # one fit's state and one piece of the stream
            class_index = self._fitted_class(klass)
            data, graph = self._data, self._graphs[class_index]
            wide = self._wide[class_index]
            draws = None
            if n_samples:
                draws = self._stream.continuing().smote(graph[1].numel(), n_samples)
        X_buf, dest = data.x_buffer(n_samples, with_input=False)
        if n_samples:
            self._write(graph, draws, wide, dest)
        y_buf = data.y_buffer([(class_index, n_samples)], with_input=False)
        return data.finish(X_buf, y_buf)

    def iter_samples(self, n_samples: int, *, klass=None, chunk_size: int = 65536):
        """Yield ``(X_chunk, y_chunk)`` pairs of at most ``chunk_size`` rows, ``n_samples``
        in all, so an output larger than memory can be streamed to disk or a training loop.

        Each chunk is one `sample` call: iterators consumed from several threads at once
        interleave whole chunks of the stream.
        """
        self._require_streams()
        n_samples = check_int(n_samples, "n_samples", minimum=0)
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
        self._fitted_class(klass)
        for start in range(0, n_samples, chunk_size):
            yield self.sample(min(chunk_size, n_samples - start), klass=klass)


def require_more_rows(n_c: int, k: int, label) -> None:
    """A class searched for ``k`` neighbours besides each row needs more than k rows."""
    if n_c <= k:
        raise ValueError(
            fmt_error(
                "k_neighbors",
                f"smaller than the number of rows of class {label!r}, which has "
                f"{n_c} (SMOTE needs k_neighbors + 1 rows in each class it over-samples)",
                k,
            )
        )
