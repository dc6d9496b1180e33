"""``ResampledDataset``: SMOTE rows computed on access, fresh each epoch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from .._interpolate import interpolate_into
from .._io import as_feature_tensor, as_label_tensor
from .._validation import check_int, fmt_error
from ..base import _clone
from ..over_sampling import SMOTE
from . import _hash

__all__ = ["ResampledDataset"]


class _GatheredBatch(Sequence):
    """What `ResampledDataset.__getitems__` returns: a sequence of ``(x, y)`` samples
    (views made only when asked for) that carries the batch as two tensors, which
    `ResampledDataset.collate` hands over without re-stacking."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor):
        self.tensors = (X, y)
        self._items = None

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, i):
        if self._items is None:  # one unbind for all, only if samples are asked for
            self._items = list(
                zip(self.tensors[0].unbind(0), self.tensors[1].unbind(0), strict=True)
            )
        return self._items[i]


class ResampledDataset(Dataset):
    """A map-style Dataset over ``X``, ``y`` and SMOTE rows that are never stored.

    Index ``i < len(X)`` is an original row; the rest are synthetic rows laid out as
    ``SMOTE.fit_resample`` lays them out (by class, in sorted class order). Each synthetic
    row is defined by (base row, neighbour, gap) drawn from ``(seed, epoch, class, i)``
    with a counter-based generator and computed on access from the fitted neighbour
    graph: memory is the graph (O(n_minority * (d + k))) plus references to the
    originals, not O(n_synthetic * d), and every process computes the same rows.

    Parameters
    ----------
    X : array-like or tensor (n, d)
        Features; numpy float arrays and tensors are used without a copy. CUDA tensors
        keep all work on their device (use ``DataLoader(num_workers=0)`` with them).
    y : array-like or tensor (n,)
        Integer or bool labels.
    sampler : SMOTE, optional
        Decides which classes grow and how (``sampling_strategy``, ``k_neighbors``,
        ``device``...); default ``SMOTE()``. A clone of it is fitted here (the object
        passed stays as it is); its ``random_state`` is not used (the rows come from
        ``seed`` and the epoch).
    seed : int
        Base seed of the synthetic rows.

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.data import ResampledDataset
    >>> X = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    >>> y = np.r_[np.zeros(90, int), np.ones(10, int)]
    >>> ds = ResampledDataset(X, y, seed=0)
    >>> len(ds), int(ds[150][1])
    (180, 1)
    >>> ds.set_epoch(1)  # fresh synthetic rows, the same in every process
    """

    def __init__(self, X, y, sampler=None, *, seed: int = 0):
        sampler = SMOTE() if sampler is None else sampler
        if not isinstance(sampler, SMOTE):
            raise TypeError(fmt_error("sampler", "a gpusmote SMOTE instance (or None)", sampler))
        self.seed = check_int(seed, "seed", minimum=0)
        home = X.device if isinstance(X, torch.Tensor) else torch.device("cpu")
        X_t = as_feature_tensor(X, "X", home)  # numpy float arrays: no copy
        y_t = as_label_tensor(y, "y")
        if y_t.shape[0] != X_t.shape[0]:
            raise ValueError(
                fmt_error("y", f"one label per row of X ({X_t.shape[0]} rows)", y_t.shape[0])
            )
        fitted = _clone(sampler)
        fitted.fit(X_t, y_t)
        self.sampler = sampler
        self.sampling_strategy_ = fitted.sampling_strategy_
        self.X, self.y = X_t, y_t.reshape(-1)
        self.device = X_t.device
        self.n = X_t.shape[0]
        data = fitted._data
        # Per over-sampled class: (label, members, partners, count). ``members`` (n_c,)
        # are the class's rows of X, ``partners`` (n_c, k) the rows of X that are their
        # neighbours: int64 indices only, the features stay in X.
        self._graphs = []
        for class_index, count in fitted._targets(data):
            label = data.classes[class_index]
            members = (self.y == label).nonzero().squeeze(1)
            nn = fitted._graphs[class_index][1].to(self.device)
            self._graphs.append((label, members, members[nn], count))
        del fitted  # its copies of the class rows are not kept
        counts = [g[3] for g in self._graphs]
        self._offsets = torch.tensor(np.cumsum([0] + counts), dtype=torch.int64, device=self.device)
        self._labels = torch.tensor(
            [g[0] for g in self._graphs], dtype=self.y.dtype, device=self.device
        )
        self._epoch = _shared_epoch(0)

    @property
    def epoch(self) -> int:
        """The epoch whose synthetic rows are drawn (set with `set_epoch`)."""
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Draw the synthetic rows of ``epoch`` (deterministic in ``(seed, epoch)``).

        The epoch lives in shared memory, so it reaches DataLoader worker processes,
        persistent ones (which keep a copy of the dataset made at their start) and
        spawned ones included. Call it before iterating the loader for that epoch, as
        with ``DistributedSampler.set_epoch``.
        """
        self._epoch.fill_(check_int(epoch, "epoch", minimum=0))

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)
        # plain pickle and deepcopy give a private copy of the epoch: share that one,
        # so a copy's set_epoch reaches the workers of its own loaders
        if not self._epoch.is_shared():
            self._epoch = _shared_epoch(int(self._epoch))

    def __len__(self) -> int:
        return self.n + int(self._offsets[-1])

    def __getitem__(self, index):
        """``(x, y)`` of one row; a list or 1-D tensor of indices gives the batch tensors
        (for ``DataLoader(ds, sampler=BatchSampler(...), batch_size=None)``)."""
        if isinstance(index, (list, tuple, torch.Tensor, np.ndarray)):
            return self.__getitems__(index).tensors
        X, y = self._gather(torch.as_tensor([_index(index, len(self))], device=self.device))
        return X[0], y[0]

    def __getitems__(self, indices):
        """A whole batch with one gather: a list of samples that also carries the batch
        as tensors (`collate` returns those without re-stacking)."""
        idx = torch.as_tensor(indices, dtype=torch.int64, device=self.device)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise IndexError(f"indices must be in [0, {len(self)}); got {list(indices)[:8]}...")
        return _GatheredBatch(*self._gather(idx))

    @staticmethod
    def collate(batch):
        """``collate_fn`` for DataLoader: the batch tensors straight from `__getitems__`."""
        if isinstance(batch, _GatheredBatch):
            return batch.tensors
        return default_collate(batch)

    def _gather(self, idx: torch.Tensor):
        """Rows ``idx`` (int64, on the device): originals by gather, synthetic by formula."""
        out_X = torch.empty((idx.numel(), self.X.shape[1]), dtype=self.X.dtype, device=self.device)
        out_y = torch.empty(idx.numel(), dtype=self.y.dtype, device=self.device)
        orig = idx < self.n
        if bool(orig.all()):
            return self.X[idx], self.y[idx]
        pos = orig.nonzero().squeeze(1)
        out_X[pos] = self.X[idx[pos]]
        out_y[pos] = self.y[idx[pos]]
        syn = (~orig).nonzero().squeeze(1)
        j = idx[syn] - self.n
        epoch = self.epoch  # read once: one batch, one epoch
        block = torch.searchsorted(self._offsets, j, right=True) - 1
        for b, (_label, members, partners, _count) in enumerate(self._graphs):
            here = (block == b).nonzero().squeeze(1)
            if not here.numel():
                continue
            t = j[here] - self._offsets[b]
            k = partners.shape[1]
            stream = _hash.key(self.seed, epoch, b)
            flat = _hash.uniform_int(stream, t, partners.numel())
            gap = _hash.uniform_float(_hash.key(stream, 1), t, torch.float64)
            rows = torch.empty((t.numel(), self.X.shape[1]), dtype=self.X.dtype, device=self.device)
            interpolate_into(self.X, members[flat // k], partners.view(-1)[flat], gap, rows)
            out_X[syn[here]] = rows
            out_y[syn[here]] = self._labels[b]
        return out_X, out_y


def _shared_epoch(epoch: int) -> torch.Tensor:
    """A 0-d int64 CPU tensor in shared memory. DataLoader workers get the dataset
    once (forked: copy-on-write pages; spawned: pickled), so a plain attribute set
    later never reaches persistent workers; shared memory does, in both."""
    return torch.tensor(epoch, dtype=torch.int64).share_memory_()


def _index(index, n: int) -> int:
    i = int(index)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"index {index} out of range for {n} rows")
    return i
