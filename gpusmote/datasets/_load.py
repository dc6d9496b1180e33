"""Loaders for the bundled datasets."""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

from .._validation import fmt_error

__all__ = ["DATASETS", "list_datasets", "load", "provenance"]

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


def load(name: str, *, as_frame: bool = False):
    """``(X, y)`` of a bundled dataset.

    Parameters
    ----------
    name : str
        One of `list_datasets()`.
    as_frame : bool
        False: ``X`` float64 (n, p) and ``y`` int64 (n,) numpy arrays. True: a pandas
        DataFrame with the columns ``f0..f{p-1}`` and ``target`` (needs pandas).
    """
    if name not in DATASETS:
        raise ValueError(fmt_error("name", f"one of {list_datasets()}", name))
    path = resources.files(__package__).joinpath("data", DATASETS[name][0])
    if as_frame:
        try:
            import pandas as pd
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                'as_frame=True needs pandas: pip install "gpusmote[pandas]" '
                "(or call with as_frame=False for numpy arrays)."
            ) from None
        with path.open("rb") as raw:
            return pd.read_csv(raw, compression="gzip")
    with path.open("rb") as raw, gzip.open(raw, "rt") as text:
        header = text.readline().strip().split(",")
        table = np.loadtxt(text, delimiter=",", dtype=np.float64, ndmin=2)
    target = header.index("target")
    y = table[:, target].astype(np.int64)
    X = np.delete(table, target, axis=1)
    return X, y


def _loader(name: str):
    def loader(*, as_frame: bool = False):
        return load(name, as_frame=as_frame)

    loader.__name__ = f"load_{name}"
    loader.__doc__ = f"""``(X, y)`` of {DATASETS[name][1]}.

    ``as_frame=True``: a DataFrame with the feature columns and ``target`` instead.
    See `gpusmote.datasets.load`.
    """
    return loader


load_abalone19 = _loader("abalone19")
load_page_blocks0 = _loader("page_blocks0")
load_satimage = _loader("satimage")
load_sylva = _loader("sylva")
