"""Over-sampling followed by cleaning: SMOTEENN and SMOTETomek."""

from ._smote_clean import SMOTEENN, SMOTETomek

__all__ = ["SMOTEENN", "SMOTETomek"]
