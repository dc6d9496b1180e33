"""Over-sampling on dask (SMOTE, RandomOverSampler): each class gathered onto one
worker, its neighbour graph computed in query blocks, new rows in output partitions
that each draw from their own seed (seed, class, partition)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .._io._frame import restore_frame
from .._validation import fmt_error
from . import _input
from ._job import device_of

__all__ = ["OverSampling"]

# Rows per neighbour-search task: enough queries per task that each task's search
# keeps the engine busy, enough tasks to spread over a few workers.
_QUERY_BLOCK_MIN, _QUERY_BLOCK_MAX = 4096, 262_144


class OverSampling:
    def __init__(self, sampler):
        from ..over_sampling import SMOTE

        self.interpolates = isinstance(sampler, SMOTE)
        # SMOTE measures distances, so its rows must be finite; RandomOverSampler's are
        # only indexed
        self.computes = self.interpolates
        if not self.interpolates and sampler.shrinkage is not None:
            raise ValueError(fmt_error("shrinkage", "None on dask", sampler.shrinkage))

    def run(self, job):
        import dask

        from ..over_sampling._base import require_more_rows

        source = job.input
        pieces = []  # (class index, rows, delayed rows) per synthetic partition
        itemsize = np.dtype(source.dtype).itemsize
        token = job.token()
        for label, n_new in job.strategy.items():
            if n_new == 0:
                continue
            ci = job.classes.index(label)
            n_c = job.counts[label]
            need = n_c * source.n_features * itemsize
            if need > job.max_gather:
                raise ValueError(
                    fmt_error(
                        "max_gather",
                        f"at least {need:,} bytes to gather the {n_c:,} rows of class "
                        f"{label!r} ({source.n_features} features, "
                        f"{np.dtype(source.dtype).name}) onto one worker",
                        job.max_gather,
                    )
                )
            rows = [
                dask.delayed(_input.class_rows)(p, lp, label, source.features, source.dtype)
                for p, lp in zip(source.parts, source.label_parts, strict=True)
            ]
            Xc = dask.delayed(_input.concat, pure=True)(
                rows, dask_key_name=f"gpusmote-gather-{token}-{ci}"
            )
            graph = None
            if self.interpolates:
                k = int(job.sampler.k_neighbors)
                require_more_rows(n_c, k, label)
                graph = _graph(Xc, n_c, k, job.search(), token, ci)
            R = job.rows_per_partition
            for p in range(math.ceil(n_new / R)):
                m = min(R, n_new - p * R)
                piece = dask.delayed(synthetic_rows, pure=True)(
                    Xc,
                    graph,
                    m,
                    (job.seed, ci, p),
                    job.search(),
                    dask_key_name=f"gpusmote-synth-{token}-{ci}-{p}",
                )
                pieces.append((ci, m, piece))
        return self._assemble(job, pieces)

    def _assemble(self, job, pieces):
        """The input's partitions, then the synthetic ones."""
        import dask
        import dask.array as da
        import dask.dataframe as dd

        source = job.input
        if source.frame is not None:
            frame = source.frame
            if self.interpolates:  # new rows are interpolated: integer columns become float
                casts = {c: np.float64 for c in source.features if frame.dtypes[c].kind in "biu"}
                frame = frame.astype(casts) if casts else frame
            meta = frame._meta
            start = job.n_rows
            parts = []
            for ci, m, piece in pieces:
                parts.append(
                    dask.delayed(to_frame, pure=True)(
                        piece, meta, source.features, source.target, job.classes[ci], start
                    )
                )
                start += m
            if not parts:
                return frame
            return dd.concat([frame, dd.from_delayed(parts, meta=meta, verify_meta=False)])
        X, y = source.array, source.labels
        if self.interpolates and X.dtype.kind in "biu":
            X = X.astype(np.float64)
        xs, ys = [X], [y]
        for ci, m, piece in pieces:
            xs.append(da.from_delayed(piece, shape=(m, source.n_features), dtype=X.dtype))
            ys.append(da.full(m, job.classes[ci], dtype=y.dtype, chunks=m))
        return da.concatenate(xs, axis=0), da.concatenate(ys)


