"""gpusmote: imbalanced-learn-compatible resampling on the GPU (or CPU) with PyTorch."""

from .neighbors import NearestNeighbors, kneighbors
from .over_sampling import SMOTE

__version__ = "0.1.0.dev0"

__all__ = ["SMOTE", "NearestNeighbors", "kneighbors", "__version__"]
