"""imbalanced-learn's own tests, run against gpusmote:
``under_sampling/_prototype_generation/tests/test_cluster_centroids.py``."""

from ._suite import load

globals().update(load("under_sampling/_prototype_generation/tests/test_cluster_centroids.py"))
