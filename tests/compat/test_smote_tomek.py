"""imbalanced-learn's own tests, run against gpusmote:
``combine/tests/test_smote_tomek.py``."""

from ._suite import load

globals().update(load("combine/tests/test_smote_tomek.py"))
