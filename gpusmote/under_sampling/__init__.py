"""Under-samplers and cleaning methods: subsets of the rows, chosen on the device."""

from ._condensed import CondensedNearestNeighbour, OneSidedSelection
from ._enn import AllKNN, EditedNearestNeighbours, RepeatedEditedNearestNeighbours
from ._hardness import InstanceHardnessThreshold
from ._ncr import NeighbourhoodCleaningRule
from ._nearmiss import NearMiss
from ._prototype_generation import ClusterCentroids
from ._random_under import RandomUnderSampler
from ._tomek import TomekLinks

__all__ = [
    "RandomUnderSampler",
    "TomekLinks",
    "EditedNearestNeighbours",
    "RepeatedEditedNearestNeighbours",
    "AllKNN",
    "NearMiss",
    "NeighbourhoodCleaningRule",
    "CondensedNearestNeighbour",
    "OneSidedSelection",
    "ClusterCentroids",
    "InstanceHardnessThreshold",
]
