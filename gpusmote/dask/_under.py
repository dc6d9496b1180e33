"""RandomUnderSampler on dask: a random key per row, the smallest keys of each class
kept; nothing is gathered."""

from __future__ import annotations

import numpy as np
import torch

from .._validation import fmt_error
from ..data._hash import _GOLDEN, _mix, _signed

__all__ = ["UnderSampling", "row_keys"]


class UnderSampling:
    computes = False  # rows are only indexed: NaN passes through, as in one process

    def __init__(self, sampler):
        if sampler.replacement:
            raise ValueError(fmt_error("replacement", "False on dask", sampler.replacement))

    def run(self, job):
        import dask

        source = job.input
        keep = {label: n for label, n in job.strategy.items() if n < job.counts[label]}
        cuts = [
            dask.delayed(smallest_keys)(lp, int(job.offsets[i]), keep, job.seed)
            for i, lp in enumerate(source.label_parts)
        ]
        cut = dask.compute(dask.delayed(merge_smallest)(cuts, keep))[0]
        if source.frame is not None:
            import dask.dataframe as dd

            parts = [
                dask.delayed(keep_frame_rows, pure=True)(
                    p, source.target, cut, job.seed, int(job.offsets[i])
                )
                for i, p in enumerate(source.parts)
            ]
            return dd.from_delayed(parts, meta=source.frame._meta, verify_meta=False)
        mask = source.labels.map_blocks(keep_mask, cut, job.seed, dtype=bool)
        return source.array[mask], source.labels[mask]


# tasks (run on the workers) ----------------------------------------------------------
def row_keys(seed: int, first: int, n: int) -> np.ndarray:
    """A uint64 key per global row number ``first .. first + n - 1``: SplitMix64 of
    (seed, row) by `data._hash`'s finaliser, a bijection of the row number for each seed,
    so keys never tie."""
    z = torch.arange(first, first + n, dtype=torch.int64) + _signed(int(seed) * _GOLDEN)
    return _mix(z).numpy().view(np.uint64)


def smallest_keys(labels, first: int, keep: dict, seed: int) -> dict:
    """Per class to under-sample: the ``keep[class]`` smallest keys of this partition."""
    labels = np.asarray(labels)
    keys = row_keys(seed, first, labels.shape[0])
    out = {}
    for label, n in keep.items():
        k = keys[labels == label]
        out[label] = np.sort(k)[:n] if k.shape[0] > n else np.sort(k)
    return out


def merge_smallest(parts, keep: dict) -> dict:
    """Per class: the key of its ``keep[class]``-th row (rows at or below it are kept);
    a class asked to keep 0 rows gets no cut and keeps none."""
    cut = {}
    for label, n in keep.items():
        if n == 0:
            cut[label] = None
            continue
        keys = np.sort(np.concatenate([p[label] for p in parts]))
        cut[label] = int(keys[n - 1])
    return cut


def kept(labels: np.ndarray, first: int, cut: dict, seed: int) -> np.ndarray:
    """(n_i,) bool: the rows of a partition (global numbers from ``first``) kept."""
    keys = row_keys(seed, first, labels.shape[0])
    mask = np.ones(labels.shape[0], dtype=bool)
    for label, c in cut.items():
        rows = labels == label
        mask[rows] = False if c is None else keys[rows] <= np.uint64(c)
    return mask


def keep_frame_rows(part, target, cut, seed, first: int):
    return part[kept(part[target].to_numpy(), first, cut, seed)]


def keep_mask(labels, cut, seed, block_info=None):
    first = int(block_info[0]["array-location"][0][0]) if block_info else 0
    return kept(np.asarray(labels), first, cut, seed)
