"""Real imbalanced datasets bundled with gpusmote (provenance in ``data/SOURCES.md``).

Each is a KEEL / UCI imbalanced-learning benchmark: numeric features ``f0..f{p-1}`` and a
binary ``target`` (1 = the minority class).

Examples
--------
>>> from gpusmote.datasets import list_datasets, load_page_blocks0
>>> list_datasets()
['abalone19', 'page_blocks0', 'satimage', 'sylva']
>>> X, y = load_page_blocks0(return_X_y=True)
>>> X.shape, int(y.sum())
((5472, 10), 559)
>>> load_page_blocks0().target_names
['majority', 'minority']
"""

from ._generators import GENERATORS, SPARSE_GENERATORS, make_dataset
from ._load import (
    DATASETS,
    Bunch,
    list_datasets,
    load,
    load_abalone19,
    load_page_blocks0,
    load_satimage,
    load_sylva,
    provenance,
)

__all__ = [
    "Bunch",
    "DATASETS",
    "GENERATORS",
    "SPARSE_GENERATORS",
    "make_dataset",
    "list_datasets",
    "load",
    "load_abalone19",
    "load_page_blocks0",
    "load_satimage",
    "load_sylva",
    "provenance",
]
