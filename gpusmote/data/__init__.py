"""PyTorch training integration: a resampled Dataset, balanced DDP batches, batch SMOTE."""

from ._batch import smote_batch
from ._dataset import ResampledDataset
from ._sampler import BalancedBatchSampler

__all__ = ["ResampledDataset", "BalancedBatchSampler", "smote_batch"]
