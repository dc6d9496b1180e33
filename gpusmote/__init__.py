"""gpusmote: imbalanced-learn-compatible resampling on the GPU (or CPU) with PyTorch."""

from .data import smote_batch
from .neighbors import NearestNeighbors, kneighbors
from .over_sampling import (
    ADASYN,
    SMOTE,
    SMOTEN,
    SMOTENC,
    SVMSMOTE,
    BorderlineSMOTE,
    KMeansSMOTE,
    RandomOverSampler,
)

__version__ = "0.1.0"

__all__ = [
    "SMOTE",
    "BorderlineSMOTE",
    "SVMSMOTE",
    "ADASYN",
    "KMeansSMOTE",
    "SMOTENC",
    "SMOTEN",
    "RandomOverSampler",
    "NearestNeighbors",
    "kneighbors",
    "smote_batch",
    "__version__",
]
