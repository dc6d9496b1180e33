"""Everything that converts between the user's containers and torch tensors: nothing
else in gpusmote does.

- `_convert`: ``(X, y)`` validated once into tensors (`SamplerData`, `LabelsOnly`), and
  the output rebuilt in the input's container types;
- `_frame`: pandas DataFrames as numbers, and back (one rule for every column dtype);
- `_sparse`: scipy sparse matrices and torch sparse tensors kept sparse (`SparseRows`)
  from input to output;
- `_table`: tables of continuous and categorical columns (SMOTENC, SMOTEN);
- `_output`: what a sampler's ``_fit_resample`` returns, turned into ``(X_out, y_out)``.
"""

from ._convert import (
    LabelsOnly,
    SamplerData,
    as_feature_tensor,
    as_label_tensor,
    container_kind,
    describe,
    host_numpy,
    plain_input,
    take_rows,
    to_like,
)
from ._output import Kept, NewRows, Passed, Replaced, TableRows
from ._table import Table, TableData, resolve_categorical

__all__ = [
    "Kept",
    "NewRows",
    "Passed",
    "Replaced",
    "TableRows",
    "LabelsOnly",
    "SamplerData",
    "Table",
    "TableData",
    "as_feature_tensor",
    "as_label_tensor",
    "container_kind",
    "describe",
    "host_numpy",
    "plain_input",
    "resolve_categorical",
    "take_rows",
    "to_like",
]
