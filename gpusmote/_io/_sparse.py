"""Sparse rows: scipy sparse matrices and torch sparse tensors, kept sparse on their
device from input to output.

`SparseRows` is the one internal form: a CSR structure (``crow`` (n + 1,), ``col``
(nnz,) int64, ``val`` (nnz,) floating) as torch tensors on the compute device. It
offers the few operations the samplers apply to rows (gather by index, dtype and
device moves, squared norms) without ever densifying; `gpusmote.neighbors` searches
it (`gpusmote.neighbors._sparse`), `gpusmote._interpolate` interpolates it, and
`to_format` rebuilds the output in the input's own format: scipy CSR, CSC or COO in,
the same out; a torch sparse CSR or COO tensor in, the same out on its device.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import torch

from .._validation import fmt_error
from ..exceptions import InvalidDataError

__all__ = [
    "is_sparse",
    "SparseRows",
    "as_sparse_rows",
    "sparse_format",
    "to_format",
    "vstack_rows",
    "SparseSink",
    "densify",
    "torch_paths",
]

# The CPU uses scipy for the sparse arithmetic; CUDA the torch code written for it. True
# runs the torch code on the CPU too: how the tests check it without a card.
_TORCH_PATHS = False


def torch_paths(device: torch.device) -> bool:
    """Whether rows on ``device`` take the torch code: on CUDA, behind the tests'
    switch, and on a CPU without scipy (the lean install: torch sparse tensors work)."""
    return device.type != "cpu" or _TORCH_PATHS or not _scipy_installed()


@functools.cache
def _scipy_installed() -> bool:
    try:
        import scipy.sparse  # noqa: F401
    except ImportError:
        return False
    return True


def is_sparse(X) -> bool:
    """A scipy sparse matrix/array, a torch sparse tensor, or `SparseRows`."""
    if isinstance(X, SparseRows):
        return True
    if isinstance(X, torch.Tensor):
        return X.layout != torch.strided
    return type(X).__module__.startswith("scipy.sparse") and hasattr(X, "tocsr")


def sparse_format(X) -> tuple:
    """What the output must be rebuilt as: ``("scipy", "csr"|"csc"|"coo"|..., is_array)``
    or ``("torch", layout, device)``."""
    if isinstance(X, torch.Tensor):
        return ("torch", X.layout, X.device)
    import scipy.sparse as sp

    return ("scipy", X.format, isinstance(X, sp.sparray))


class SparseRows:
    """``n`` sparse rows of ``d`` columns as CSR tensors on one device (read-only).

    Host rows made from a scipy CSR matrix (`from_scipy`) keep it: scipy's products,
    row selection and stacking use it without converting, and the tensors are made
    from it on first use."""

    __slots__ = ("_crow", "_col", "_val", "shape", "_sp")

    def __init__(self, crow: torch.Tensor, col: torch.Tensor, val: torch.Tensor, shape):
        self._crow, self._col, self._val = crow, col, val
        self.shape = (int(shape[0]), int(shape[1]))
        self._sp = None

    @classmethod
    def from_scipy(cls, m) -> SparseRows:
        """Host rows over the canonical scipy CSR matrix ``m`` (floating values)."""
        rows = cls(None, None, None, m.shape)
        rows._sp = m
        return rows

    def _tensors(self) -> None:
        m = self._sp
        self._crow = torch.from_numpy(m.indptr.astype(np.int64, copy=False))
        self._col = torch.from_numpy(m.indices.astype(np.int64, copy=False))
        self._val = torch.from_numpy(m.data)

    @property
    def crow(self) -> torch.Tensor:
        if self._crow is None:
            self._tensors()
        return self._crow

    @property
    def col(self) -> torch.Tensor:
        if self._col is None:
            self._tensors()
        return self._col

    @property
    def val(self) -> torch.Tensor:
        if self._val is None:
            self._tensors()
        return self._val

    # tensor-like ---------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return torch.device("cpu") if self._sp is not None else self._val.device

    @property
    def dtype(self) -> torch.dtype:
        if self._sp is not None:
            return torch.float64 if self._sp.dtype == np.float64 else torch.float32
        return self._val.dtype

    @property
    def nnz(self) -> int:
        return int(self._sp.nnz) if self._sp is not None else int(self.val.numel())

    def __len__(self) -> int:
        return self.shape[0]

    def to(self, *args, **kwargs) -> SparseRows:
        """As ``Tensor.to``: a device and/or a floating dtype (the values only)."""
        device, dtype = None, None
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, torch.dtype):
                dtype = a
            elif a is not None:
                device = torch.device(a)
        if self._sp is not None and (device is None or device.type == "cpu"):
            if dtype is None or dtype == self.dtype:
                return self
            return SparseRows.from_scipy(self._sp.astype(_np_dtype(dtype)))
        crow, col, val = self.crow, self.col, self.val
        if device is not None and device != self.device:
            crow, col, val = crow.to(device), col.to(device), val.to(device)
        if dtype is not None and dtype != val.dtype:
            val = val.to(dtype)
        if crow is self.crow and val is self.val:
            return self
        return SparseRows(crow, col, val, self.shape)

    def row_ids(self) -> torch.Tensor:
        """(nnz,) the row of each stored value."""
        counts = self.crow[1:] - self.crow[:-1]
        return torch.repeat_interleave(torch.arange(self.shape[0], device=self.device), counts)

    def __getitem__(self, idx) -> SparseRows:
        """The rows ``idx`` (an index tensor, a bool mask or a slice), in that order."""
        if self._sp is not None:
            if isinstance(idx, torch.Tensor):
                idx = idx.cpu().numpy()
            return SparseRows.from_scipy(self._sp[idx])
        if isinstance(idx, slice):
            idx = torch.arange(self.shape[0], device=self.device)[idx]
        idx = torch.as_tensor(idx, device=self.device)
        if idx.dtype == torch.bool:
            idx = idx.nonzero().squeeze(1)
        idx = idx.to(torch.int64).reshape(-1)
        starts, ends = self.crow[idx], self.crow[idx + 1]
        counts = ends - starts
        crow = torch.zeros(idx.numel() + 1, dtype=torch.int64, device=self.device)
        torch.cumsum(counts, 0, out=crow[1:])
        total = int(crow[-1]) if idx.numel() else 0
        # position of each gathered value in the source: its row's start + its offset
        offset = torch.arange(total, device=self.device) - torch.repeat_interleave(
            crow[:-1], counts, output_size=total
        )
        src = torch.repeat_interleave(starts, counts, output_size=total) + offset
        return SparseRows(crow, self.col[src], self.val[src], (idx.numel(), self.shape[1]))

    # numbers -------------------------------------------------------------------------
    def sq_norms(self) -> torch.Tensor:
        """(n,) float64 squared Euclidean norms, from the stored values."""
        if self._sp is not None:
            sq = self._sp.astype(np.float64, copy=True)
            sq.data **= 2
            return torch.from_numpy(np.asarray(sq.sum(axis=1)).reshape(-1))
        v = self.val.to(torch.float64)
        out = torch.zeros(self.shape[0], dtype=torch.float64, device=self.device)
        return out.index_add_(0, self.row_ids(), v * v)

    def widest(self) -> int:
        """The most values stored in one row (from the row pointers only)."""
        if not self.shape[0]:
            return 0
        if self._sp is not None:
            return int(np.diff(self._sp.indptr).max())
        return int((self.crow[1:] - self.crow[:-1]).max())

    def max_abs(self) -> float:
        if not self.nnz:
            return 0.0
        if self._sp is not None:
            return float(np.abs(self._sp.data).max())
        return float(self.val.abs().max())

    def all_finite(self) -> bool:
        if self._sp is not None:
            return bool(np.isfinite(self._sp.data).all())
        return bool(torch.isfinite(self.val).all()) if self.nnz else True

    def to_torch(self, layout=torch.sparse_csr) -> torch.Tensor:
        with _quiet_ctx():
            t = torch.sparse_csr_tensor(
                self.crow, self.col, self.val, size=self.shape, check_invariants=False
            )
            if layout == torch.sparse_coo:
                t = t.to_sparse_coo().coalesce()
            elif layout == torch.sparse_csc:
                t = t.to_sparse_csc()
        return t

    def to_scipy(self):
        """A scipy CSR matrix sharing the host memory (CPU rows only)."""
        import scipy.sparse as sp

        if self._sp is not None:
            return self._sp
        return sp.csr_matrix(
            (self.val.numpy(), self.col.numpy(), self.crow.numpy()), shape=self.shape
        )

    def to_dense(self) -> torch.Tensor:
        out = torch.zeros(self.shape, dtype=self.dtype, device=self.device)
        out[self.row_ids(), self.col] = self.val
        return out


class _quiet_ctx:
    """torch's beta and invariant-check warnings about sparse CSR, silenced."""

    def __enter__(self):
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly")
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def as_sparse_rows(X, param: str = "X", device: torch.device | None = None) -> SparseRows:
    """``X`` (scipy sparse, torch sparse or `SparseRows`) as `SparseRows`: integer and
    bool values as float64, floats keeping their precision; ``X`` is never written."""
    if isinstance(X, SparseRows):
        rows = X
    elif isinstance(X, torch.Tensor):
        if X.ndim != 2:
            raise ValueError(
                fmt_error(param, "a 2-D sparse tensor", f"{X.ndim}-D {X.layout} tensor")
            )
        with _quiet_ctx():
            t = X if X.layout == torch.sparse_csr else X.to_sparse_csr()
        if t.layout != torch.sparse_csr:
            raise InvalidDataError(
                fmt_error(param, "a sparse CSR, CSC or COO tensor", str(X.layout))
            )
        crow, col, val = t.crow_indices(), t.col_indices(), t.values()
        rows = SparseRows(crow.to(torch.int64), col.to(torch.int64), val, tuple(t.shape))
    else:
        if X.ndim != 2:
            raise ValueError(fmt_error(param, "a 2-D sparse matrix", f"shape {X.shape}"))
        csr = X.tocsr()
        if not csr.has_canonical_format:
            csr = csr.copy()
            csr.sum_duplicates()  # in place on the copy: X itself is untouched
        data = csr.data
        if data.dtype.kind not in "biuf":
            raise InvalidDataError(fmt_error(param, "real numeric values", str(data.dtype)))
        if data.dtype not in (np.float32, np.float64):
            csr = csr.astype(np.float64 if data.dtype.kind in "biu" else np.float32)
        rows = SparseRows.from_scipy(csr)
    if rows._sp is None and not rows.val.is_floating_point():
        rows = SparseRows(rows.crow, rows.col, rows.val.to(torch.float64), rows.shape)
    elif rows._sp is None and rows.val.dtype not in (torch.float32, torch.float64):
        rows = SparseRows(rows.crow, rows.col, rows.val.to(torch.float32), rows.shape)
    if rows.shape[0] == 0:
        raise ValueError(fmt_error(param, "a matrix with at least one row", f"shape {rows.shape}"))
    if rows.shape[1] == 0:
        raise ValueError(fmt_error(param, "a matrix with at least one column", rows.shape))
    return rows.to(device) if device is not None else rows


