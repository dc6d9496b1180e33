"""Tables with categorical columns (SMOTENC, SMOTEN): split, encode, rebuild.

A `Table` splits ``X`` into continuous columns (one floating tensor) and categorical
columns (int64 codes into each column's sorted categories, as scikit-learn's
``OneHotEncoder``/``OrdinalEncoder`` order them). The output is rebuilt in the input's
container: numpy (object dtype when ``X`` was), pandas with the original column dtypes
(categoricals included), or a tensor on the input's device.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._validation import fmt_error
from ..exceptions import InvalidDataError
from ._convert import SamplerData, container_kind, describe, reading_tensor
from ._frame import frame_to_numeric

__all__ = ["Table", "TableData", "resolve_categorical"]


def resolve_categorical(X, spec, n_features: int, param: str = "categorical_features"):
    """Column indices (sorted np.int64) named by ``spec``: "auto" (pandas categorical
    columns), indices (negative allowed), a boolean mask or column names."""
    if isinstance(spec, str) and spec == "auto":
        if container_kind(X) != "dataframe":
            raise ValueError(
                fmt_error(param, '"auto" only for a pandas DataFrame', f'"auto" with {describe(X)}')
            )
        import pandas as pd

        flags = [isinstance(dt, pd.CategoricalDtype) for dt in X.dtypes]
        return np.flatnonzero(flags).astype(np.int64)
    if isinstance(spec, (str, numbers.Number)) or spec is None:
        spec = [spec]
    if isinstance(spec, torch.Tensor):
        spec = spec.cpu().numpy()
    items = list(spec)
    if not items:
        return np.zeros(0, dtype=np.int64)
    if all(isinstance(v, (bool, np.bool_)) for v in items):
        if len(items) != n_features:
            raise ValueError(
                fmt_error(param, f"a boolean mask of {n_features} entries", f"{len(items)} entries")
            )
        return np.flatnonzero(items).astype(np.int64)
    if all(isinstance(v, (numbers.Integral, np.integer)) for v in items):
        out = []
        for v in items:
            if not -n_features <= int(v) < n_features:
                raise ValueError(
                    fmt_error(param, f"column indices in [-{n_features}, {n_features})", int(v))
                )
            out.append(int(v) % n_features)
        return np.unique(np.asarray(out, dtype=np.int64))
    if all(isinstance(v, str) for v in items):
        if container_kind(X) != "dataframe":
            raise ValueError(
                fmt_error(param, "column indices or a mask (names need a DataFrame)", items)
            )
        names = [str(c) for c in X.columns]
        missing = [v for v in items if v not in names]
        if missing:
            raise ValueError(fmt_error(param, f"columns of X; unknown: {missing}", items))
        return np.unique(np.asarray([names.index(v) for v in items], dtype=np.int64))
    raise InvalidDataError(
        fmt_error(param, '"auto", column indices, a boolean mask or column names', spec)
    )


def _column_values(X, kind: str, j: int) -> np.ndarray:
    if kind == "dataframe":
        return X.iloc[:, j].to_numpy()
    return X[:, j]


def _encode(values: np.ndarray, name: str):
    """(sorted categories, int64 codes) of one column, NaN last as scikit-learn does."""
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ValueError(
            fmt_error(
                "X",
                "finite (no NaN or infinity)",
                f"non-finite values in categorical column {name}",
            )
        )
    if values.dtype.kind == "O":
        missing = [v for v in values if v is None or (isinstance(v, float) and v != v)]
        if missing:
            raise ValueError(
                fmt_error("X", f"no missing values in categorical column {name}", "None or NaN")
            )
    try:
        categories, codes = np.unique(values, return_inverse=True)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in values})
        raise InvalidDataError(
            fmt_error("X", f"values of one sortable type in categorical column {name}", kinds)
        ) from None
    return categories, codes.reshape(-1).astype(np.int64)


class Table:
    """``X`` as continuous columns (``cont``, a floating tensor where X lives) and
    categorical ``codes`` (n, n_cat) int64 with ``categories`` per categorical column."""

    def __init__(self, X, categorical, *, all_categorical: bool = False, check_columns=None):
        self.kind = container_kind(X)
        self.X_in = X
        if self.kind == "tensor":
            if X.ndim != 2:
                raise ValueError(
                    fmt_error("X", "a 2-D array of shape (n_samples, n_features)", describe(X))
                )
            if X.is_complex():
                raise InvalidDataError(fmt_error("X", "a real numeric tensor", describe(X)))
            self.arr = None
        elif self.kind == "dataframe":
            self.arr = None
        else:
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise ValueError(
                    fmt_error("X", "a 2-D array of shape (n_samples, n_features)", describe(arr))
                )
            self.arr = arr
        self.n, self.d = tuple(X.shape) if self.arr is None else self.arr.shape
        if self.n == 0 or self.d == 0:
            raise ValueError(fmt_error("X", "at least one row and one column", describe(X)))
        self.columns = list(X.columns) if self.kind == "dataframe" else None
        cat = np.arange(self.d) if all_categorical else resolve_categorical(X, categorical, self.d)
        if check_columns is not None:  # the sampler's rules, before any conversion
            check_columns(cat, self.d)
        self.cat_idx = cat
        self.cont_idx = np.setdiff1d(np.arange(self.d), cat)
        self.home = X.device if self.kind == "tensor" else torch.device("cpu")
        self.cont = self._continuous()
        self.codes, self.categories = self._categorical()

    def _name(self, j: int) -> str:
        return repr(self.columns[j]) if self.columns is not None else str(j)

    def _continuous(self) -> torch.Tensor:
        idx = self.cont_idx
        if self.kind == "tensor":
            t = self.X_in[:, torch.as_tensor(idx, device=self.home)]
            return t if t.is_floating_point() else t.to(torch.float64)
        if self.kind == "dataframe":
            arr = frame_to_numeric(self.X_in.iloc[:, idx], "X")
        else:
            arr = self.arr[:, idx]
        if arr.dtype.kind in "OUS":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                raise InvalidDataError(
                    fmt_error(
                        "X",
                        "numbers in the continuous columns (list the others in "
                        "categorical_features)",
                        describe(arr),
                    )
                ) from None
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        return reading_tensor(arr)

    def _categorical(self):
        if self.kind == "tensor":
            codes, categories = [], []
            for j in self.cat_idx:
                values = self.X_in[:, int(j)]
                if values.is_floating_point() and not bool(torch.isfinite(values).all()):
                    raise ValueError(
                        fmt_error(
                            "X",
                            "finite (no NaN or infinity)",
                            f"non-finite values in categorical column {j}",
                        )
                    )
                cats, inv = torch.unique(values, sorted=True, return_inverse=True)
                codes.append(inv)
                categories.append(cats)
            if not codes:
                return torch.zeros((self.n, 0), dtype=torch.int64, device=self.home), []
            return torch.stack(codes, 1), categories
        codes, categories = [], []
        source, kind = (self.X_in, "dataframe") if self.arr is None else (self.arr, "ndarray")
        for j in self.cat_idx:
            cats, inv = _encode(_column_values(source, kind, int(j)), self._name(int(j)))
            codes.append(inv)
            categories.append(cats)
        if not codes:
            return torch.zeros((self.n, 0), dtype=torch.int64), []
        return torch.from_numpy(np.stack(codes, 1)), categories

    # output ------------------------------------------------------------------------
    def rebuild(self, cont_new: torch.Tensor | None, codes_new: torch.Tensor):
        """The input's rows then the new ones: ``cont_new`` (m, n_cont) in the continuous
        dtype, ``codes_new`` (m, n_cat) int64 category codes."""
        m = codes_new.shape[0]
        if self.kind == "tensor":
            X = self.X_in
            out = torch.empty((self.n + m, self.d), dtype=X.dtype, device=X.device)
            out[: self.n] = X
            if len(self.cont_idx):
                out[self.n :, torch.as_tensor(self.cont_idx, device=X.device)] = cont_new.to(
                    X.device, X.dtype
                )
            for pos, j in enumerate(self.cat_idx):
                cats = self.categories[pos]
                out[self.n :, int(j)] = cats[codes_new[:, pos].to(cats.device)].to(
                    X.device, X.dtype
                )
            return out
        codes = codes_new.cpu().numpy()
        cont = cont_new.cpu().numpy() if cont_new is not None and len(self.cont_idx) else None
        new_cats = [self.categories[p][codes[:, p]] for p in range(len(self.cat_idx))]
        if self.kind == "dataframe":
            import pandas as pd

            data = {}
            for j in range(self.d):
                series = self.X_in.iloc[:, j]
                if j in set(self.cont_idx.tolist()):
                    pos = int(np.searchsorted(self.cont_idx, j))
                    values = np.concatenate([self.cont[:, pos].numpy(), cont[:, pos]])
                else:
                    pos = int(np.searchsorted(self.cat_idx, j))
                    values = np.concatenate([series.to_numpy(), new_cats[pos]])
                data[j] = pd.Series(values).astype(series.dtype)
            frame = pd.DataFrame(data)
            frame.columns = self.X_in.columns
            return frame
        arr = self.arr
        parts = [self.cont.numpy().dtype] if len(self.cont_idx) else []
        parts += [c.dtype for c in self.categories]
        if arr.dtype.kind in "biuf":  # numbers keep their dtype, as in imbalanced-learn
            dtype = arr.dtype  # (new continuous values truncated toward 0 for integers)
        else:
            dtype = object if arr.dtype.kind == "O" else np.result_type(*parts)
        out = np.empty((self.n + m, self.d), dtype=dtype)
        if len(self.cont_idx):
            out[: self.n, self.cont_idx] = self.cont.numpy()
            out[self.n :, self.cont_idx] = cont
        for pos, j in enumerate(self.cat_idx):
            out[: self.n, j] = arr[:, j]
            out[self.n :, j] = new_cats[pos]
        return out.tolist() if self.kind == "list" else out


class TableData(SamplerData):
    """`SamplerData` for a `Table`: the labels as for every sampler, X as the table."""

    def __init__(self, table: Table, y, device: torch.device):
        self.x_kind, self.y_kind = table.kind, container_kind(y)
        self.X_in, self.y_in = table.X_in, y
        self.device = device
        self.table = table
        self.X = table.cont  # continuous columns (maybe none): where the labels' codes live
        self.n, self.n_features = table.n, table.d
        self.columns = table.columns
        self._labels_for_rows(y)
