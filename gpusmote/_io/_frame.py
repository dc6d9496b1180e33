"""pandas DataFrames as numbers, and back: one rule for every column dtype a
DataFrame can hold.

In: numpy numbers keep their values (a frame of float32 columns stays float32, any
other mix becomes float64); bool and pandas ``boolean`` columns become 0/1; pandas
nullable numbers (``Int64``, ``Float64``, ...) become float64 with missing values
as NaN (refused later as non-finite, naming ``X``, as imbalanced-learn refuses
them); ``object`` and ``string`` columns whose every value is a number are
converted (imbalanced-learn accepts them too); a ``category`` column with numeric
categories gives its values. Any other column (text, non-numeric categories,
dates) is refused with a ``TypeError`` that names it.

Out: `restore_frame` gives each column its input dtype back. New rows' values in
integer columns are truncated toward zero, as numpy's cast (and imbalanced-learn's
output) does, also for nullable integers, which pandas would refuse to cast; bool
columns are True where the value is not 0; a category column whose new values are
not among its categories becomes its categories' numeric dtype instead of holding
NaN. Given the input frame as ``head``, the input's own rows of every column that is
not plain float come from it, not from the numbers the search read: an ``int64``,
``uint64`` or ``Int64`` value above 2**53 has no float64 that holds it.
"""

from __future__ import annotations

import numpy as np

from .._validation import fmt_error
from ..exceptions import InvalidDataError

__all__ = ["frame_to_numeric", "restore_frame", "frame_numeric_dtype"]


def _is_plain(dtype) -> bool:
    """A numpy integer, unsigned or float dtype (no bool, no extension dtype)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "iuf"


def frame_numeric_dtype(frame) -> np.dtype:
    """The numpy dtype of `frame_to_numeric`'s result, without converting."""
    dtypes = list(frame.dtypes)
    if dtypes and all(_is_plain(dt) for dt in dtypes):
        return np.result_type(*dtypes)
    return np.dtype(np.float64)


def frame_to_numeric(frame, param: str = "X") -> np.ndarray:
    """``frame``'s values as a 2-D numeric numpy array (see the module's rules)."""
    if all(_is_plain(dt) for dt in frame.dtypes):
        return frame.to_numpy()
    out = np.empty(frame.shape, dtype=np.float64)
    for j, (name, column) in enumerate(frame.items()):
        out[:, j] = _column(column, name, param)
    return out


def _column(column, name, param: str) -> np.ndarray:
    import pandas as pd
    from pandas.api import types

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        if not types.is_numeric_dtype(categories.dtype) or types.is_bool_dtype(categories.dtype):
            raise InvalidDataError(
                fmt_error(
                    param,
                    "numeric columns; encode a categorical column first, or use SMOTENC / "
                    "SMOTEN, which take categorical columns",
                    f"column {name!r} of dtype category with categories "
                    f"{list(categories[:3])}{'...' if len(categories) > 3 else ''}",
                )
            )
        values = np.asarray(categories, dtype=np.float64)[column.cat.codes.to_numpy()]
        values[column.cat.codes.to_numpy() < 0] = np.nan
        return values
    if types.is_bool_dtype(dtype) or types.is_numeric_dtype(dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    if types.is_object_dtype(dtype) or types.is_string_dtype(dtype):
        try:
            return pd.to_numeric(column, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        except (ValueError, TypeError):
            pass
        bad = _first_non_number(column)
        raise InvalidDataError(
            fmt_error(
                param,
                "numeric columns; encode a text column first, or use SMOTENC / SMOTEN, which "
                "take categorical columns",
                f"column {name!r} of dtype {dtype} holding {bad!r}",
            )
        )
    raise InvalidDataError(
        fmt_error(param, "numeric columns (numbers, bools)", f"column {name!r} of dtype {dtype}")
    )


def _first_non_number(column):
    import pandas as pd

    for value in column:
        try:
            if pd.isna(value):
                continue
            float(value)
        except (TypeError, ValueError):
            return value
    return None


def restore_frame(values: np.ndarray, columns, dtypes, *, head=None):
    """A DataFrame of ``values`` with columns ``columns`` of the input dtypes ``dtypes``
    (a sequence, one per column; see the module's rules). ``head``: the input frame,
    whose rows are the first ``len(head)`` of ``values``; the columns that float64
    could have rounded take those rows from it, exactly."""
    import pandas as pd
    from pandas.api import types

    # no copy of the output's values (pandas 3 copies an array by default): they are
    # the sampler's own buffer
    frame = pd.DataFrame(values, columns=columns, copy=False)
    if head is not None and len(head) > len(frame):
        head = None
    for j, dtype in enumerate(dtypes):
        col = frame.iloc[:, j]
        if isinstance(dtype, np.dtype) and dtype == col.dtype:
            continue
        if head is not None and head.dtypes.iloc[j] == dtype:
            frame.isetitem(j, _with_head(col, head.iloc[:, j], dtype))
            continue
        if isinstance(dtype, pd.CategoricalDtype):
            inside = col.isin(dtype.categories) | col.isna()
            if not bool(inside.all()):
                frame.isetitem(j, col.astype(np.asarray(dtype.categories).dtype))
                continue
        elif types.is_bool_dtype(dtype):
            col = col.where(col.isna(), col != 0)
        elif types.is_integer_dtype(dtype):
            col = np.trunc(col)
        frame.isetitem(j, col.astype(dtype))
    return frame


def _with_head(col, original, dtype):
    """Column ``col`` of the output (float64 values) in ``dtype``, its first
    ``len(original)`` rows taken from the input's column ``original`` as they are."""
    import pandas as pd

    n = len(original)
    if isinstance(dtype, np.dtype):  # plain integers and bool: one array
        out = np.empty(len(col), dtype=dtype)
        out[:n] = original.to_numpy()
        out[n:] = restore_frame(col.to_numpy()[n:, None], [col.name], [dtype]).iloc[:, 0]
        return pd.Series(out, name=col.name)
    new = restore_frame(col.to_numpy()[n:, None], [col.name], [dtype]).iloc[:, 0]
    if new.dtype != dtype:  # category whose new values are not categories: numbers
        original = original.astype(new.dtype)
    return pd.concat([original, new], ignore_index=True)
