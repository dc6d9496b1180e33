"""What a sampler's ``_fit_resample`` returns, and how each becomes ``(X_out, y_out)`` in
the input's containers: the last step of `gpusmote.base.BaseSampler.fit_resample`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ._convert import SamplerData, take_rows
from ._frame import frame_numeric_dtype, restore_frame

__all__ = ["Kept", "NewRows", "TableRows", "Replaced", "Passed"]


class Kept:
    """Cleaning and under-sampling: the input's rows ``indices`` (r,) int64, in output
    order (the sampler's ``sample_indices_``), taken from the user's own containers.
    pandas output gets a fresh RangeIndex unless ``reset_index`` is False."""

    def __init__(self, indices, *, reset_index: bool = True, reported=None):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.reset_index = reset_index
        # what ``sample_indices_`` reports, where imbalanced-learn's differs from the
        # rows it returns (RepeatedEditedNearestNeighbours on convergence)
        self.reported = self.indices if reported is None else np.asarray(reported, np.int64)

    def output(self, data: SamplerData):
        idx, reset = self.indices, self.reset_index
        return take_rows(data.rows_to_take(), idx, reset_index=reset), take_rows(
            data.y_in, idx, reset_index=reset
        )


# One block of new rows: (class index, rows, fill). ``fill(dest)`` writes the rows into
# ``dest`` (rows, d), a view of the output in its own dtype and memory.
Block = tuple[int, int, Callable[[torch.Tensor], None]]


class NewRows:
    """Over-sampling: the input's rows, unchanged and in order, then ``blocks`` of new
    rows, each written once, in place, by its ``fill`` (called in block order, so
    draws made inside a fill keep imbalanced-learn's order). ``floating``: integer
    input gives float64 output (rows that are not rounded back to the input's dtype)."""

    def __init__(self, blocks: Sequence[Block], *, floating: bool = False):
        self.blocks = list(blocks)
        self.floating = floating

    def output(self, data: SamplerData):
        floating = self.floating
        X_buf, dest = data.x_buffer(sum(n for _, n, _ in self.blocks), floating=floating)
        start = 0
        for _, n, fill in self.blocks:
            if n:
                fill(dest[start : start + n])
            start += n
        y_buf = data.y_buffer([(ci, n) for ci, n, _ in self.blocks])
        return data.finish(X_buf, y_buf, floating=floating)


class TableRows:
    """SMOTENC and SMOTEN: the input's rows, then new ones given as continuous values
    ``cont`` (m, n_cont) and category codes ``codes`` (m, n_cat), by ``blocks`` of
    ``(class index, rows)``."""

    def __init__(self, blocks, cont: torch.Tensor | None, codes: torch.Tensor):
        self.blocks, self.cont, self.codes = blocks, cont, codes

    def output(self, data):
        X_out = data.table.rebuild(self.cont, self.codes)
        return X_out, data.finish_labels(data.y_buffer(self.blocks), X_out)


class Replaced:
    """Prototype generation (ClusterCentroids): ``rows`` (r, d) replace the input, by
    ``blocks`` of ``(class index, rows)``. Integer input gives float64 rows."""

    def __init__(self, rows: torch.Tensor, blocks):
        self.rows, self.blocks = rows, blocks

    def output(self, data: SamplerData):
        y_buf = data.y_buffer(self.blocks, with_input=False)
        if data.x_kind == "tensor":
            X_out = self.rows.to(data.X_in.device, data.X_in.dtype)
        else:
            arr = self.rows.cpu().numpy()
            if data.x_kind == "dataframe":
                dtype = frame_numeric_dtype(data.X_in)
            else:
                dtype = np.asarray(data.X_in).dtype
            arr = arr.astype(dtype if dtype.kind == "f" else np.float64, copy=False)
            if data.x_kind == "dataframe":
                X_out = restore_frame(arr, data.columns, list(data.X_in.dtypes))
            elif data.x_kind == "list":
                X_out = arr.tolist()
            else:
                X_out = arr
        return X_out, data.finish_labels(y_buf, X_out)


class Passed:
    """A sampler made of samplers (SMOTEENN, SMOTETomek): their output, already in the
    input's containers."""

    def __init__(self, X_out, y_out):
        self.X_out, self.y_out = X_out, y_out

    def output(self, data):
        return self.X_out, self.y_out
