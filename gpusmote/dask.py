"""Resampling a dataset larger than one machine, on Dask: `fit_resample`.

Imported on demand (``import gpusmote.dask``); needs the ``dask`` extra.

The work is a Dask graph, run by whatever scheduler is active (a
``distributed.Client`` for a cluster):

- the class counts and the partitions' lengths are computed on the cluster, in one
  pass over the data;
- an over-sampler gathers the rows of each class it over-samples into one task (they
  must fit on one worker: ``max_gather``), computes that class's neighbour graph once,
  in query blocks spread over the workers (on their GPUs where they have one), and
  generates the new rows in parallel tasks, one output partition of at most
  ``rows_per_partition`` rows each;
- RandomUnderSampler keeps rows by a random key per row, without gathering anything;
- EditedNearestNeighbours and TomekLinks decide per row from the global neighbour
  graph of all rows, computed block by block (every partition's rows against every
  partition: P^2 tasks, so for clusters with many workers), with only the labels (and
  for TomekLinks each row's nearest row) gathered, 8 bytes per row each.

Every random draw depends on (``random_state``, class, output partition) or on
(``random_state``, global row number) only, never on the input's partitioning, the
number of workers or the order tasks run in, so the output is identical with 1 or N
workers, with any input partitioning, and after a worker dies and its tasks are
retried.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ._validation import check_int, fmt_error, parse_memory
from .data._hash import _GOLDEN, _mix, _signed

__all__ = ["fit_resample", "SUPPORTED"]

SUPPORTED = (
    "SMOTE",
    "RandomOverSampler",
    "RandomUnderSampler",
    "EditedNearestNeighbours",
    "TomekLinks",
)
# Output partitions of synthetic rows. A fixed default, not one taken from the input's
# partitions: the seeds are per output partition, so the output must not depend on how
# the input happens to be split.
DEFAULT_ROWS_PER_PARTITION = 100_000
DEFAULT_MAX_GATHER = "2GiB"
# Rows per neighbour-search task: enough queries per task that each task's search
# keeps the engine busy, enough tasks to spread over a few workers.
_QUERY_BLOCK_MIN, _QUERY_BLOCK_MAX = 4096, 262_144


def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.array  # noqa: F401
        import dask.dataframe  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            'gpusmote.dask needs Dask: pip install "gpusmote[dask]" (or resample in one '
            "process with the sampler's own fit_resample)"
        ) from exc


def fit_resample(
    X,
    y=None,
    *,
    sampler,
    target=None,
    rows_per_partition=None,
    max_gather=DEFAULT_MAX_GATHER,
):
    """Resample a Dask DataFrame or Array with a gpusmote sampler, lazily.

    Parameters
    ----------
    X : dask.dataframe.DataFrame or dask.array.Array
        A DataFrame holds the features and the label column named by ``target``
        (numeric features: numbers or bools). An Array is (n, d) with the labels in
        ``y``.
    y : dask.array.Array, optional
        (n,) labels, partitioned like ``X``'s rows; only with an Array ``X``.
    sampler : gpusmote.SMOTE, gpusmote.RandomOverSampler, or
        gpusmote.under_sampling's RandomUnderSampler, EditedNearestNeighbours or
        TomekLinks
        Its parameters are used (``sampling_strategy``, ``random_state``,
        ``k_neighbors``/``n_neighbors`` as ints, ``kind_sel``, ``device``, ``backend``,
        ``max_memory``); it is not fitted. ``random_state`` must be an int or None
        (None: one seed drawn now). The other samplers raise a ``TypeError`` saying they
        are not supported on dask: their decisions need the whole set in one place, or
        a sequential pass over it.
    target : str, optional
        The label column of a DataFrame ``X``.
    rows_per_partition : int, optional
        Rows per output partition of synthetic rows (default 100,000). Part of the
        seed of each partition: the same value gives the same output.
    max_gather : int or str, default "2GiB"
        The most bytes of one class's rows an over-sampler may gather onto one worker
        (rows x features x 8 for the float64 copy, 4 for float32).

    Returns
    -------
    DataFrame input: one dask DataFrame, the original partitions followed by the
    synthetic ones (a fresh integer index continues after the input's row count).
    Array input: ``(X_res, y_res)`` dask Arrays, likewise.

    Under-samplers and cleaning methods keep each partition's rows in their order
    (imbalanced-learn groups them by class). EditedNearestNeighbours and TomekLinks keep
    the in-process samplers' rows. RandomUnderSampler draws a key per row, so which rows
    it keeps differs from the in-process sampler's choice while the class counts are
    the same. SMOTE's and
    RandomOverSampler's draws are per output partition, so the new rows differ from
    the in-process samplers' (which draw one stream) and follow the same distribution.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dask.dataframe as dd
    >>> from gpusmote import SMOTE
    >>> from gpusmote.dask import fit_resample
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    >>> frame["label"] = (np.arange(100) < 10).astype(int)
    >>> ddf = dd.from_pandas(frame, npartitions=4)
    >>> out = fit_resample(ddf, sampler=SMOTE(random_state=0), target="label")
    >>> out["label"].value_counts().compute().sort_index().tolist()
    [90, 90]
    """
    _require_dask()
    job = _Job(X, y, sampler, target, rows_per_partition, max_gather)
    return job.run()


class _Job:
    def __init__(self, X, y, sampler, target, rows_per_partition, max_gather):
        import dask.array as da
        import dask.dataframe as dd

        self.kind = _check_sampler(sampler)
        self.sampler = sampler
        self.rows_per_partition = (
            DEFAULT_ROWS_PER_PARTITION
            if rows_per_partition is None
            else check_int(rows_per_partition, "rows_per_partition", minimum=1)
        )
        self.max_gather = parse_memory(max_gather, "max_gather")
        if isinstance(X, dd.DataFrame):
            self._from_frame(X, y, target)
        elif isinstance(X, da.Array):
            self._from_array(X, y, target)
        else:
            raise TypeError(
                fmt_error("X", "a dask DataFrame (with target=) or a dask Array", type(X).__name__)
            )
        self.seed = _seed(getattr(sampler, "random_state", 0))

    # inputs ----------------------------------------------------------------------------
    def _from_frame(self, X, y, target):
        import dask

        if y is not None:
            raise ValueError(
                fmt_error("y", "None with a DataFrame X (name the label column in target=)", y)
            )
        if target is None or target not in X.columns:
            raise ValueError(
                fmt_error("target", f"the name of a column of X {list(X.columns)}", target)
            )
        features = [c for c in X.columns if c != target]
        if not features:
            raise ValueError(fmt_error("X", "at least one feature column besides target", X))
        bad = [c for c in features if not _numeric(X.dtypes[c])]
        if bad:
            raise TypeError(
                fmt_error("X", "numeric or bool feature columns", f"columns {bad} of other types")
            )
        self.frame, self.target, self.features = X, target, features
        self.n_features = len(features)
        self.dtype = _common_float([X.dtypes[c] for c in features])
        # labels from the same partitions as the rows: a projection of X alone may be
        # partitioned differently (dask fuses small Parquet reads)
        self.parts = X.to_delayed()
        self.label_parts = [dask.delayed(_column, pure=True)(p, target) for p in self.parts]

    def _from_array(self, X, y, target):
        import dask.array as da

        if target is not None:
            raise ValueError(fmt_error("target", "None with an Array X (pass y)", target))
        if X.ndim != 2:
            raise ValueError(fmt_error("X", "a 2-D dask Array", f"shape {X.shape}"))
        if not isinstance(y, da.Array) or y.ndim != 1:
            raise TypeError(fmt_error("y", "a 1-D dask Array of labels", type(y).__name__))
        if any(math.isnan(c) for c in X.chunks[0]) or any(math.isnan(c) for c in y.chunks[0]):
            raise ValueError(
                fmt_error("X", "Arrays with known chunk sizes (call compute_chunk_sizes())", X)
            )
        if X.shape[0] != y.shape[0]:
            raise ValueError(fmt_error("y", f"{X.shape[0]} labels, one per row of X", y.shape[0]))
        if not _numeric(X.dtype):
            raise TypeError(fmt_error("X", "a numeric or bool Array", X.dtype))
        if y.chunks[0] != X.chunks[0]:
            y = y.rechunk({0: X.chunks[0]})
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        self.frame, self.target, self.features = None, None, None
        self.array, self.labels = X, y
        self.n_features = X.shape[1]
        self.dtype = _common_float([X.dtype])
        self.parts = X.to_delayed().ravel().tolist()
        self.label_parts = y.to_delayed().ravel().tolist()

    # the job ---------------------------------------------------------------------------
    def run(self):
        import dask

        from ._strategy import resolve

        lengths = [dask.delayed(len)(p) for p in self.label_parts]
        counts = [dask.delayed(_label_counts)(p) for p in self.label_parts]
        # the samplers that compute on the rows need them finite, as in one process; the
        # random ones only index rows, so NaN passes through them
        computes = self.kind in ("smote", "enn", "tomek")
        bad = [dask.delayed(_non_finite)(p, self.features) for p in self.parts] if computes else []
        lengths, counts, bad = dask.compute(lengths, counts, bad)
        if sum(bad):
            raise ValueError(
                fmt_error("X", "finite (no NaN or infinity)", f"{sum(bad)} non-finite values in X")
            )
        total = {}
        for part in counts:
            for label, n in part.items():
                total[label] = total.get(label, 0) + n
        self.counts = {label: total[label] for label in sorted(total)}
        self.classes = list(self.counts)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.n_rows = int(self.offsets[-1])
        if callable(self.sampler.sampling_strategy):
            raise TypeError(
                fmt_error(
                    "sampling_strategy",
                    "a string, float, dict or list on dask (a callable needs all labels)",
                    self.sampler.sampling_strategy,
                )
            )
        sampling_type = {
            "under": "under-sampling",
            "enn": "clean-sampling",
            "tomek": "clean-sampling",
        }.get(self.kind, "over-sampling")
        self.strategy = resolve(self.sampler.sampling_strategy, self.counts, sampling_type)
        if self.kind == "under":
            return self._under_sample()
        if self.kind in ("enn", "tomek"):
            return self._clean()
        return self._over_sample()

    def _over_sample(self):
        import dask

        pieces = []  # (class index, delayed rows) per synthetic partition
        k = getattr(self.sampler, "k_neighbors", None)
        itemsize = np.dtype(self.dtype).itemsize
        token = self._token()
        for label, n_new in self.strategy.items():
            if n_new == 0:
                continue
            ci = self.classes.index(label)
            n_c = self.counts[label]
            need = n_c * self.n_features * itemsize
            if need > self.max_gather:
                raise ValueError(
                    fmt_error(
                        "max_gather",
                        f"at least {need:,} bytes to gather the {n_c:,} rows of class "
                        f"{label!r} ({self.n_features} features, {np.dtype(self.dtype).name}) "
                        "onto one worker",
                        self.max_gather,
                    )
                )
            rows = [
                dask.delayed(_class_rows)(p, lp, label, self.features, self.dtype)
                for p, lp in zip(self.parts, self.label_parts, strict=True)
            ]
            Xc = dask.delayed(_concat, pure=True)(
                rows, dask_key_name=f"gpusmote-gather-{token}-{ci}"
            )
            graph = None
            if self.kind == "smote":
                from .over_sampling._base import require_more_rows

                require_more_rows(n_c, k, label)
                graph = self._graph(Xc, n_c, k, token, ci)
            R = self.rows_per_partition
            for p in range(math.ceil(n_new / R)):
                m = min(R, n_new - p * R)
                piece = dask.delayed(_synthetic_rows, pure=True)(
                    Xc,
                    graph,
                    m,
                    (self.seed, ci, p),
                    self._search(),
                    dask_key_name=f"gpusmote-synth-{token}-{ci}-{p}",
                )
                pieces.append((ci, m, piece))
        return self._assemble(pieces)

    def _token(self) -> str:
        """The part of every hand-named key that says which job it is: the input
        collections' own keys (which dask derives from their data), the feature columns
        and dtypes, the sampler's type and every parameter, the seed and the output
        layout. Two jobs share a key only when they compute the same thing: a key made
        from the shape alone once handed one job's synthetic rows to another."""
        from dask.base import tokenize

        params = self.sampler.get_params(deep=False)
        return tokenize(
            [p.key for p in self.parts],
            [p.key for p in self.label_parts],
            self.features,
            self.target,
            self._feature_dtypes(),
            np.dtype(self.dtype).str,
            type(self.sampler).__qualname__,
            # repr: a torch.device or an index object tokenizes by value this way
            sorted((name, repr(value)) for name, value in params.items()),
            self.seed,
            self.rows_per_partition,
            self.max_gather,
            [(repr(label), n) for label, n in self.counts.items()],
            self.n_rows,
        )

    def _feature_dtypes(self) -> list[str]:
        if self.frame is not None:
            return [str(self.frame.dtypes[c]) for c in self.features]
        return [str(self.array.dtype)]

    def _search(self) -> dict:
        s = self.sampler
        return {
            "device": getattr(s, "device", "auto"),
            "backend": getattr(s, "backend", "auto"),
            "max_memory": getattr(s, "max_memory", None),
        }

    def _graph(self, Xc, n_c: int, k: int, token: str, ci: int):
        import dask

        block = min(_QUERY_BLOCK_MAX, max(_QUERY_BLOCK_MIN, math.ceil(n_c / 8)))
        blocks = [
            dask.delayed(_neighbour_block, pure=True)(
                Xc,
                a,
                min(n_c, a + block),
                k,
                self._search(),
                dask_key_name=f"gpusmote-knn-{token}-{ci}-{a}",
            )
            for a in range(0, n_c, block)
        ]
        return dask.delayed(np.concatenate, pure=True)(
            blocks, dask_key_name=f"gpusmote-graph-{token}-{ci}"
        )

    def _assemble(self, pieces):
        import dask
        import dask.array as da
        import dask.dataframe as dd

        if self.frame is not None:
            frame = self.frame
            if self.kind == "smote":  # new rows are interpolated: integer columns become float
                casts = {c: np.float64 for c in self.features if frame.dtypes[c].kind in "biu"}
                frame = frame.astype(casts) if casts else frame
            meta = frame._meta
            start = self.n_rows
            parts = []
            for ci, m, piece in pieces:
                label = self.classes[ci]
                parts.append(
                    dask.delayed(_to_frame, pure=True)(
                        piece, meta, self.features, self.target, label, start
                    )
                )
                start += m
            if not parts:
                return frame
            return dd.concat([frame, dd.from_delayed(parts, meta=meta, verify_meta=False)])
        X, y = self.array, self.labels
        if self.kind == "smote" and X.dtype.kind in "biu":
            X = X.astype(np.float64)
        xs, ys = [X], [y]
        for ci, m, piece in pieces:
            xs.append(da.from_delayed(piece, shape=(m, self.n_features), dtype=X.dtype))
            ys.append(da.full(m, self.classes[ci], dtype=y.dtype, chunks=m))
        return da.concatenate(xs, axis=0), da.concatenate(ys)

    def _under_sample(self):
        import dask

        keep = {label: n for label, n in self.strategy.items() if n < self.counts[label]}
        cuts = [
            dask.delayed(_smallest_keys)(lp, int(self.offsets[i]), keep, self.seed)
            for i, lp in enumerate(self.label_parts)
        ]
        cut = dask.compute(dask.delayed(_merge_smallest)(cuts, keep))[0]
        if self.frame is not None:
            import dask.dataframe as dd

            parts = [
                dask.delayed(_keep_frame_rows, pure=True)(
                    p, self.target, cut, self.seed, int(self.offsets[i])
                )
                for i, p in enumerate(self.parts)
            ]
            return dd.from_delayed(parts, meta=self.frame._meta, verify_meta=False)
        mask = self.labels.map_blocks(_keep_mask, cut, self.seed, dtype=bool)
        return self.array[mask], self.labels[mask]

    def _clean(self):
        """ENN / TomekLinks: per-row decisions from the neighbour graph of all rows."""
        import dask

        k = self.sampler.n_neighbors + 1 if self.kind == "enn" else 2  # the row itself too
        if k > self.n_rows:
            raise ValueError(fmt_error("n_neighbors", f"below {self.n_rows} (the rows)", k - 1))
        points = [
            dask.delayed(_points, pure=True)(p, self.features, self.dtype) for p in self.parts
        ]
        search = self._search()
        graph = []  # per partition: (n_i, k - 1) global rows, each row's own dropped
        for i, q in enumerate(points):
            blocks = [
                dask.delayed(_knn_block, pure=True)(q, x, int(self.offsets[j]), k, search)
                for j, x in enumerate(points)
            ]
            graph.append(dask.delayed(_merge_knn, pure=True)(blocks, int(self.offsets[i]), k))
        labels = dask.delayed(_codes, pure=True)(
            [dask.delayed(np.asarray)(lp) for lp in self.label_parts], self.classes
        )
        cleaned = [self.classes.index(c) for c in self.strategy]
        if self.kind == "tomek":
            first = dask.delayed(_concat, pure=True)(
                [dask.delayed(_first_column)(g) for g in graph]
            )
            masks = [
                dask.delayed(_tomek_keep, pure=True)(
                    g, int(self.offsets[i]), first, labels, cleaned
                )
                for i, g in enumerate(graph)
            ]
        else:
            masks = [
                dask.delayed(_enn_keep, pure=True)(
                    g, int(self.offsets[i]), labels, cleaned, self.sampler.kind_sel
                )
                for i, g in enumerate(graph)
            ]
        return self._filtered(masks)

    def _filtered(self, masks):
        """The input's rows where the per-partition masks are True, lazily."""
        import dask

        if self.frame is not None:
            import dask.dataframe as dd

            parts = [
                dask.delayed(_take, pure=True)(p, m) for p, m in zip(self.parts, masks, strict=True)
            ]
            return dd.from_delayed(parts, meta=self.frame._meta, verify_meta=False)
        import dask.array as da

        mask = da.concatenate(
            [
                da.from_delayed(m, shape=(int(n),), dtype=bool)
                for m, n in zip(masks, np.diff(self.offsets), strict=True)
            ]
        ).rechunk(self.array.chunks[0])
        return self.array[mask], self.labels[mask]


# checks --------------------------------------------------------------------------------
def _check_sampler(sampler) -> str:
    from .over_sampling import SMOTE, RandomOverSampler
    from .under_sampling import EditedNearestNeighbours, RandomUnderSampler, TomekLinks

    kinds = {
        SMOTE: "smote",
        RandomOverSampler: "ros",
        RandomUnderSampler: "under",
        EditedNearestNeighbours: "enn",
        TomekLinks: "tomek",
    }
    kind = kinds.get(type(sampler))
    if kind is None:
        raise TypeError(
            fmt_error(
                "sampler",
                f"one of {', '.join(SUPPORTED)}: {type(sampler).__name__} is not supported "
                "on dask (its decisions need the whole set in one place or a sequential "
                "pass over it)",
                sampler,
            )
        )
    rs = getattr(sampler, "random_state", None)
    if rs is not None and not (isinstance(rs, numbers.Integral) and not isinstance(rs, bool)):
        raise TypeError(
            fmt_error(
                "random_state",
                "an int or None on dask (a generator's stream cannot be split over tasks)",
                rs,
            )
        )
    if kind == "smote" and not (
        isinstance(sampler.k_neighbors, numbers.Integral) and sampler.k_neighbors >= 1
    ):
        raise TypeError(fmt_error("k_neighbors", "a positive int on dask", sampler.k_neighbors))
    if kind == "ros" and sampler.shrinkage is not None:
        raise ValueError(fmt_error("shrinkage", "None on dask", sampler.shrinkage))
    if kind == "under" and sampler.replacement:
        raise ValueError(fmt_error("replacement", "False on dask", sampler.replacement))
    if kind == "enn":
        if not (isinstance(sampler.n_neighbors, numbers.Integral) and sampler.n_neighbors >= 1):
            raise TypeError(fmt_error("n_neighbors", "a positive int on dask", sampler.n_neighbors))
        if sampler.kind_sel not in ("all", "mode"):
            raise ValueError(fmt_error("kind_sel", '"all" or "mode"', sampler.kind_sel))
    return kind


def _seed(random_state) -> int:
    if random_state is None:  # drawn once, so retried tasks see the same seed
        return int(np.random.SeedSequence().generate_state(1)[0])
    if not 0 <= int(random_state) < 2**32:
        raise ValueError(fmt_error("random_state", "an int in [0, 2**32 - 1]", random_state))
    return int(random_state)


def _numeric(dtype) -> bool:
    return getattr(dtype, "kind", None) in ("b", "i", "u", "f")


def _common_float(dtypes) -> type:
    """float32 when every feature is float32 or narrower float, else float64."""
    if all(np.dtype(d).kind == "f" and np.dtype(d).itemsize <= 4 for d in dtypes):
        return np.float32
    return np.float64


# tasks (run on the workers) ----------------------------------------------------------
def _column(part, name):
    return part[name]


def _label_counts(labels) -> dict:
    values, counts = np.unique(np.asarray(labels), return_counts=True)
    return {
        v.item() if hasattr(v, "item") else v: int(c) for v, c in zip(values, counts, strict=True)
    }


def _non_finite(part, features) -> int:
    return int(np.count_nonzero(~np.isfinite(_values(part, features))))


def _class_rows(part, labels, label, features, dtype) -> np.ndarray:
    """(n_c, d) rows of one class in one input partition, in order."""
    mask = np.asarray(labels) == label
    return np.ascontiguousarray(_values(part, features)[mask], dtype=dtype)


def _values(part, features) -> np.ndarray:
    """A partition's feature values: a DataFrame's ``features`` columns, or the block."""
    return part[features].to_numpy() if features is not None else np.asarray(part)


def _concat(rows) -> np.ndarray:
    return np.concatenate(rows, axis=0)


def _device(search: dict) -> torch.device:
    from ._device import resolve_device

    return resolve_device(search["device"])


def _neighbour_block(Xc: np.ndarray, a: int, b: int, k: int, search: dict) -> np.ndarray:
    """(b - a, k) nearest rows of the class for its rows a:b, each row's own excluded."""
    from .neighbors import kneighbors

    dev = _device(search)
    Xt = torch.from_numpy(Xc).to(dev)
    own = torch.arange(a, b, device=dev)
    nn = kneighbors(Xt, k, rows=own, return_distance=False, **{**search, "device": dev})
    return nn.cpu().numpy()


def _synthetic_rows(Xc, graph, m: int, key: tuple, search: dict) -> np.ndarray:
    """(m, d) new rows of one output partition, from its own seed (seed, class, part).

    SMOTE (``graph`` given): a row, one of its k neighbours and a step in [0, 1) per new
    row, ``x + u * (x_nn - x)`` with imbalanced-learn's arithmetic. RandomOverSampler:
    a row drawn with replacement.
    """
    from ._interpolate import interpolate_into

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(key))))
    n_c = Xc.shape[0]
    rows = rng.integers(0, n_c, size=m)
    if graph is None:
        return Xc[rows]
    k = graph.shape[1]
    partners = graph[rows, rng.integers(0, k, size=m)]
    steps = rng.random(m)
    dev = _device(search)
    Xt = torch.from_numpy(Xc).to(dev)
    out = torch.empty((m, Xc.shape[1]), dtype=Xt.dtype, device=dev)
    interpolate_into(
        Xt,
        torch.from_numpy(rows).to(dev),
        torch.from_numpy(partners).to(dev),
        torch.from_numpy(steps).to(dev),
        out,
        search["max_memory"],
    )
    return out.cpu().numpy()


