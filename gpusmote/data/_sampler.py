"""``BalancedBatchSampler``: class-balanced index batches, disjoint across DDP ranks."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch.utils.data import Sampler

from .._validation import check_bool, check_int, fmt_error

__all__ = ["BalancedBatchSampler"]


class BalancedBatchSampler(Sampler):
    """Batches of indices with equal (or given) class proportions, for ``batch_sampler=``.

    Each epoch (reshuffled from ``seed + epoch``, see `set_epoch`) every rank gets the same
    number of batches; each class's indices are split across ranks first, so no index is
    seen by two ranks, then drawn without replacement within the rank, cycling through
    a fresh permutation when a (minority) class runs out.

    Parameters
    ----------
    labels : array-like or tensor (n,)
        The label of every dataset index.
    batch_size : int
    class_weights : dict, optional
        ``{label: weight}``: the share of each class in a batch (normalised; finite and
        >= 0). Default: equal shares. A class with weight 0 is left out; every other
        class has at least one row in every batch, so ``batch_size`` must be at least
        their number.
    num_replicas, rank : int, optional
        DDP world size and this process's rank; read from ``torch.distributed`` when it
        is initialised, else 1 and 0.
    seed : int
    drop_last : bool
        False: ``ceil(n / (batch_size * num_replicas))`` batches per rank (every row about
        once per epoch across ranks); True: ``floor``.

    Examples
    --------
    >>> from gpusmote.data import BalancedBatchSampler
    >>> labels = [0] * 90 + [1] * 10
    >>> batches = list(BalancedBatchSampler(labels, batch_size=10, seed=0))
    >>> len(batches), sum(labels[i] for i in batches[0])
    (10, 5)
    """

    def __init__(
        self,
        labels,
        batch_size: int,
        *,
        class_weights=None,
        num_replicas=None,
        rank=None,
        seed: int = 0,
        drop_last: bool = False,
    ):
        y = (
            labels.detach().cpu().numpy()
            if isinstance(labels, torch.Tensor)
            else np.asarray(labels)
        )
        if y.ndim != 1 or y.size == 0:
            raise ValueError(
                fmt_error("labels", "a non-empty 1-D array of labels", f"shape {y.shape}")
            )
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.seed = check_int(seed, "seed", minimum=0)
        self.drop_last = check_bool(drop_last, "drop_last")
        self.num_replicas, self.rank = _ranks(num_replicas, rank)
        weights = _class_weights(class_weights, np.unique(y))
        self._classes = [c for c in sorted(weights) if weights[c] > 0]
        if len(self._classes) > self.batch_size:  # a class without a slot is never drawn
            raise ValueError(
                fmt_error(
                    "batch_size",
                    f"at least the number of classes drawn ({len(self._classes)}), so that "
                    "each is in every batch (a weight of 0 leaves a class out)",
                    self.batch_size,
                )
            )
        self._index = {c: np.flatnonzero(y == c) for c in self._classes}
        small = [c for c in self._classes if len(self._index[c]) < self.num_replicas]
        if small:
            raise ValueError(
                fmt_error(
                    "labels",
                    f"at least {self.num_replicas} rows (one per rank) in each class",
                    small,
                )
            )
        total = sum(weights[c] for c in self._classes)
        self._quota = _quotas([weights[c] / total for c in self._classes], self.batch_size)
        per_rank = len(y) / (self.batch_size * self.num_replicas)
        self._n_batches = max(
            1, int(np.floor(per_rank)) if self.drop_last else int(np.ceil(per_rank))
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch``: every rank must call it with the same value."""
        self.epoch = check_int(epoch, "epoch", minimum=0)

    def __len__(self) -> int:
        return self._n_batches

    def __iter__(self):
        rng = np.random.default_rng(self.seed + self.epoch)
        streams = []
        for i, (c, quota) in enumerate(zip(self._classes, self._quota, strict=True)):
            # the same permutation on every rank (same seed): rank r keeps every R-th index
            mine = rng.permutation(self._index[c])[self.rank :: self.num_replicas]
            need = quota * self._n_batches
            local = np.random.default_rng([self.seed, self.epoch, self.rank, i])
            laps = (
                [local.permutation(mine) for _ in range(-(-need // len(mine)))]
                if need
                else [mine[:0]]
            )
            streams.append(np.concatenate(laps)[:need].reshape(self._n_batches, quota))
        batches = np.concatenate(streams, axis=1)
        mix = np.random.default_rng([self.seed, self.epoch, self.rank, len(self._classes)])
        for batch in mix.permuted(batches, axis=1):  # classes interleaved within a batch
            yield batch.tolist()


def _quotas(shares, batch_size: int) -> list[int]:
    """Rows per class in a batch: largest remainders, then at least one per class (a
    slot taken from the class with the most), so that a small positive weight is drawn
    too; ``batch_size`` >= the number of classes."""
    raw = [s * batch_size for s in shares]
    quota = [int(np.floor(r)) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - quota[i], reverse=True)[
        : batch_size - sum(quota)
    ]:
        quota[i] += 1
    for i in range(len(quota)):
        if quota[i] == 0:
            quota[int(np.argmax(quota))] -= 1
            quota[i] = 1
    return quota


def _ranks(num_replicas, rank) -> tuple[int, int]:
    """``(num_replicas, rank)`` checked: the ones given, else torch.distributed's where
    it is initialised, else 1 and 0."""
    if num_replicas is None or rank is None:
        dist = torch.distributed
        ready = dist.is_available() and dist.is_initialized()
        num_replicas = (
            (dist.get_world_size() if ready else 1) if num_replicas is None else num_replicas
        )
        rank = (dist.get_rank() if ready else 0) if rank is None else rank
    num_replicas = check_int(num_replicas, "num_replicas", minimum=1)
    return num_replicas, check_int(rank, "rank", minimum=0, maximum=num_replicas - 1)


def _class_weights(class_weights, classes: np.ndarray) -> dict:
    """label -> weight for the labels present (``classes``, sorted): 1 each by default;
    given ones checked (keys among the labels; finite, non-negative, a positive sum)."""
    present = [c.item() if hasattr(c, "item") else c for c in classes]  # str labels too
    weights = dict.fromkeys(present, 1.0) if class_weights is None else dict(class_weights)
    unknown = set(weights) - set(present)
    if unknown:
        raise ValueError(
            fmt_error("class_weights", f"keys among the labels {classes.tolist()}", sorted(unknown))
        )
    numeric = all(isinstance(w, numbers.Real) and not isinstance(w, bool) for w in weights.values())
    if (
        not numeric
        or not all(0 <= w < math.inf for w in weights.values())  # NaN fails it too
        or sum(weights.values()) <= 0
    ):
        raise ValueError(
            fmt_error("class_weights", "finite, non-negative weights with a positive sum", weights)
        )
    return weights
