"""imbalanced-learn's own tests, run against gpusmote:
``over_sampling/tests/test_adasyn.py``."""

from ._suite import load

globals().update(load("over_sampling/tests/test_adasyn.py"))
