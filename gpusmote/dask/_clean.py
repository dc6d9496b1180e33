"""EditedNearestNeighbours and TomekLinks on dask: the neighbour graph of all rows, block
by block (every partition's rows against every partition: P^2 tasks), then each row
judged by the sampler's own rule (`under_sampling.enn_keeps`, `tomek_links`) with only
the labels (and for TomekLinks each row's nearest row) gathered, 8 bytes per row each."""

from __future__ import annotations

import numpy as np
import torch

from .._validation import fmt_error
from . import _input
from ._job import device_of
from ._over import worker_budget

__all__ = ["Cleaning"]


class Cleaning:
    computes = True  # distances: the rows must be finite

    def __init__(self, sampler):
        from ..under_sampling import TomekLinks

        self.tomek = isinstance(sampler, TomekLinks)

    def run(self, job):
        import dask

        source = job.input
        k = 2 if self.tomek else job.sampler.n_neighbors + 1  # the row itself too
        if k > job.n_rows:
            raise ValueError(fmt_error("n_neighbors", f"below {job.n_rows} (the rows)", k - 1))
        points = [
            dask.delayed(_input.points, pure=True)(p, source.features, source.dtype)
            for p in source.parts
        ]
        search = job.search()
        graph = []  # per partition: (n_i, k - 1) global rows, each row's own dropped
        for i, q in enumerate(points):
            blocks = [
                dask.delayed(knn_block, pure=True)(q, x, int(job.offsets[j]), k, search)
                for j, x in enumerate(points)
            ]
            graph.append(dask.delayed(merge_knn, pure=True)(blocks, int(job.offsets[i]), k))
        codes = dask.delayed(class_codes, pure=True)(
            [dask.delayed(np.asarray)(lp) for lp in source.label_parts], job.classes
        )
        cleaned = np.isin(np.arange(len(job.classes)), [job.classes.index(c) for c in job.strategy])
        if self.tomek:
            nearest = dask.delayed(_input.concat, pure=True)(
                [dask.delayed(first_column)(g) for g in graph]
            )
            masks = [
                dask.delayed(tomek_keep, pure=True)(g, int(job.offsets[i]), nearest, codes, cleaned)
                for i, g in enumerate(graph)
            ]
        else:
            kind_sel = job.sampler.kind_sel
            masks = [
                dask.delayed(enn_keep, pure=True)(g, int(job.offsets[i]), codes, cleaned, kind_sel)
                for i, g in enumerate(graph)
            ]
        return _filtered(source, job.offsets, masks)


def _filtered(source, offsets, masks):
    """The input's rows where the per-partition masks are True, lazily."""
    import dask

    if source.frame is not None:
        import dask.dataframe as dd

        parts = [
            dask.delayed(_input.take, pure=True)(p, m)
            for p, m in zip(source.parts, masks, strict=True)
        ]
        return dd.from_delayed(parts, meta=source.frame._meta, verify_meta=False)
    import dask.array as da

    # the input's own chunks, as a tuple of tuples: a flat tuple of sizes reads as one
    # block size per dimension (the first chunk's, and an empty first chunk divides by 0)
    mask = da.concatenate(
        [
            da.from_delayed(m, shape=(int(n),), dtype=bool)
            for m, n in zip(masks, np.diff(offsets), strict=True)
        ]
    ).rechunk((source.array.chunks[0],))
    return source.array[mask], source.labels[mask]


# tasks (run on the workers) ----------------------------------------------------------
def knn_block(queries: np.ndarray, rows: np.ndarray, first: int, k: int, search: dict):
    """The k nearest of ``rows`` (global numbers from ``first``) for each query:
    (distances float64, global rows), both (q, min(k, len(rows))). An empty partition
    (as after a filter) on either side gives an empty block: it contributes nothing."""
    from ..neighbors import kneighbors

    kk = min(k, rows.shape[0])
    if kk == 0 or queries.shape[0] == 0:
        shape = (queries.shape[0], kk)
        return np.empty(shape, np.float64), np.empty(shape, np.int64)
    dev = device_of(search)
    dist, ind = kneighbors(
        torch.from_numpy(rows).to(dev),
        kk,
        Y=torch.from_numpy(queries).to(dev),
        exclude_self=False,
        **{**search, "device": dev, "max_memory": worker_budget(search, dev)},
    )
    return dist.cpu().numpy().astype(np.float64), ind.cpu().numpy() + first


def merge_knn(blocks, first: int, k: int) -> np.ndarray:
    """The k nearest over all blocks, by (distance, global row), less each row's own
    number where it is among them (else the farthest): as the in-process search."""
    from ..neighbors._exact import drop_own

    dist = np.concatenate([b[0] for b in blocks], axis=1)
    ind = np.concatenate([b[1] for b in blocks], axis=1)
    if dist.shape[0] == 0:  # an empty partition: no rows to judge
        return np.empty((0, k - 1), np.int64)
    order = np.lexsort((ind, dist), axis=1)[:, :k]
    nn = np.take_along_axis(ind, order, 1)
    own = torch.arange(first, first + nn.shape[0])
    return drop_own(torch.from_numpy(nn), own).numpy()


def first_column(graph: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(graph[:, 0])


def class_codes(parts, classes) -> np.ndarray:
    """(n,) int64 class codes (positions in the sorted ``classes``) of all rows."""
    labels = np.concatenate(parts)
    keys = np.asarray(classes)
    codes = np.searchsorted(keys, labels)
    if not (keys[np.minimum(codes, len(keys) - 1)] == labels).all():  # mixed label types
        lookup = {c: i for i, c in enumerate(classes)}
        codes = np.array([lookup[v.item() if hasattr(v, "item") else v] for v in labels])
    return codes.astype(np.int64)


def enn_keep(graph, first: int, codes, cleaned, kind_sel) -> np.ndarray:
    """(n_i,) bool: the rows of a partition that ENN keeps (its rule, or not cleaned)."""
    from ..under_sampling._enn import enn_keeps

    own = torch.from_numpy(codes[first : first + graph.shape[0]])
    agree = enn_keeps(torch.from_numpy(codes[graph]), own, kind_sel)
    return (agree | ~torch.from_numpy(cleaned)[own]).numpy()


def tomek_keep(graph, first: int, nearest, codes, cleaned) -> np.ndarray:
    """(n_i,) bool: the rows of a partition outside the Tomek links TomekLinks removes."""
    from ..under_sampling._tomek import tomek_links

    rows = torch.arange(first, first + graph.shape[0])
    cleaned = torch.from_numpy(cleaned)
    return (~tomek_links(torch.from_numpy(nearest), torch.from_numpy(codes), cleaned, rows)).numpy()
