"""Reading and writing the tables of ``gpusmote resample``; format from the extension."""

from __future__ import annotations

import errno
import gzip
import io
import os
import re
import stat
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "FORMATS",
    "Table",
    "detect_format",
    "check_writer",
    "check_output",
    "read_table",
    "write_table",
    "atomic_output",
    "available_memory",
]

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


def _parquet_engine() -> None:
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
            return
        except ModuleNotFoundError:
            pass
    raise InputError(
        'Parquet files need pyarrow: pip install "gpusmote[pandas]" (or use .csv files)'
    )


def check_writer(path: Path) -> None:
    """What writing ``path`` needs (pandas, a Parquet engine), before any work."""
    fmt = detect_format(path)
    if fmt in ("csv", "csv.gz", "parquet"):
        _pandas()
    if fmt == "parquet":
        _parquet_engine()


@dataclass
class Table:
    """Features and labels, and where the label column sits in the file's layout."""

    X: object  # DataFrame, numpy array or tensor
    y: object
    target: str
    columns: list  # the output's column names in file order (tabular) or array keys
    layout: str  # "frame", "array" (target is a column), "arrays" (separate arrays)
    ids: object = None  # DataFrame of --id columns (frame layout), kept out of X


def read_table(path: Path, target: str, *, drop=(), ids=(), max_decompressed=None) -> Table:
    """The table in ``path`` (format from the extension), checked: rows present, at least
    two classes, numeric and finite features. ``drop``: columns left out of the features
    and the output; ``ids``: columns left out of the features, kept in the output.
    ``max_decompressed``: the most bytes a ``.csv.gz`` may decompress to (default: the
    memory available)."""
    fmt = detect_format(path)
    _regular_file(path)
    if (drop or ids) and fmt not in ("csv", "csv.gz", "parquet"):
        raise InputError("--drop and --id name columns of a CSV or Parquet file")
    try:
        if fmt in ("csv", "csv.gz", "parquet"):
            pd = _pandas()
            if fmt == "parquet":
                _parquet_engine()
                frame = pd.read_parquet(path)
            else:
                frame = _read_csv(pd, path, fmt, target, list(drop), list(ids), max_decompressed)
            return _checked(_from_frame(frame, target, list(drop), list(ids)), path)
        if fmt == "npy":
            return _checked(_from_array(np.load(path, allow_pickle=False), target), path)
        if fmt == "npz":
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        else:
            with warnings.catch_warnings():  # torch's note that sparse CSR is in beta
                warnings.filterwarnings("ignore", message=".*[Ss]parse.*beta")
                arrays = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(arrays, dict):
                raise InputError(f"{path}: expected a dict of tensors saved with torch.save")
            # a tensor saved with requires_grad: its values, outside any graph
            arrays = {
                k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in arrays.items()
            }
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except Exception as exc:  # parsers raise many types; all mean "cannot read this"
        if type(exc).__name__ == "EmptyDataError":  # pandas: not even a header
            raise InputError(f"{path}: the file is empty (no header, no rows)") from None
        raise InputError(f"{path}: cannot read it as {fmt}: {exc}") from None
    return _checked(_from_arrays(arrays, target, path), path)


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _regular_file(path: Path) -> None:
    """``path`` is a regular file with data. Anything else is refused from its status
    alone: opening a named pipe would wait for a writer, a device may never end."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((what for test, what in _KINDS if test(st.st_mode)), "not a regular file")
        raise InputError(
            f"{path} is {kind}, not a file; the input must be a regular file (save the "
            "stream to a file first)"
        )
    if st.st_size == 0:
        raise InputError(f"{path}: the file is empty")


# pandas' own missing-value words (read_csv's default na_values), for the columns
# other than --id: an identifier such as "NA" or "null" stays as written
_NA_WORDS = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip


def _read_csv(pd, path: Path, fmt: str, target: str, drop, ids, max_decompressed):
    """A CSV as pandas reads it, except: the target, --drop and --id columns as text
    (identifiers keep their zeros, labels ``01`` and ``1`` stay two classes; labels
    written as plain numbers become numbers again in `_labels_as_written`), floats
    parsed exactly (``round_trip`` before pandas 3); a ``.csv.gz`` through `_Capped`."""
    texts = [target, *drop, *ids]
    options = {"dtype": {c: str for c in texts}}
    if int(pd.__version__.split(".")[0]) < 3:  # pandas 3's default parser is exact
        options["float_precision"] = "round_trip"
    if ids:
        header = pd.read_csv(path, nrows=0).columns
        options["keep_default_na"] = False
        options["na_values"] = {str(c): _NA_WORDS for c in header if str(c) not in ids}
    if fmt == "csv.gz":
        limit, default = (
            (available_memory(), True) if max_decompressed is None else (max_decompressed, False)
        )
        with gzip.open(path, "rb") as raw:
            source = raw if limit is None else io.BufferedReader(_Capped(raw, limit, path, default))
            frame = pd.read_csv(source, **options)
    else:
        frame = pd.read_csv(path, **options)
    if target in frame.columns:
        frame[target] = _labels_as_written(pd, frame[target])
    return frame


class _Capped(io.RawIOBase):
    """A decompressing stream that stops with an `InputError` past ``limit`` bytes, so a
    small file that expands to more than the memory (a compressed-file bomb) is refused
    while it is read, not by the system's out-of-memory killer."""

    def __init__(self, raw, limit: int, path: Path, default: bool):
        self.raw, self.limit, self.path, self.default = raw, limit, path, default
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            why = "the memory available" if self.default else "the --max-decompressed limit"
            raise InputError(
                f"{self.path} decompresses to more than {_size(self.limit)}, {why}; pass "
                "--max-decompressed SIZE (such as 64GiB) to read it anyway"
            )
        buffer[: len(data)] = data
        return len(data)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def available_memory() -> int | None:
    """Bytes of memory this process can still take: the system's available memory, or
    less under a cgroup limit (a container's ``--memory``); None where unknown."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:  # "max" or a huge number: none
            found.append(max(int(limit) - usage, 0))
        break
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


_PLAIN_INT = re.compile(r"-?(0|[1-9][0-9]*)")


def _labels_as_written(pd, labels):
    """Labels read as text, as numbers where that loses nothing: every label a plain
    integer (``7``, ``-3``, not ``07`` or ``+7``), ``True``/``False``, or a float
    written as Python writes it (``0.5``, ``1.0``). So labels ``0``/``1`` are ints as
    before (and sort as numbers), while ``01`` and ``1`` stay two classes."""
    if labels.isna().any():
        return labels  # `_checked` names the row
    words = [str(w) for w in pd.unique(labels)]
    if all(_PLAIN_INT.fullmatch(w) for w in words) and all(
        -(2**63) <= int(w) < 2**63 for w in words
    ):
        return labels.astype(np.int64)
    if set(words) <= {"True", "False"}:
        return labels == "True"
    try:
        if all(repr(float(w)) == w and np.isfinite(float(w)) for w in words):
            return labels.astype(np.float64)
    except ValueError:
        pass
    return labels


def _from_frame(frame, target: str, drop: list, ids: list) -> Table:
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if target not in columns:
        raise InputError(f"target column {target!r} not found; the columns are {columns}")
    for flag, names in (("--drop", drop), ("--id", ids)):
        missing = [c for c in names if c not in columns]
        if missing:
            raise InputError(f"{flag} column(s) {missing} not found; the columns are {columns}")
        if target in names:
            raise InputError(f"{flag} names the target column {target!r}")
    if len(frame) == 0:
        raise InputError("the file has a header but no rows")
    features = frame.drop(columns=[target, *drop, *ids])
    if features.shape[1] == 0:
        raise InputError("no feature columns are left besides the target, --drop and --id")
    bad = [str(c) for c in features.select_dtypes(exclude=["number", "bool"]).columns]
    if bad:
        raise InputError(
            f"non-numeric feature columns {bad}: pass --drop COL (or --id COL to keep an "
            "identifier in the output), or encode them first"
        )
    kept = [c for c in columns if c not in drop]
    id_frame = frame[ids] if ids else None
    return Table(features, frame[target], target, kept, "frame", id_frame)


def _checked(table: Table, path: Path) -> Table:
    """Rows, two classes, finite features: each problem named by column and row."""
    y = table.y.to_numpy() if hasattr(table.y, "to_numpy") else _numpy(table.y)
    if y.shape[0] == 0:
        raise InputError(f"{path}: no rows")
    missing = _missing(y)
    if missing.any():
        raise InputError(
            f"target {table.target!r} has missing labels (first in data row "
            f"{int(np.flatnonzero(missing)[0]) + 1})"
        )
    classes = np.unique(y)
    if classes.shape[0] < 2:
        only = classes[0].item() if classes.shape[0] and hasattr(classes[0], "item") else None
        what = (
            f"one class ({only if only is not None else classes[0]!r})"
            if classes.shape[0]
            else "no labels"
        )
        raise InputError(f"target {table.target!r} holds {what}: resampling needs two or more")
    if isinstance(table.X, torch.Tensor) and table.X.layout != torch.strided:
        _check_sparse(table.X)
        return table
    if hasattr(table.X, "columns"):
        names, values = [str(c) for c in table.X.columns], table.X.to_numpy(dtype=np.float64)
    else:
        values = _numpy(table.X)
        if values.dtype.kind not in "fiub":
            return table  # the sampler names what it cannot use
        values = values.astype(np.float64, copy=False).reshape(values.shape[0], -1)
        names = [f"feature column {j}" for j in range(values.shape[1])]
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        name = f"column {names[col]!r}" if hasattr(table.X, "columns") else names[col]
        raise InputError(
            f"{name} has {int(bad[:, col].sum())} missing or infinite value(s) (first in "
            f"data row {row + 1}); fill them, or --drop the column"
        )
    return table


def _check_sparse(X: torch.Tensor) -> None:
    """A sparse tensor's stored values are finite (the first bad one by row, column)."""
    coo = X.to_sparse_coo().coalesce()
    values = coo.values()
    if not values.is_floating_point():
        return
    bad = ~torch.isfinite(values)
    if not bool(bad.any()):
        return
    rows, cols = coo.indices()[:, bad]
    first = int(torch.argmin(rows * X.shape[1] + cols))
    col = int(cols[first])
    raise InputError(
        f"feature column {col} has {int((cols == col).sum())} missing or infinite value(s) "
        f"(first in data row {int(rows[first]) + 1}); fill them, or --drop the column"
    )