def _to_frame(values: np.ndarray, meta, features, target, label, start: int):
    import pandas as pd

    m = values.shape[0]
    columns = {}
    for c in meta.columns:
        if c == target:
            columns[c] = np.full(m, label, dtype=meta.dtypes[c])
        else:
            columns[c] = values[:, features.index(c)].astype(meta.dtypes[c], copy=False)
    return pd.DataFrame(columns, index=pd.RangeIndex(start, start + m))


# the neighbour graph of all rows (cleaning) -------------------------------------------
def _points(part, features, dtype) -> np.ndarray:
    return np.ascontiguousarray(_values(part, features), dtype=dtype)


def _knn_block(queries: np.ndarray, rows: np.ndarray, first: int, k: int, search: dict):
    """The k nearest of ``rows`` (global numbers from ``first``) for each query:
    (distances float64, global rows), both (q, min(k, len(rows)))."""
    from .neighbors import kneighbors

    dev = _device(search)
    kk = min(k, rows.shape[0])
    dist, ind = kneighbors(
        torch.from_numpy(rows).to(dev),
        kk,
        Y=torch.from_numpy(queries).to(dev),
        exclude_self=False,
        **{**search, "device": dev},
    )
    return dist.cpu().numpy().astype(np.float64), ind.cpu().numpy() + first


