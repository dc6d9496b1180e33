"""Clustering on the compute device: `KMeans` (used by KMeansSMOTE by default)."""

from ._kmeans import KMeans

__all__ = ["KMeans"]
