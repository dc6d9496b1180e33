"""Over-samplers: SMOTE and its family."""

from ._adasyn import ADASYN
from ._borderline import BorderlineSMOTE
from ._kmeans_smote import KMeansSMOTE
from ._random_over import RandomOverSampler
from ._smote import SMOTE
from ._smoten import SMOTEN
from ._smotenc import SMOTENC
from ._svm import SVMSMOTE

__all__ = [
    "SMOTE",
    "BorderlineSMOTE",
    "SVMSMOTE",
    "ADASYN",
    "KMeansSMOTE",
    "SMOTENC",
    "SMOTEN",
    "RandomOverSampler",
]