def _merge_knn(blocks, first: int, k: int) -> np.ndarray:
    """The k nearest over all blocks, by (distance, global row), less each row's own
    number where it is among them (else the farthest): as the in-process search."""
    from .neighbors._exact import drop_own

    dist = np.concatenate([b[0] for b in blocks], axis=1)
    ind = np.concatenate([b[1] for b in blocks], axis=1)
    order = np.lexsort((ind, dist), axis=1)[:, :k]
    nn = np.take_along_axis(ind, order, 1)
    own = torch.arange(first, first + nn.shape[0])
    return drop_own(torch.from_numpy(nn), own).numpy()


def _first_column(graph: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(graph[:, 0])


def _codes(parts, classes) -> np.ndarray:
    """(n,) int64 class codes (positions in the sorted ``classes``) of all rows."""
    labels = np.concatenate(parts)
    keys = np.asarray(classes)
    codes = np.searchsorted(keys, labels)
    if not (keys[np.minimum(codes, len(keys) - 1)] == labels).all():  # mixed label types
        lookup = {c: i for i, c in enumerate(classes)}
        codes = np.array([lookup[v.item() if hasattr(v, "item") else v] for v in labels])
    return codes.astype(np.int64)


def _enn_keep(graph, first: int, codes, cleaned, kind_sel) -> np.ndarray:
    from ._votes import mode_rows

    own = codes[first : first + graph.shape[0]]
    theirs = codes[graph]
    if kind_sel == "mode":
        agree = mode_rows(torch.from_numpy(theirs)).numpy() == own
    else:
        agree = (theirs == own[:, None]).all(1)
    return agree | ~np.isin(own, cleaned)


def _tomek_keep(graph, first: int, nearest, codes, cleaned) -> np.ndarray:
    rows = np.arange(first, first + graph.shape[0])
    nn = graph[:, 0]
    own = codes[rows]
    link = (nearest[nn] == rows) & (codes[nn] != own)
    return ~(link & np.isin(own, cleaned))


def _take(part, mask: np.ndarray):
    return part[mask]


# random keys per row (under-sampling) -------------------------------------------------
def _row_keys(seed: int, first: int, n: int) -> np.ndarray:
    """A uint64 key per global row number ``first .. first + n - 1``: SplitMix64 of
    (seed, row) by `data._hash`'s finaliser, a bijection of the row number for each seed,
    so keys never tie."""
    z = torch.arange(first, first + n, dtype=torch.int64) + _signed(int(seed) * _GOLDEN)
    return _mix(z).numpy().view(np.uint64)


def _smallest_keys(labels, first: int, keep: dict, seed: int) -> dict:
    """Per class to under-sample: the ``keep[class]`` smallest keys of this partition."""
    labels = np.asarray(labels)
    keys = _row_keys(seed, first, labels.shape[0])
    out = {}
    for label, n in keep.items():
        k = keys[labels == label]
        out[label] = np.sort(k)[:n] if k.shape[0] > n else np.sort(k)
    return out


def _merge_smallest(parts, keep: dict) -> dict:
    """Per class: the key of its ``keep[class]``-th row (rows at or below it are kept);
    a class asked to keep 0 rows gets no cut and keeps none."""
    cut = {}
    for label, n in keep.items():
        if n == 0:
            cut[label] = None
            continue
        keys = np.sort(np.concatenate([p[label] for p in parts]))
        cut[label] = int(keys[n - 1])
    return cut


def _keep(labels: np.ndarray, first: int, cut: dict, seed: int) -> np.ndarray:
    keys = _row_keys(seed, first, labels.shape[0])
    mask = np.ones(labels.shape[0], dtype=bool)
    for label, c in cut.items():
        rows = labels == label
        mask[rows] = False if c is None else keys[rows] <= np.uint64(c)
    return mask


def _keep_frame_rows(part, target, cut, seed, first: int):
    return part[_keep(part[target].to_numpy(), first, cut, seed)]


def _keep_mask(labels, cut, seed, block_info=None):
    first = int(block_info[0]["array-location"][0][0]) if block_info else 0
    return _keep(np.asarray(labels), first, cut, seed)