def _missing(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return np.isnan(a)
    if a.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in a], dtype=bool)
    return np.zeros(a.shape, dtype=bool)


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


def check_output(table: Table, path: Path) -> None:
    """Whether ``table``, resampled, can be written to ``path``: checked before the work,
    so that no run resamples for minutes and then cannot save."""
    fmt = detect_format(path)
    check_writer(path)
    if fmt in ("csv", "csv.gz", "parquet"):
        return
    if table.ids is not None:
        raise InputError(
            f"--id keeps columns in a CSV or Parquet output; {path} ({fmt}) holds arrays "
            "only: write .csv or .parquet, or leave out --id"
        )
    labels = _label_array(table.y, table.target)
    if labels.dtype.kind == "U" and fmt in ("npy", "pt"):
        shown = ", ".join(repr(str(v)) for v in np.unique(labels)[:3])
        raise InputError(
            f"target {table.target!r} holds text labels ({shown}, ...); {path.suffix} "
            "holds numbers only: write .npz, .csv or .parquet, or encode the labels as "
            "numbers first"
        )


def _label_array(y, target: str) -> np.ndarray:
    """Labels as a numpy array that `np.save` writes without pickle: text as a
    fixed-width unicode array (numpy's ``U``), which `np.load` reads back as it is."""
    y = y.to_numpy() if hasattr(y, "to_numpy") else _numpy(y)
    if y.dtype.kind != "O":
        return y
    if all(isinstance(v, str) for v in y):
        return y.astype(str)
    plain = np.array(y.tolist())
    if plain.dtype.kind == "O":
        raise InputError(
            f"target {target!r} mixes label types ({sorted({type(v).__name__ for v in y})}); "
            "write .csv or .parquet, or make them one type"
        )
    return plain


