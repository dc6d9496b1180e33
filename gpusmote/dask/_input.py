"""A dask DataFrame or Array as gpusmote sees it: partitions of rows and of labels, and
the tasks that read them on the workers."""

from __future__ import annotations

import math

import numpy as np

from .._io._frame import frame_to_numeric
from .._validation import fmt_error

__all__ = ["DaskInput"]


class DaskInput:
    """The partitions of ``X`` (``parts``) and of its labels (``label_parts``), aligned,
    with the feature columns, their common float dtype and, for a DataFrame, the frame
    itself (``frame``) or, for an Array, ``array`` and ``labels``."""

    def __init__(self, X, y, target):
        import dask.array as da
        import dask.dataframe as dd

        self.frame = self.array = self.labels = None
        self.target = self.features = None
        if isinstance(X, dd.DataFrame):
            self._from_frame(X, y, target)
        elif isinstance(X, da.Array):
            self._from_array(X, y, target)
        else:
            raise TypeError(
                fmt_error("X", "a dask DataFrame (with target=) or a dask Array", type(X).__name__)
            )

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
        bad = [c for c in features if not numeric(X.dtypes[c])]
        if bad:
            raise TypeError(
                fmt_error("X", "numeric or bool feature columns", f"columns {bad} of other types")
            )
        self.frame, self.target, self.features = X, target, features
        self.n_features = len(features)
        self.dtype = common_float([X.dtypes[c] for c in features])
        # labels from the same partitions as the rows: a projection of X alone may be
        # partitioned differently (dask fuses small Parquet reads)
        self.parts = X.to_delayed()
        self.label_parts = [dask.delayed(column, pure=True)(p, target) for p in self.parts]

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
        if not numeric(X.dtype):
            raise TypeError(fmt_error("X", "a numeric or bool Array", X.dtype))
        if y.chunks[0] != X.chunks[0]:
            y = y.rechunk({0: X.chunks[0]})
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        self.array, self.labels = X, y
        self.n_features = X.shape[1]
        self.dtype = common_float([X.dtype])
        self.parts = X.to_delayed().ravel().tolist()
        self.label_parts = y.to_delayed().ravel().tolist()

    def feature_dtypes(self) -> list[str]:
        if self.frame is not None:
            return [str(self.frame.dtypes[c]) for c in self.features]
        return [str(self.array.dtype)]


def numeric(dtype) -> bool:
    return getattr(dtype, "kind", None) in ("b", "i", "u", "f")


def common_float(dtypes) -> type:
    """float32 when every feature is float32 or narrower float, else float64."""
    if all(np.dtype(d).kind == "f" and np.dtype(d).itemsize <= 4 for d in dtypes):
        return np.float32
    return np.float64


# tasks (run on the workers) ----------------------------------------------------------
def column(part, name):
    return part[name]


def label_counts(labels) -> tuple[dict, int, int]:
    """A partition's rows per label, and its labels that are none: missing ones (NaN,
    None, NA) and floats that are not whole numbers (continuous values), left out of
    the counts; `Job.run` refuses them, as one process does."""
    import pandas as pd

    missing = np.asarray(pd.isna(labels), dtype=bool).reshape(-1)
    n_missing = int(np.count_nonzero(missing))
    if n_missing:
        labels = labels[~missing]
    values = np.asarray(labels)
    n_continuous = 0
    if values.dtype.kind == "f":
        whole = values == np.round(values)
        n_continuous = int(np.count_nonzero(~whole))
        values = values[whole]
    values, counts = np.unique(values, return_counts=True)
    counted = {
        v.item() if hasattr(v, "item") else v: int(c) for v, c in zip(values, counts, strict=True)
    }
    return counted, n_missing, n_continuous


def non_finite(part, features) -> int:
    return int(np.count_nonzero(~np.isfinite(values(part, features))))


def values(part, features) -> np.ndarray:
    """A partition's feature values: a DataFrame's ``features`` columns, or the block."""
    if features is None:
        return np.asarray(part)
    return frame_to_numeric(part[features], "X")  # bool and nullable columns as numbers


def points(part, features, dtype) -> np.ndarray:
    """A partition's rows as one contiguous (n_i, d) array of the job's dtype."""
    return np.ascontiguousarray(values(part, features), dtype=dtype)


def class_rows(part, labels, label, features, dtype) -> np.ndarray:
    """(n_c, d) rows of one class in one input partition, in order."""
    mask = np.asarray(labels) == label
    return np.ascontiguousarray(values(part, features)[mask], dtype=dtype)


def concat(rows) -> np.ndarray:
    return np.concatenate(rows, axis=0)


def take(part, mask: np.ndarray):
    return part[mask]
