"""User arrays <-> torch tensors: validation once, and the output rebuilt in the input's
containers (numpy, pandas, lists, tensors on their device)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch

from .._validation import fmt_error
from ..exceptions import InvalidDataError
from ._frame import frame_numeric_dtype, frame_to_numeric, restore_frame
from ._sparse import (
    SparseRows,
    SparseSink,
    as_sparse_rows,
    is_sparse,
    sparse_format,
    to_format,
)

__all__ = [
    "as_feature_tensor",
    "as_label_tensor",
    "to_like",
    "host_numpy",
    "take_rows",
    "SamplerData",
    "LabelsOnly",
    "describe",
    "container_kind",
    "reading_tensor",
    "plain_input",
    "integer_rows",
]

_FLOAT_TENSOR_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def describe(X) -> str:
    shape = getattr(X, "shape", None)
    dtype = getattr(X, "dtype", None)
    return f"<{type(X).__name__} shape={tuple(shape) if shape is not None else '?'} dtype={dtype}>"


def plain_input(obj, param: str):
    """``obj`` as the rest of `_io` reads it, without touching the user's object.

    A tensor is detached (resampling is no step of a graph: autograd would refuse the
    in-place writes into the output); a nested or meta tensor, which holds no rows to
    read, is refused naming ``param``. A numpy array in the other byte order (a ``.npy``
    from another platform) becomes a native copy: torch reads native order only.
    """
    if isinstance(obj, torch.Tensor):
        if obj.is_nested:
            raise InvalidDataError(
                fmt_error(param, "a regular (not nested) tensor", "a nested tensor")
            )
        if obj.is_meta:
            raise InvalidDataError(
                fmt_error(param, "a tensor with data (CPU or GPU)", "a tensor on the meta device")
            )
        return obj.detach()
    if isinstance(obj, np.ndarray) and not obj.dtype.isnative:
        return obj.astype(obj.dtype.newbyteorder("="))
    return obj


def as_feature_tensor(X, param: str, device: torch.device, *, integers: bool = False):
    """A 2-D numeric tensor on ``device`` holding ``X``'s values; ``X`` itself is never written.

    Floating inputs keep their precision (float16/bfloat16/float32/float64). Integers
    and bools become float64, so that their distances stay exact; with ``integers``
    they stay integers instead (`integer_rows`: no copy for most dtypes), for callers
    that convert only the rows they compute with (the neighbour engine's tiles, a
    class's rows), so that a float64 copy of the whole input, eight times a uint8
    image's size, never escapes ``max_memory``. The result may share memory with
    ``X``: callers treat it as read-only.
    """
    X = plain_input(X, param)
    if isinstance(X, torch.Tensor):
        t = X
        if t.is_complex():
            raise InvalidDataError(fmt_error(param, "a real numeric tensor", describe(X)))
        if t.dtype not in _FLOAT_TENSOR_DTYPES:
            t = integer_rows(t) if integers else t.to(torch.float64)
    else:
        arr = _as_numeric_numpy(X, param, integers)
        t = reading_tensor(arr) if not arr.flags.writeable else torch.from_numpy(arr)
        t = integer_rows(t) if arr.dtype.kind in "biu" else t
    if t.ndim != 2:
        raise ValueError(
            fmt_error(param, "a 2-D array of shape (n_samples, n_features)", describe(t))
        )
    if t.shape[0] == 0:
        raise ValueError(fmt_error(param, "an array with at least one row", describe(t)))
    if t.shape[1] == 0:
        raise ValueError(fmt_error(param, "an array with at least one feature column", describe(t)))
    return t.to(device)


# Integer dtypes the engine computes from directly (each tile cast to float64); bools are
# read as uint8 (a view), the wider unsigned ints as the next signed int that holds them
_INTEGER_ROWS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_WIDER = {torch.uint16: torch.int32, torch.uint32: torch.int64}


def integer_rows(t: torch.Tensor) -> torch.Tensor:
    """An integer or bool tensor as one the engine reads: bools as uint8 (a view), uint16
    and uint32 widened to a signed int, uint64 (beyond int64) as float64, the rest as
    they are."""
    if t.dtype in _INTEGER_ROWS:
        return t
    if t.dtype == torch.bool:
        return t.view(torch.uint8)
    if t.dtype in _WIDER:
        return t.to(_WIDER[t.dtype])
    return t.to(torch.float64)


def _as_numeric_numpy(X, param: str, integers: bool = False) -> np.ndarray:
    if hasattr(X, "select_dtypes") and hasattr(X, "to_numpy"):  # pandas DataFrame
        X = frame_to_numeric(X, param)
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise InvalidDataError(
            fmt_error(param, f"an array-like of numbers ({exc})", type(X).__name__)
        ) from None
    if arr.dtype.kind in "OUSV":
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise InvalidDataError(fmt_error(param, "numeric data", describe(arr))) from None
    if arr.dtype.kind in "biu":
        if not integers or arr.dtype == np.uint64:  # uint64: beyond torch's int64
            arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise InvalidDataError(fmt_error(param, "real numeric data", describe(arr)))
    elif arr.dtype.itemsize > 8:  # torch has no long double: a silent cast would round
        raise InvalidDataError(
            fmt_error(
                param,
                "float16, float32 or float64 data (torch has no long double: "
                "convert with X.astype(np.float64) if its rounding is acceptable)",
                describe(arr),
            )
        )
    elif not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    # torch.from_numpy refuses negative strides (read-only memory, such as a pandas
    # frame's values or a memory map, is read as it is: `as_feature_tensor`)
    if any(step < 0 for step in arr.strides):
        arr = arr.copy()
    return arr


def as_label_tensor(y, param: str = "y") -> torch.Tensor:
    """Integer or bool labels as a 1-D tensor (no copy when possible), for training data."""
    if isinstance(y, torch.Tensor):
        t = y.reshape(-1) if y.ndim == 2 and y.shape[-1] == 1 else y
    else:
        arr = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
        if arr.dtype.kind not in "biu":
            raise InvalidDataError(
                fmt_error(param, "integer or bool labels (encode strings first)", arr.dtype)
            )
        t = reading_tensor(arr.reshape(-1) if arr.ndim == 2 else arr)
    if t.is_floating_point() or t.is_complex():
        raise InvalidDataError(
            fmt_error(param, "integer or bool labels (encode strings first)", t.dtype)
        )
    if t.ndim != 1:
        raise ValueError(fmt_error(param, "a 1-D array of labels", f"shape {tuple(t.shape)}"))
    return t


def to_like(t: torch.Tensor, like):
    """``t`` in the kind of container ``like`` was: a tensor stays a tensor, else numpy."""
    if isinstance(like, torch.Tensor):
        return t
    return host_numpy(t)


def host_numpy(t: torch.Tensor) -> np.ndarray:
    """``t`` as a host numpy array for scikit-learn, bfloat16 as float32 (numpy has none);
    sparse rows as a scipy CSR matrix (scikit-learn takes those too)."""
    if isinstance(t, SparseRows):
        return t.to("cpu").to_scipy()
    t = t.detach()
    if t.dtype == torch.bfloat16:
        t = t.to(torch.float32)
    return t.cpu().numpy()


def take_rows(obj, idx: np.ndarray, *, reset_index: bool = True):
    """Rows ``idx`` of ``obj`` in its own container. pandas output gets a fresh
    RangeIndex, as imbalanced-learn's validated samplers give, unless ``reset_index``
    is False (its RandomUnderSampler, which skips validation, keeps the labels)."""
    kind = container_kind(obj)
    if kind == "sparse":  # the same format out, on the same device
        fmt = sparse_format(obj)
        if fmt[0] == "torch":
            return to_format(as_sparse_rows(obj, "X")[torch.as_tensor(idx)], fmt, obj.dtype)
        return (obj if fmt[1] in ("csr", "csc") else obj.tocsr())[idx].asformat(fmt[1])
    if kind == "tensor":  # index_select: twice as fast as obj[idx] on the CPU
        return torch.index_select(obj, 0, torch.as_tensor(idx, device=obj.device))
    if kind in ("dataframe", "series"):
        out = obj.iloc[idx]
        return out.reset_index(drop=True) if reset_index else out
    if kind == "list":  # copies of the rows: the output never aliases the user's lists
        return [copy.copy(obj[i]) for i in idx.tolist()]
    return _gather_rows(np.asarray(obj), idx)


def _gather_rows(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``arr[idx]``, with torch's multi-threaded gather where torch has the dtype
    (420k x 32 float32 rows to 800k: about half numpy's time on 2 cores)."""
    if arr.dtype.kind not in "fiub" or arr.ndim == 0:
        return arr[idx]
    out = np.empty((len(idx),) + arr.shape[1:], dtype=arr.dtype)
    try:
        src = reading_tensor(arr)
        torch.index_select(src, 0, torch.from_numpy(idx), out=torch.from_numpy(out))
    except (TypeError, RuntimeError):  # dtypes torch lacks (uint64 on old torch, ...)
        return arr[idx]
    return out


def container_kind(obj) -> str:
    if is_sparse(obj):
        return "sparse"
    if isinstance(obj, torch.Tensor):
        return "tensor"
    if hasattr(obj, "select_dtypes") and hasattr(obj, "columns"):
        return "dataframe"
    if hasattr(obj, "to_numpy") and hasattr(obj, "name") and hasattr(obj, "dtype"):
        return "series"
    if isinstance(obj, np.ndarray):
        return "ndarray"
    return "list" if isinstance(obj, (list, tuple)) else "array"


class SamplerData:
    """A validated ``(X, y)``: tensors on the compute device, and how to rebuild the output.

    Attributes: ``X`` (n, d) tensor where the input lives (the host for numpy and pandas,
    the tensor's own device): floats as given, integers and bools as integers
    (`integer_rows`), ``codes`` (n,) int64 class
    index per row beside it, ``classes`` the sorted labels (host scalars), ``counts``
    rows per class. `class_rows` moves one class's rows to the compute ``device``, so
    rows that are never resampled never travel; only the class counts of tensor labels
    reach the host.
    """

    def __init__(self, X, y, device: torch.device):
        self.x_kind, self.y_kind = container_kind(X), container_kind(y)
        self.X_in, self.y_in = X, y
        self.device = device
        home = X.device if isinstance(X, torch.Tensor) else torch.device("cpu")
        if self.x_kind == "sparse":  # rows stay sparse (`_sparse`)
            self.sparse_format, self.sparse_dtype = sparse_format(X), X.dtype
            self.X = as_sparse_rows(X, "X", home)
        else:
            # integers and bools stay integers: a class's rows, a tile or a chunk are
            # converted where they are computed with, never the whole input at once
            self.X = as_feature_tensor(X, "X", home, integers=True)
        self.n, self.n_features = self.X.shape
        self.columns = getattr(X, "columns", None) if self.x_kind == "dataframe" else None
        self._labels_for_rows(y)

    def _labels_for_rows(self, y) -> None:
        """`_labels`, then the check that there is one label per row of X."""
        self._labels(y)
        if self.codes.shape[0] != self.n:
            raise ValueError(
                fmt_error(
                    "y", f"one label per row of X ({self.n} rows)", f"{self.codes.shape[0]} labels"
                )
            )

    def _labels(self, y) -> None:
        if isinstance(y, torch.Tensor):
            t = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
            if t.ndim != 1:
                raise ValueError(fmt_error("y", "a 1-D array of labels", f"shape {tuple(y.shape)}"))
            if t.is_complex() or (t.is_floating_point() and not _integral(t)):
                raise ValueError(
                    fmt_error(
                        "y", "class labels (ints, bools or integral floats)", "continuous values"
                    )
                )
            classes, codes, counts = torch.unique(
                t, sorted=True, return_inverse=True, return_counts=True
            )
            self.classes_tensor = classes
            self.classes = classes.tolist()
            self.counts = counts.tolist()
            self.codes = codes.to(self.X.device)
            return
        arr = y.to_numpy() if self.y_kind == "series" else np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr.ravel()
        if arr.ndim != 1:
            raise ValueError(fmt_error("y", "a 1-D array of labels", f"shape {arr.shape}"))
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all() or not (arr == np.round(arr)).all():
                raise ValueError(
                    fmt_error(
                        "y", "class labels (ints, strings or bools)", "continuous or NaN values"
                    )
                )
        elif arr.dtype.kind == "c":
            raise ValueError(
                fmt_error("y", "class labels (ints, strings or bools)", "complex values")
            )
        try:
            classes, codes, counts = _unique(arr)
        except TypeError:
            raise InvalidDataError(
                fmt_error(
                    "y", "labels of one sortable type", sorted({type(v).__name__ for v in arr})
                )
            ) from None
        if arr.dtype.kind == "O":  # a tuple label would be broadcast into rows later
            bad = next(
                (c for c in classes if isinstance(c, (tuple, list, dict, set, np.ndarray))), None
            )
            if bad is not None:
                raise InvalidDataError(
                    fmt_error("y", "one scalar label per row (ints, strings or bools)", bad)
                )
        self.y_array = arr
        self.classes_array = classes
        self.classes = [c.item() if hasattr(c, "item") else c for c in classes]
        self.counts = counts.tolist()
        self.codes = torch.from_numpy(codes.reshape(-1).astype(np.int64)).to(self.X.device)

    def class_counts(self) -> dict:
        return dict(zip(self.classes, self.counts, strict=True))

    def class_rows(self, class_index: int) -> torch.Tensor:
        """The rows of class ``classes[class_index]``, in order, on the compute device."""
        return self.X[self.codes == class_index].to(self.device)

    def labels_for_callable(self):
        """``y`` as imbalanced-learn would pass it to a callable ``sampling_strategy``."""
        if isinstance(self.y_in, torch.Tensor):
            return self.y_in.detach().cpu().numpy()
        return self.y_array

    # output ------------------------------------------------------------------------
    def release(self) -> None:
        """Drop the references to the user's arrays and the full tensors (after fitting).

        What stays is what rebuilding an output needs: kinds, dtypes, devices, column
        names and the class labels.
        """
        X, y = self.X_in, self.y_in
        if self.x_kind == "sparse":
            self._x_spec = (self.X.dtype, self.X.device)
        elif self.x_kind == "tensor":
            self._x_spec = (X.dtype, X.device)
        elif self.x_kind == "dataframe":
            self._x_spec = (frame_numeric_dtype(X), list(X.dtypes))
        else:
            self._x_spec = (self._host_rows().dtype, None)
        if isinstance(y, torch.Tensor):
            self._y_spec = (y.dtype, y.device)
        else:
            pandas_dtype = (
                y.dtypes.iloc[0] if self.y_kind == "dataframe" else getattr(y, "dtype", None)
            )
            self._y_spec = (self.y_array.dtype, pandas_dtype)
        self.y_name = getattr(y, "name", None)
        self.y_columns = getattr(y, "columns", None) if self.y_kind == "dataframe" else None
        self.X_in = self.y_in = self.X = self.codes = self.y_array = None

    def _host_rows(self) -> np.ndarray:
        """The input's rows as the host array the output starts from: numbers as given;
        a DataFrame's and numeric objects' rows as the values the search read (`_frame`,
        float64, as imbalanced-learn's validation turns object arrays into)."""
        if self.x_kind != "dataframe":
            arr = np.asarray(self.X_in)
            if arr.dtype.kind in "fiub":
                return arr
        return self.X.numpy()

    def rows_to_take(self):
        """What `Kept` takes the output rows from: the user's container, except numbers
        in an object array, taken from the float64 values read (as imbalanced-learn's
        validation gives them)."""
        if self.x_kind == "ndarray" and self.X_in.dtype.kind == "O":
            return self.X.numpy()
        return self.X_in

    def x_buffer(self, n_rows: int, *, with_input: bool = True, floating: bool = False):
        """``(buffer, writable tensor view)``: the input's rows first, then ``n_rows`` to fill.

        The view holds the new rows in the output's own dtype and memory (host for numpy
        and pandas output, the input tensor's device for tensors), so the new rows are
        written once, in place. ``with_input=False``: the new rows only. ``floating``:
        integer and bool input gives float64 output (new rows that are not rounded back,
        as imbalanced-learn's smoothed bootstrap).
        """
        n = self.n if with_input else 0
        if self.x_kind == "sparse":
            dtype, device = (self.X.dtype, self.X.device) if with_input else self._x_spec
            sink = SparseSink(
                n_rows, self.n_features, dtype, device, head=self.X if with_input else None
            )
            return sink, sink
        if self.x_kind == "tensor":
            dtype, device = (self.X_in.dtype, self.X_in.device) if with_input else self._x_spec
            if floating and not dtype.is_floating_point:
                dtype = torch.float64
            buf = torch.empty((n + n_rows, self.n_features), dtype=dtype, device=device)
            if with_input:
                buf[:n] = self.X_in
            return buf, buf[n:]
        if with_input:
            arr = self._host_rows()
            dtype = arr.dtype
        else:
            dtype = self._x_spec[0]
        if floating and dtype.kind != "f":
            dtype = np.dtype(np.float64)
        buf = np.empty((n + n_rows, self.n_features), dtype=dtype)
        if with_input:
            _copy_rows(buf[:n], arr)
        return buf, torch.from_numpy(buf[n:])

    def y_buffer(self, blocks, *, with_input: bool = True):
        """Labels: the input's, then ``count`` copies of each ``(class_index, count)`` block."""
        n = self.n if with_input else 0
        total = n + sum(count for _, count in blocks)
        live = self.y_in is not None  # before `release`: the labels themselves
        if hasattr(self, "classes_tensor"):
            dtype, device = (self.y_in.dtype, self.y_in.device) if live else self._y_spec
            out = torch.empty(total, dtype=dtype, device=device)
            if with_input:
                out[:n] = self.y_in.reshape(-1)
            classes = self.classes_tensor.to(device)
        else:
            dtype = self.y_array.dtype if live else self._y_spec[0]
            out = np.empty(total, dtype=dtype)
            if with_input:
                out[:n] = self.y_array
            classes = self.classes_array
        start = n
        for class_index, count in blocks:
            out[start : start + count] = classes[class_index]
            start += count
        return out

    def finish(self, X_buf, y_buf, *, floating: bool = False):
        """The output in the input's containers (numpy, pandas, list, tensor or sparse);
        ``floating`` as for `x_buffer` (a DataFrame's columns become float64)."""
        if self.x_kind == "sparse":  # the input's rows and the new ones, in one copy
            X_out = to_format(X_buf.rows(), self.sparse_format, self.sparse_dtype)
        elif self.x_kind == "dataframe":
            dtypes = list(self.X_in.dtypes) if self.X_in is not None else self._x_spec[1]
            if floating:
                dtypes = [np.dtype(np.float64)] * len(dtypes)
            X_out = restore_frame(X_buf, self.columns, dtypes, head=self.X_in)  # exact ints
        elif self.x_kind == "list":
            X_out = X_buf.tolist()
        else:
            X_out = X_buf
        return X_out, self.finish_labels(y_buf, X_out)

    def finish_labels(self, y_buf, X_out):
        """The labels in the input's container (a pandas one takes ``X_out``'s index)."""
        y_in = self.y_in
        if self.y_kind in ("series", "dataframe"):
            import pandas as pd

            if self.y_kind == "series":
                name = y_in.name if y_in is not None else self.y_name
                dtype = y_in.dtype if y_in is not None else self._y_spec[1]
                y_out = pd.Series(y_buf, name=name, dtype=dtype)
            else:
                columns = y_in.columns if y_in is not None else self.y_columns
                dtype = y_in.dtypes.iloc[0] if y_in is not None else self._y_spec[1]
                y_out = pd.DataFrame(y_buf, columns=columns).astype(dtype)
            if self.x_kind == "dataframe":
                y_out.index = X_out.index
        elif self.y_kind == "list":
            y_out = y_buf.tolist()
        else:
            y_out = y_buf
        return y_out


class LabelsOnly(SamplerData):
    """The labels of ``(X, y)`` with ``X`` only counted, never converted: samplers that
    only index rows (the random ones) take any ``X`` (strings, NaN, mixed dtypes)."""

    def __init__(self, X, y, device: torch.device):
        self.x_kind, self.y_kind = container_kind(X), container_kind(y)
        self.X_in, self.y_in = X, y
        self.device = device
        shape = getattr(X, "shape", None)
        try:
            self.n = int(shape[0]) if self.x_kind == "sparse" else len(X)
        except TypeError:
            raise InvalidDataError(fmt_error("X", "an array of rows", describe(X))) from None
        if self.n == 0:
            raise ValueError(fmt_error("X", "an array with at least one row", describe(X)))
        rows_are_sequences = isinstance(X, (list, tuple)) and isinstance(
            X[0], (list, tuple, np.ndarray)
        )
        if (len(shape) if shape is not None else 1 + rows_are_sequences) != 2:
            raise ValueError(
                fmt_error("X", "a 2-D array of shape (n_samples, n_features)", describe(X))
            )
        self.n_features = shape[1] if shape is not None else len(X[0])
        self.X = torch.empty((self.n, 0), device=X.device if self.x_kind == "tensor" else "cpu")
        self.columns = getattr(X, "columns", None) if self.x_kind == "dataframe" else None
        self._labels_for_rows(y)

    def rows_to_take(self):
        return self.X_in  # never read: any objects (strings, NaN) pass as they are


def _copy_rows(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[...] = src`` with torch's multi-threaded copy when both are torch-compatible."""
    try:
        torch.from_numpy(dst).copy_(reading_tensor(src))
    except (TypeError, RuntimeError):  # dtypes torch lacks (object, uint64, ...)
        dst[...] = src


def reading_tensor(arr: np.ndarray) -> torch.Tensor:
    """A tensor over ``arr``'s memory, only ever read: torch warns on read-only arrays
    (pandas' copy-on-write, memory maps) because it cannot mark the tensor read-only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(arr))


def _unique(arr: np.ndarray):
    """``np.unique(arr, return_inverse=True, return_counts=True)``, in O(n) for small ints."""
    if arr.dtype.kind in "iub" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < 1_000_000:
            shifted = arr.astype(np.int64) - lo
            counts = np.bincount(shifted, minlength=hi - lo + 1)
            present = np.flatnonzero(counts)
            lookup = np.zeros(hi - lo + 1, dtype=np.int64)
            lookup[present] = np.arange(present.size)
            classes = (present + lo).astype(arr.dtype)
            return classes, lookup[shifted], counts[present]
    return np.unique(arr, return_inverse=True, return_counts=True)


def _integral(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all()) and bool((t == t.round()).all())
