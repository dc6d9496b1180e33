"""imbalanced-learn's own tests, run against gpusmote:
``under_sampling/_prototype_selection/tests/test_random_under_sampler.py``."""

from ._suite import load

globals().update(load("under_sampling/_prototype_selection/tests/test_random_under_sampler.py"))