def to_format(rows: SparseRows, fmt: tuple, dtype=None):
    """``rows`` in the input's format ``fmt`` (`sparse_format`) and, where given, its
    ``dtype`` (integer and bool input: the float64 values cast back as numpy casts,
    by truncation, as imbalanced-learn's ``astype(X.dtype)`` and the dense path do)."""
    if fmt[0] == "torch":
        _, layout, device = fmt
        t = rows.to(device).to_torch(layout)
        return t if dtype is None or t.dtype == dtype else t.to(dtype)
    import scipy.sparse as sp

    csr = rows.to("cpu").to_scipy()  # ``rows`` are always fresh (stacked or gathered)
    if dtype is not None and csr.dtype != dtype:
        csr = csr.astype(dtype)
    return (sp.csr_array(csr) if fmt[2] else csr).asformat(fmt[1])


def vstack_rows(parts: list[SparseRows]) -> SparseRows:
    """The rows of ``parts`` one after another (same width and device)."""
    parts = [p for p in parts if p.shape[0]] or parts[:1]
    if all(p._sp is not None for p in parts):
        import scipy.sparse as sp

        return SparseRows.from_scipy(sp.vstack([p._sp for p in parts], format="csr"))
    device, d = parts[0].device, parts[0].shape[1]
    dtype = parts[0].dtype
    for p in parts[1:]:
        dtype = torch.promote_types(dtype, p.dtype)
    crows, base = [torch.zeros(1, dtype=torch.int64, device=device)], 0
    for p in parts:
        crows.append(p.crow[1:] + base)
        base += p.nnz
    return SparseRows(
        torch.cat(crows),
        torch.cat([p.col for p in parts]),
        torch.cat([p.val.to(dtype) for p in parts]),
        (sum(p.shape[0] for p in parts), d),
    )


