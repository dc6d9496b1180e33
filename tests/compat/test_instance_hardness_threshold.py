"""imbalanced-learn's own tests, run against gpusmote:
``under_sampling/_prototype_selection/tests/test_instance_hardness_threshold.py``."""

from ._suite import load

globals().update(
    load("under_sampling/_prototype_selection/tests/test_instance_hardness_threshold.py")
)
