"""imbalanced-learn's own tests, run against gpusmote:
``over_sampling/_smote/tests/test_kmeans_smote.py``."""

from ._suite import load

globals().update(load("over_sampling/_smote/tests/test_kmeans_smote.py"))
