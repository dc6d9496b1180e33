"""Majority votes over neighbours' labels or categories (k-NN rules, ENN, SMOTEN)."""

from __future__ import annotations

import torch

__all__ = ["mode_rows"]


def mode_rows(labels: torch.Tensor) -> torch.Tensor:
    """Per row of ``labels`` (r, k) int codes, the most frequent, ties to the smallest."""
    counts = (labels.unsqueeze(2) == labels.unsqueeze(1)).sum(2)
    top = counts.amax(1, keepdim=True)
    big = torch.iinfo(torch.int64).max
    return torch.where(counts == top, labels, big).amin(1)