def _graph(Xc, n_c: int, k: int, search: dict, token: str, ci: int):
    """The class's (n_c, k) neighbour graph, searched in query blocks over the workers."""
    import dask

    block = min(_QUERY_BLOCK_MAX, max(_QUERY_BLOCK_MIN, math.ceil(n_c / 8)))
    blocks = [
        dask.delayed(neighbour_block, pure=True)(
            Xc, a, min(n_c, a + block), k, search, dask_key_name=f"gpusmote-knn-{token}-{ci}-{a}"
        )
        for a in range(0, n_c, block)
    ]
    return dask.delayed(np.concatenate, pure=True)(
        blocks, dask_key_name=f"gpusmote-graph-{token}-{ci}"
    )


# tasks (run on the workers) ----------------------------------------------------------

# The share of a dask worker's memory limit a task's search or interpolation may use
# when the sampler gives no max_memory: the engine's CPU default (256 MiB) is over half
# a small worker's limit, and the worker restarts at 99 % of it. A sixteenth (30 MiB of
# a 480 MiB worker) measured the same speed on the example's class, at a peak of +25
# MiB against +41 for a search block (BENCHMARKS.md, "Dask").
_WORKER_SHARE = 16


def worker_budget(search: dict, dev: torch.device):
    """``max_memory`` for a task on ``dev``: the sampler's; where it gives none, on the
    CPU of a dask worker with a memory limit, `_WORKER_SHARE`'s part of that limit (at
    most the engine's CPU default); else None. The engine is exact at any budget, so
    the rows do not depend on it."""
    if search["max_memory"] is not None or dev.type != "cpu":
        return search["max_memory"]
    try:
        from distributed import get_worker

        limit = get_worker().memory_manager.memory_limit
    except (ImportError, ValueError, AttributeError):  # not on a distributed worker
        return None
    if not limit:
        return None
    from .._device import default_memory_budget

    return min(default_memory_budget(dev), int(limit) // _WORKER_SHARE)


def neighbour_block(Xc: np.ndarray, a: int, b: int, k: int, search: dict) -> np.ndarray:
    """(b - a, k) nearest rows of the class for its rows a:b, each row's own excluded."""
    from ..neighbors import kneighbors

    dev = device_of(search)
    Xt = torch.from_numpy(Xc).to(dev)
    own = torch.arange(a, b, device=dev)
    budget = worker_budget(search, dev)
    nn = kneighbors(
        Xt, k, rows=own, return_distance=False, **{**search, "device": dev, "max_memory": budget}
    )
    return nn.cpu().numpy()


def synthetic_rows(Xc, graph, m: int, key: tuple, search: dict) -> np.ndarray:
    """(m, d) new rows of one output partition, from its own seed (seed, class, part).

    SMOTE (``graph`` given): a row, one of its k neighbours and a step in [0, 1) per new
    row, ``x + u * (x_nn - x)`` with imbalanced-learn's arithmetic. RandomOverSampler:
    a row drawn with replacement.
    """
    from .._interpolate import interpolate_into

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(key))))
    n_c = Xc.shape[0]
    rows = rng.integers(0, n_c, size=m)
    if graph is None:
        return Xc[rows]
    k = graph.shape[1]
    partners = graph[rows, rng.integers(0, k, size=m)]
    steps = rng.random(m)
    dev = device_of(search)
    Xt = torch.from_numpy(Xc).to(dev)
    out = torch.empty((m, Xc.shape[1]), dtype=Xt.dtype, device=dev)
    as_tensor = [torch.from_numpy(a).to(dev) for a in (rows, partners, steps)]
    interpolate_into(Xt, *as_tensor, out, worker_budget(search, dev))
    return out.cpu().numpy()


def to_frame(values: np.ndarray, meta, features, target, label, start: int):
    """One synthetic partition as a DataFrame like the input's, indexed from ``start``.

    One copy of ``values`` (the feature columns), the label column inserted beside it:
    building the frame again from its columns was a second copy of the partition."""
    import pandas as pd

    m = values.shape[0]
    frame = restore_frame(values, list(features), [meta.dtypes[c] for c in features])
    # any label dtype: numpy, pandas string, category, nullable
    labels = pd.Series([label] * m, dtype=meta.dtypes[target])
    frame.insert(list(meta.columns).index(target), target, labels)
    frame.index = pd.RangeIndex(start, start + m)
    return frame
