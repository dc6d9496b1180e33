"""The one neighbour engine: exact tiled k-NN in PyTorch, and FAISS indexes."""

from ._api import SearchStats, collect_stats, kneighbors
from ._classifier import KNeighborsClassifier
from ._estimator import NearestNeighbors
from ._faiss import FaissFlat, FaissHNSW, FaissIVF
from ._memory import cuda_tiles

__all__ = [
    "kneighbors",
    "collect_stats",
    "SearchStats",
    "NearestNeighbors",
    "KNeighborsClassifier",
    "FaissFlat",
    "FaissIVF",
    "FaissHNSW",
    "cuda_tiles",
]
