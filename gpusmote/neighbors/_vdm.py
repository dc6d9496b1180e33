"""k-NN under the Value Difference Metric (SMOTEN), in tiles on the compute device.

Categorical rows are int64 codes; per column a small table holds the squared VDM term
between two categories, so a distance is a sum of table lookups, accumulated over
columns in order (as imbalanced-learn's ``ValueDifferenceMetric.pairwise`` does, so
the float64 sums are the same). No n x n matrix is formed.
"""

from __future__ import annotations

import torch

from .._device import resolve_budget

__all__ = ["vdm_tables", "vdm_block", "vdm_kneighbors"]


def vdm_tables(codes, labels, n_classes: int, n_categories: list[int]) -> list[torch.Tensor]:
    """Per column, the (c, c) table of squared VDM terms between its categories:
    ``(sum over classes |P(class | a) - P(class | b)|) ** 2`` in float64, the
    probabilities as imbalanced-learn's ``ValueDifferenceMetric`` computes them."""
    out = []
    for f, n_cat in enumerate(n_categories):
        counts = torch.zeros((n_cat, n_classes), dtype=torch.float64, device=codes.device)
        counts.index_put_((codes[:, f], labels), torch.ones_like(labels, dtype=torch.float64), True)
        proba = torch.nan_to_num(counts / counts.sum(1, keepdim=True))
        l1 = (proba[:, None, :] - proba[None, :, :]).abs().sum(-1)
        out.append(l1 * l1)
    return out


def vdm_block(Q: torch.Tensor, D: torch.Tensor, tables) -> torch.Tensor:
    """(q, w) VDM distances, accumulated over columns in order as imbalanced-learn does."""
    acc = torch.zeros((Q.shape[0], D.shape[0]), dtype=torch.float64, device=Q.device)
    for f, table in enumerate(tables):
        acc += table[Q[:, f, None], D[None, :, f]]
    return acc


def _smallest(values: torch.Tensor, k: int):
    """(values, columns) of the k smallest entries of each row, ties to lower columns."""
    kk = min(k, values.shape[1])
    kth = values.topk(kk, dim=1, largest=False).values.amax(1, keepdim=True)
    below = values < kth
    tied = values == kth
    need = kk - below.sum(1, keepdim=True)
    chosen = below | (tied & (tied.cumsum(1) <= need))
    cols = chosen.nonzero()[:, 1].view(values.shape[0], kk)
    return values.gather(1, cols), cols


def vdm_kneighbors(codes: torch.Tensor, tables, k: int, max_memory=None) -> torch.Tensor:
    """(n, k) nearest rows of ``codes`` to each row (itself included), by (distance,
    index), tile by tile within ``max_memory``."""
    n = codes.shape[0]
    budget = resolve_budget(max_memory, codes.device)
    per_entry = 8 * 4  # accumulator, gathered term, masks and cumulative count
    entries = max(1, budget // per_entry)
    bw = min(n, 4096, max(k, entries // 16))
    bq = max(1, min(n, entries // bw))
    out = torch.empty((n, k), dtype=torch.int64, device=codes.device)
    for q0 in range(0, n, bq):
        q = codes[q0 : q0 + bq]
        best_v = best_i = None
        for d0 in range(0, n, bw):
            v, c = _smallest(vdm_block(q, codes[d0 : d0 + bw], tables), k)
            c = c + d0
            if best_v is not None:
                v, c = torch.cat([best_v, v], 1), torch.cat([best_i, c], 1)
            c, order = c.sort(1)  # lower index first, then a stable sort by value
            v = v.gather(1, order)
            v, order = v.sort(dim=1, stable=True)
            best_v, best_i = v[:, :k], c.gather(1, order)[:, :k]
        out[q0 : q0 + bq] = best_i
    return out