class SparseSink:
    """Where `NewRows` writes sparse new rows: slices of it are filled in block order
    (``sink[a:b].put(rows)``); `rows` then stacks ``head`` (the input's rows, or None)
    and the new rows in one copy."""

    def __init__(self, n_rows: int, d: int, dtype, device, head: SparseRows | None = None):
        self.shape = (n_rows, d)
        self.dtype, self.device = dtype, device
        self.head = head
        self.parts: dict[int, list[SparseRows]] = {}

    def __getitem__(self, sl: slice) -> _SinkSlot:
        return _SinkSlot(self, sl.start or 0, sl.stop if sl.stop is not None else self.shape[0])

    def put(self, rows) -> None:
        self[0 : self.shape[0]].put(rows)

    def rows(self) -> SparseRows:
        """``head``, then the new rows piece by piece in row order."""
        parts = [piece for a in sorted(self.parts) for piece in self.parts[a]]
        if self.head is not None:
            parts.insert(0, self.head)
        if not parts:
            empty = torch.zeros(0, dtype=torch.int64, device=self.device)
            return SparseRows(
                torch.zeros(1, dtype=torch.int64, device=self.device),
                empty,
                torch.zeros(0, dtype=self.dtype, device=self.device),
                (0, self.shape[1]),
            )
        return vstack_rows(parts)


