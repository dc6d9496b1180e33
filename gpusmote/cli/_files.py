"""Reading and writing the tables of ``gpusmote resample``; format from the extension."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["FORMATS", "Table", "detect_format", "read_table", "write_table", "atomic_output"]

FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv.gz",
    ".parquet": "parquet",
    ".npy": "npy",
    ".npz": "npz",
    ".pt": "pt",
}


class InputError(ValueError):
    """A problem with the command's input or output files (exit code 2)."""


def detect_format(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    raise InputError(f"{path}: unknown format; use one of {', '.join(FORMATS)}")


def _pandas():
    try:
        import pandas as pd
    except ModuleNotFoundError:
        raise InputError(
            'CSV and Parquet files need pandas: pip install "gpusmote[pandas]" '
            "(or use .npy, .npz or .pt files)"
        ) from None
    return pd


@dataclass
class Table:
    """Features and labels, and where the label column sits in the file's layout."""

    X: object  # DataFrame, numpy array or tensor
    y: object
    target: str
    columns: list  # every column name in file order (tabular) or array keys (npz / pt)
    layout: str  # "frame", "array" (target is a column), "arrays" (separate arrays)


def read_table(path: Path, target: str) -> Table:
    fmt = detect_format(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if fmt in ("csv", "csv.gz", "parquet"):
            pd = _pandas()
            frame = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
            return _from_frame(frame, target)
        if fmt == "npy":
            return _from_array(np.load(path, allow_pickle=False), target)
        if fmt == "npz":
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        else:
            arrays = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(arrays, dict):
                raise InputError(f"{path}: expected a dict of tensors saved with torch.save")
    except InputError:
        raise
    except Exception as exc:  # parsers raise many types; all mean "cannot read this"
        raise InputError(f"{path}: cannot read it as {fmt}: {exc}") from None
    return _from_arrays(arrays, target, path)


def _from_frame(frame, target: str) -> Table:
    columns = [str(c) for c in frame.columns]
    if target not in columns:
        raise InputError(f"target column {target!r} not found; the columns are {columns}")
    features = frame.drop(columns=[target])
    bad = [str(c) for c in features.select_dtypes(exclude=["number", "bool"]).columns]
    if bad:
        raise InputError(
            f"non-numeric feature columns {bad}: drop or encode them first "
            "(only the target column may hold labels)"
        )
    return Table(features, frame[target], target, columns, "frame")


def _from_array(array: np.ndarray, target: str) -> Table:
    if array.ndim != 2:
        raise InputError(f".npy input must be a 2-D array; got shape {array.shape}")
    try:
        col = int(target)
    except ValueError:
        raise InputError(f"for .npy input, --target is a column index; got {target!r}") from None
    if not -array.shape[1] <= col < array.shape[1]:
        raise InputError(f"target column {col} out of range for {array.shape[1]} columns")
    col %= array.shape[1]
    return Table(
        np.delete(array, col, axis=1), array[:, col], str(col), list(range(array.shape[1])), "array"
    )


def _from_arrays(arrays: dict, target: str, path: Path) -> Table:
    keys = list(arrays)
    if target not in arrays:
        raise InputError(f"target array {target!r} not found in {path}; it holds {keys}")
    others = [k for k in keys if k != target]
    feature_key = "X" if "X" in others else (others[0] if len(others) == 1 else None)
    if feature_key is None:
        raise InputError(
            f"{path}: expected one feature array (named 'X') beside {target!r}; found {others}"
        )
    return Table(arrays[feature_key], arrays[target], target, [feature_key, target], "arrays")


def write_table(table: Table, X_res, y_res, path: Path) -> None:
    """Write the resampled table to ``path`` in the format of its extension."""
    fmt = detect_format(path)
    if fmt in ("csv", "csv.gz", "parquet"):
        pd = _pandas()
        frame = _as_frame(pd, table, X_res, y_res)
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, compression="gzip" if fmt == "csv.gz" else None)
        return
    X_np = X_res.to_numpy() if hasattr(X_res, "to_numpy") else _numpy(X_res)
    y_np = y_res.to_numpy() if hasattr(y_res, "to_numpy") else _numpy(y_res)
    if fmt == "npy":
        col = int(table.target) if table.layout == "array" else X_np.shape[1]
        dtype = np.result_type(X_np.dtype, y_np.dtype)
        out = np.insert(X_np.astype(dtype), col, y_np.astype(dtype), axis=1)
        with open(path, "wb") as f:
            np.save(f, out, allow_pickle=False)
    elif fmt == "npz":
        feature_key = table.columns[0] if table.layout == "arrays" else "X"
        with open(path, "wb") as f:
            np.savez(f, **{feature_key: X_np, table.target: y_np})
    else:
        feature_key = table.columns[0] if table.layout == "arrays" else "X"
        X_t = X_res.detach().cpu() if isinstance(X_res, torch.Tensor) else torch.from_numpy(X_np)
        y_t = y_res.detach().cpu() if isinstance(y_res, torch.Tensor) else torch.from_numpy(y_np)
        torch.save({feature_key: X_t, table.target: y_t}, path)


def _numpy(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _as_frame(pd, table: Table, X_res, y_res):
    if table.layout == "frame":
        frame = X_res.copy()
        frame.insert(table.columns.index(table.target), table.target, y_res.to_numpy())
        return frame
    X_np, y_np = _numpy(X_res), _numpy(y_res)
    names = [f"f{i}" for i in range(X_np.shape[1])]
    frame = pd.DataFrame(X_np, columns=names)
    target = table.target if table.layout == "arrays" else "target"
    position = int(table.target) if table.layout == "array" else len(names)
    frame.insert(position, target, y_np)
    return frame


class atomic_output:
    """Context manager: a temporary path beside ``path``, renamed onto it on success.

    On any failure the temporary file is removed, so ``path`` is either the complete
    new file or untouched. Keeps an existing ``path`` unless ``force``.
    """

    def __init__(self, path: Path, *, force: bool):
        self.path = Path(path)
        if self.path.exists() and not force:
            raise InputError(f"{self.path} exists; pass --force to replace it")
        if not self.path.parent.is_dir():
            raise InputError(f"{self.path.parent}: no such folder for the output")
        fmt_suffix = next(s for s, f in FORMATS.items() if f == detect_format(self.path))
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=f".part{fmt_suffix}", dir=self.path.parent
        )
        os.close(fd)
        self.tmp = Path(tmp)

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp made it private; give it a new file's mode
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
        return False