def _feature_array(X) -> np.ndarray:
    """Features as a plain numeric numpy array (nullable pandas columns as float64)."""
    if hasattr(X, "to_numpy"):
        out = X.to_numpy()
        return X.to_numpy(dtype=np.float64, na_value=np.nan) if out.dtype.kind == "O" else out
    return _numpy(X)


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
    y_np = _label_array(y_res, table.target)
    if fmt != "pt":
        X_np = _feature_array(X_res)
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
        if isinstance(X_res, torch.Tensor):  # its dtype and layout (bfloat16, sparse) kept
            X_t = X_res.detach().cpu()
        else:
            X_t = torch.from_numpy(np.ascontiguousarray(_feature_array(X_res)))
        y_t = y_res.detach().cpu() if isinstance(y_res, torch.Tensor) else torch.from_numpy(y_np)
        torch.save({feature_key: X_t, table.target: y_t}, path)


def _numpy(a):
    """A host numpy array of ``a``: sparse tensors dense, bfloat16 (which numpy lacks) as
    float32, exactly."""
    if not isinstance(a, torch.Tensor):
        return np.asarray(a)
    a = a.detach()
    if a.layout != torch.strided:
        a = a.to_dense()
    if a.dtype == torch.bfloat16:
        a = a.float()
    return a.cpu().numpy()


