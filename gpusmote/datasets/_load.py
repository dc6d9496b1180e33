"""Loaders for the bundled datasets."""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

from .._validation import fmt_error

__all__ = ["DATASETS", "Bunch", "list_datasets", "load", "provenance"]

DATASETS = {  # name: (file, one line of description)
    "abalone19": (
        "abalone_19_vs_10_11_12_13.csv.gz",
        "abalone age 19 vs 10-13 (UCI via KEEL): 1,622 rows, 8 features, 1.97 % minority",
    ),
    "page_blocks0": (
        "page_blocks0.csv.gz",
        "page-blocks, class 0 vs rest (UCI via KEEL): 5,472 rows, 10 features, 10.2 % minority",
    ),
    "satimage": (
        "satimage.csv.gz",
        "satimage, class 4 vs rest (UCI): 6,435 rows, 36 features, 9.7 % minority",
    ),
    "sylva": (
        "sylva.csv.gz",
        "sylva (agnostic-learning challenge): 13,086 rows, 212 features, 6.2 % minority",
    ),
}


def list_datasets() -> list[str]:
    """Names of the bundled datasets."""
    return sorted(DATASETS)


def provenance() -> str:
    """The provenance note and citations shipped beside the data."""
    return resources.files(__package__).joinpath("data", "SOURCES.md").read_text()


class Bunch(dict):
    """A dict whose keys are also attributes, as scikit-learn's ``Bunch``."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value

    def __dir__(self):
        return list(self.keys())


def load(name: str, *, return_X_y: bool = False, as_frame: bool = False):
    """A bundled dataset, as scikit-learn's loaders return theirs.

    Parameters
    ----------
    name : str
        One of `list_datasets()`.
    return_X_y : bool, default=False
        True: ``(data, target)`` instead of the Bunch.
    as_frame : bool, default=False
        True: ``data`` a pandas DataFrame (columns ``f0..f{p-1}``), ``target`` a Series
        and ``frame`` both together (needs pandas). False: float64 (n, p) and int64 (n,)
        numpy arrays.

    Returns
    -------
    Bunch
        ``data``, ``target`` (1 = the minority class), ``feature_names``,
        ``target_names`` (``["majority", "minority"]``), ``frame`` (None unless
        ``as_frame``), ``DESCR`` (description and provenance) and ``filename``.
        ``(data, target)`` with ``return_X_y``.

    Examples
    --------
    >>> from gpusmote.datasets import load
    >>> data = load("page_blocks0")
    >>> data.data.shape, int(data.target.sum()), data.feature_names[:2]
    ((5472, 10), 559, ['f0', 'f1'])
    >>> X, y = load("page_blocks0", return_X_y=True)
    """
    if name not in DATASETS:
        raise ValueError(fmt_error("name", f"one of {list_datasets()}", name))
    file_name, description = DATASETS[name]
    path = resources.files(__package__).joinpath("data", file_name)
    with path.open("rb") as raw, gzip.open(raw, "rt") as text:
        header = text.readline().strip().split(",")
        table = np.loadtxt(text, delimiter=",", dtype=np.float64, ndmin=2)
    target = header.index("target")
    y = table[:, target].astype(np.int64)
    X = np.delete(table, target, axis=1)
    features = [c for c in header if c != "target"]
    frame = None
    if as_frame:
        try:
            import pandas as pd
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                'as_frame=True needs pandas: pip install "gpusmote[pandas]" '
                "(or call with as_frame=False for numpy arrays)."
            ) from None
        X = pd.DataFrame(X, columns=features)
        y = pd.Series(y, name="target")
        frame = pd.concat([X, y], axis=1)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        feature_names=features,
        target_names=["majority", "minority"],
        frame=frame,
        DESCR=f"{name}: {description}. Provenance and citations: gpusmote.datasets.provenance().",
        filename=file_name,
    )


def _loader(name: str):
    def loader(*, return_X_y: bool = False, as_frame: bool = False):
        return load(name, return_X_y=return_X_y, as_frame=as_frame)

    loader.__name__ = f"load_{name}"
    loader.__doc__ = f"""{DATASETS[name][1]}: `gpusmote.datasets.load` ``({name!r}, ...)``.

    Returns a Bunch (``data``, ``target``, ``feature_names``, ``target_names``,
    ``frame``, ``DESCR``); ``return_X_y=True`` gives ``(data, target)``, ``as_frame=True``
    pandas objects.
    """
    return loader


load_abalone19 = _loader("abalone19")
load_page_blocks0 = _loader("page_blocks0")
load_satimage = _loader("satimage")
load_sylva = _loader("sylva")