class _SinkSlot:
    def __init__(self, sink: SparseSink, a: int, b: int):
        self.sink, self.a, self.b = sink, a, b
        self.shape = (b - a, sink.shape[1])
        self.dtype, self.device = sink.dtype, sink.device

    def __getitem__(self, sl: slice) -> _SinkSlot:
        start = self.a + (sl.start or 0)
        stop = self.a + (sl.stop if sl.stop is not None else self.shape[0])
        return _SinkSlot(self.sink, start, stop)

    def put(self, rows) -> None:
        """Fill the slot with ``rows``: `SparseRows`, or a list of them in row order."""
        pieces = rows if isinstance(rows, list) else [rows]
        if sum(p.shape[0] for p in pieces) != self.shape[0]:
            raise ValueError(f"{sum(p.shape[0] for p in pieces)} rows for {self.shape[0]}")
        self.sink.parts[self.a] = [p.to(self.device).to(self.dtype) for p in pieces]


# A sampler without a sparse path densifies at most this much (or its max_memory, when
# larger): past it the dense copy is refused with a clear error instead of exhausting
# the host's memory.
DENSIFY_LIMIT = 2 * 1024**3


def densify(X, who: str, max_memory=None):
    """``(dense X, back)`` for a sampler (``who``) without a sparse path: a dense copy
    of the sparse ``X``, with a warning (scikit-learn's ``DataConversionWarning`` where it
    is installed), and ``back`` rebuilding an output in ``X``'s sparse format."""
    from .._validation import parse_memory

    n, d = (int(s) for s in X.shape)
    itemsize = 8 if not hasattr(X, "dtype") else max(4, np.dtype(_np_dtype(X.dtype)).itemsize)
    need = n * d * itemsize
    limit = max(DENSIFY_LIMIT, parse_memory(max_memory, "max_memory") or 0)
    if need > limit:
        raise ValueError(
            fmt_error(
                "X",
                f"dense-able within {limit / 1024**3:.1f} GiB: {who} has no sparse path and "
                "works on a dense copy (SMOTE, ADASYN, BorderlineSMOTE, the random samplers, "
                "TomekLinks, the ENN family, NeighbourhoodCleaningRule, SMOTEENN and SMOTETomek "
                "keep sparse rows sparse; or raise max_memory)",
                f"a sparse {n} x {d} matrix, {need / 1024**3:.1f} GiB dense",
            )
        )
    try:
        from sklearn.exceptions import DataConversionWarning as category
    except ImportError:
        category = UserWarning
    warnings.warn(
        f"{who} has no sparse path: the sparse input is converted to a dense array, which "
        "is not really efficient; the output is converted back to the input's format.",
        category,
        stacklevel=5,  # the caller of fit_resample
    )
    fmt = sparse_format(X)
    if fmt[0] == "torch":
        dense = X.to_dense()

        def back(out):
            if fmt[1] == torch.sparse_csr:
                return out.to_sparse_csr()
            return out.to_sparse_csc() if fmt[1] == torch.sparse_csc else out.to_sparse()

        return dense, back
    import scipy.sparse as sp

    dense = X.toarray()

    def back(out):
        csr = sp.csr_array(out) if fmt[2] else sp.csr_matrix(out)
        return csr.asformat(fmt[1])

    return dense, back


def _np_dtype(dtype):
    if isinstance(dtype, torch.dtype):
        if dtype == torch.bfloat16:  # numpy has none
            return np.dtype(np.float32)
        return torch.empty(0, dtype=dtype).numpy().dtype
    return dtype