def _as_frame(pd, table: Table, X_res, y_res):
    if table.layout == "frame":
        parts = {c: X_res[c] for c in X_res.columns}
        parts[table.target] = pd.Series(y_res.to_numpy(), index=X_res.index, name=table.target)
        if table.ids is not None:  # identifiers of the input rows; synthetic rows have none
            ids = table.ids.convert_dtypes().reset_index(drop=True).reindex(X_res.index)
            parts.update((c, ids[c]) for c in ids.columns)
        return pd.DataFrame({c: parts[c] for c in table.columns})
    X_np, y_np = _numpy(X_res), _numpy(y_res)
    names = [f"f{i}" for i in range(X_np.shape[1])]
    frame = pd.DataFrame(X_np, columns=names)
    target = table.target if table.layout == "arrays" else "target"
    position = int(table.target) if table.layout == "array" else len(names)
    frame.insert(position, target, y_np)
    return frame


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


class atomic_output:
    """A temporary file beside ``path`` (``tmp``), put in its place by `commit`.

    The caller writes ``tmp`` and calls `commit` on success, `discard` on any failure (an
    exception, Ctrl-C, SIGTERM: see `gpusmote.cli.main`), so ``path`` is either the
    complete new file or untouched.
    The temporary file is named ``.NAME.PID.XXXX.part<suffix>``: a later run removes the
    ones whose process is gone (a ``kill -9``). An existing ``path`` is refused unless
    ``force``: here, and again by `commit`, whose last step cannot replace a file (a hard
    link, which fails where the name exists), so of concurrent runs to one output one
    wins and the others fail, and a file created meanwhile is kept. With ``force``, a
    replaced file is a new file (hard links to the old one keep the old data) that
    keeps the old one's mode, less setuid and setgid where its owner or group changes
    (root replacing another user's file); a symbolic link is followed (the file it
    points to is replaced), a dangling one refused. The data reach the disk (fsync)
    before the file takes the name.
    """

    def __init__(self, path: Path, *, force: bool, suffix: str | None = None, param="output"):
        path = Path(path)
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if not target.exists():
                raise InputError(
                    f"{path} is a symbolic link to {target}, which does not exist; remove the "
                    f"link or name another {param}"
                )
            path = target
        if path.is_dir():
            raise InputError(f"{path} is a folder; the {param} must be a file name")
        if path.exists() and not force:
            raise _exists(path)
        if not path.parent.is_dir():
            raise InputError(f"{path.parent}: no such folder for the {param}")
        self.path, self.force = path, force
        self.old = path.stat() if path.exists() else None  # the file a --force replaces
        self.placed = None  # (st_dev, st_ino) of the file `commit` put at ``path``
        if suffix is None:
            suffix = next(s for s, f in FORMATS.items() if f == detect_format(path))
        self.stale = self._remove_stale(suffix)
        try:
            fd, tmp = tempfile.mkstemp(
                prefix=f".{path.name}.{os.getpid()}.", suffix=f".part{suffix}", dir=path.parent
            )
        except OSError as exc:
            raise InputError(f"{path}: cannot write there ({exc.strerror})") from None
        os.close(fd)
        self.tmp = Path(tmp)

    def _remove_stale(self, suffix: str) -> list[Path]:
        """The temporary files of earlier runs for this output whose process is gone."""
        removed = []
        for old in self.path.parent.glob(f".{self.path.name}.*.part{suffix}"):
            pid = old.name[len(self.path.name) + 2 :].split(".", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                try:
                    old.unlink()
                    removed.append(old)
                except OSError:
                    pass
        return removed

    def _mode(self) -> int:
        """The mode the new file gets: a new file's (umask), or the replaced file's."""
        if self.old is None:
            umask = os.umask(0)
            os.umask(umask)
            return 0o666 & ~umask  # mkstemp made it private; give it a new file's mode
        mode = stat.S_IMODE(self.old.st_mode)  # a replaced file keeps its mode (0600 stays)
        mine = os.stat(self.tmp)
        if self.old.st_uid != mine.st_uid:  # as chown does: no setuid/setgid for a new owner
            mode &= ~(stat.S_ISUID | stat.S_ISGID)
        elif self.old.st_gid != mine.st_gid:
            mode &= ~stat.S_ISGID
        return mode

    def commit(self) -> None:
        """fsync, give the file its mode and put it at ``path``: without ``force`` only
        where no file has that name, checked and taken in one step."""
        with open(self.tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(self.tmp, self._mode())
        mine = os.stat(self.tmp)
        if self.force:
            os.replace(self.tmp, self.path)
        else:
            self._place()
        self.placed = (mine.st_dev, mine.st_ino)
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)  # the new name itself reaches the disk
        except OSError:
            pass
        finally:
            os.close(fd)

    def _place(self) -> None:
        """``tmp`` at ``path`` unless a file has that name (a race lost: an `InputError`)."""
        try:
            os.link(self.tmp, self.path)  # fails, atomically, where the name exists
        except FileExistsError:
            raise _exists(self.path) from None
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            # No hard links here (FAT, some network and FUSE file systems): claim the
            # name with an exclusive create, then rename onto the claim. Only a writer
            # that replaces files regardless could come between the two.
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                raise _exists(self.path) from None
            try:
                os.replace(self.tmp, self.path)
            except BaseException:
                self.path.unlink(missing_ok=True)  # the empty claim
                raise
            return
        self.tmp.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove the temporary file; and a file `commit` created at ``path``, where a
        later step of the same run failed (a replaced file cannot come back)."""
        self.tmp.unlink(missing_ok=True)
        if self.placed is None or self.old is not None:
            return
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == self.placed:
                self.path.unlink()
        except OSError:
            pass
        self.placed = None


# os.link's errors where the file system has no hard links
_NO_LINKS = {
    getattr(errno, name)
    for name in ("EPERM", "EOPNOTSUPP", "ENOTSUP", "ENOSYS", "EMLINK", "EACCES")
    if hasattr(errno, name)
}


def _exists(path: Path) -> InputError:
    return InputError(f"{path} exists; pass --force to replace it")
