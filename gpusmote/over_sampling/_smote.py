"""SMOTE: imbalanced-learn's rows, computed where the data is."""

from __future__ import annotations

import torch

from .._docs import fill_doc
from .._interpolate import differences_overflow, interpolate_into
from .._io import NewRows
from .._random import Stream
from .._typing import Backend, Device, Memory, Neighbours, RandomState, Strategy
from .._validation import check_int, fmt_error
from ..base import instance_lock
from ..exceptions import NotFittedError
from ._base import BaseSMOTE

__all__ = ["SMOTE"]


@fill_doc
class SMOTE(BaseSMOTE):
    """Synthetic Minority Over-sampling Technique, imbalanced-learn compatible.

    Each new row is ``x + u * (x_nn - x)`` with ``x`` a row of the class, ``x_nn`` one of
    its ``k_neighbors`` nearest rows of the same class and ``u ~ U[0, 1)``. With the same
    data and ``random_state`` (None/int/RandomState) the output equals
    ``imblearn.over_sampling.SMOTE``'s, row for row (neighbours are exact; a duplicate
    row is a neighbour at distance 0 rather than being dropped in place of the row
    itself, so data with exact duplicates can differ).

    Parameters
    ----------
    {sampling_strategy_over}
    {random_state}
    {k_neighbors}
    {device}
    {backend}
    {max_memory}

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

    _sparse_native = True

    def __init__(
        self,
        *,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        k_neighbors: Neighbours = 5,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.device = device
        self.backend = backend
        self.max_memory = max_memory

    def _fit(self, data) -> None:
        """Each over-sampled class's neighbour graph, kept with the stream for `sample`."""
        self._data = data
        self._stream = Stream(self.random_state, self.device_)
        self._graphs, self._wide = {}, {}
        self.backend_ = None  # set by the first neighbour search
        for class_index, _n in self._targets(data):
            rows = data.class_rows(class_index)
            self._graphs[class_index] = self._graph(rows, data.classes[class_index])
            self._wide[class_index] = differences_overflow(self._graphs[class_index][0])

    def _fit_resample(self, data) -> NewRows:
        """The input rows, unchanged and in order, then the synthetic rows grouped by
        class in sorted class order (imbalanced-learn's layout)."""
        self._fit(data)
        stream = Stream(self.random_state, self.device_)

        def fill(class_index: int, n: int):
            graph, wide = self._graphs[class_index], self._wide[class_index]
            return lambda dest: self._write(
                graph, stream.for_class().smote(graph[1].numel(), n), wide, dest
            )

        return NewRows([(ci, n, fill(ci, n)) for ci, n in self._targets(data)])

    # generation ----------------------------------------------------------------------
    def _write(self, graph, draws, wide: bool, dest: torch.Tensor) -> None:
        """Interpolate the rows that ``draws`` = (flat, steps) pick from ``graph`` =
        (Xc, nn) into ``dest``: reads the fitted state only through its arguments."""
        Xc, nn = graph
        flat, steps = draws
        partners = nn.view(-1)[flat]  # nn[flat // k, flat % k]
        interpolate_into(Xc, flat // nn.shape[1], partners, steps, dest, self.max_memory, wide=wide)

    def _fitted_class(self, klass):
        if not hasattr(self, "_graphs"):
            raise NotFittedError("This SMOTE instance is not fitted yet; call fit(X, y) first.")
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

    def sample(self, n_samples: int, *, klass=None):
        """More synthetic rows of one class, after `fit`.

        Draws continue one stream across calls, started from ``random_state`` at `fit`.
        Calls from several threads on one instance are safe: each call's draws are one
        piece of the stream, taken under the instance's lock (the rows are then computed
        in parallel), so the blocks are those of some order of the calls one by one.

        Parameters
        ----------
        n_samples : int
            How many rows.
        klass : label, optional
            Which over-sampled class; default: the only one.

        Returns
        -------
        X_new, y_new
            ``n_samples`` rows and their labels, in the fitted input's container types.
        """
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
        """More synthetic rows of one class in chunks, so that an output larger than
        memory can be streamed to disk or into a training loop.

        Each chunk is one `sample` call: iterators consumed from several threads at once
        interleave whole chunks of the stream.

        Parameters
        ----------
        n_samples : int
            How many rows in all.
        klass : label, optional
            As for `sample`.
        chunk_size : int, default=65536
            The most rows per chunk.

        Yields
        ------
        X_chunk, y_chunk
            As `sample` returns them.
        """
        n_samples = check_int(n_samples, "n_samples", minimum=0)
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
        self._fitted_class(klass)
        for start in range(0, n_samples, chunk_size):
            yield self.sample(min(chunk_size, n_samples - start), klass=klass)
