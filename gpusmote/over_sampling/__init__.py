"""Over-samplers: SMOTE and its family."""

from ._smote import SMOTE

__all__ = ["SMOTE"]
