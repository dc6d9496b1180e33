"""FAISS candidates: exact ``IndexFlatL2`` and approximate IVF / HNSW indexes.

faiss-cpu runs on the host: CUDA inputs are copied there for the search, and the
results come back to the compute device.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._params import ParamsMixin
from .._validation import check_int
from ._exact import FLOAT32_PLAIN, Problem, drop_own

__all__ = ["FaissFlat", "FaissIVF", "FaissHNSW", "import_faiss", "faiss_candidates"]

_QUERY_TILE = 8192


def import_faiss():
    try:
        import faiss
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            'The faiss backends need faiss: pip install "gpusmote[faiss]" (faiss-cpu); '
            'or use backend="torch", which needs nothing more.'
        ) from None
    return faiss


class FaissFlat(ParamsMixin):
    """Exact search with faiss ``IndexFlatL2`` (``backend="faiss"`` or ``"faiss-flat"``).

    Results are certified and refined like the torch backend's: true Euclidean
    distances, ties by lower index.

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote.neighbors import kneighbors, FaissFlat
    >>> X = np.array([[0.0], [1.0], [3.0]], dtype=np.float32)
    >>> kneighbors(X, 1, backend=FaissFlat(), device="cpu")[1].tolist()
    [[1], [0], [1]]
    """

    exact = True
    name = "faiss-flat"

    def build(self, faiss, xw: np.ndarray):
        index = faiss.IndexFlatL2(xw.shape[1])
        index.add(xw)
        return index


class FaissIVF(ParamsMixin):
    """Approximate search with faiss ``IndexIVFFlat`` (``backend="faiss-ivf"``).

    Parameters
    ----------
    nlist : int or None
        Number of inverted lists (k-means cells). None: ``4 * sqrt(n)``, at most
        ``n // 39`` (faiss wants 39 training points per cell).
    nprobe : int or None
        Cells visited per query: more is slower and closer to exact. None: ``max(8, nlist // 8)``.
    """

    exact = False
    name = "faiss-ivf"

    def __init__(self, nlist: int | None = None, nprobe: int | None = None):
        self.nlist = nlist
        self.nprobe = nprobe

    def build(self, faiss, xw: np.ndarray):
        n, d = xw.shape
        if self.nlist is None:
            nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
        else:
            nlist = check_int(self.nlist, "nlist", minimum=1, maximum=n)
        if self.nprobe is None:
            nprobe = min(nlist, max(8, nlist // 8))
        else:
            nprobe = min(nlist, check_int(self.nprobe, "nprobe", minimum=1))
        quantizer = faiss.IndexFlatL2(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist)
        index.train(xw)
        index.add(xw)
        index.nprobe = nprobe
        return index


class FaissHNSW(ParamsMixin):
    """Approximate search with faiss ``IndexHNSWFlat`` (``backend="faiss-hnsw"``).

    Parameters
    ----------
    M : int
        Graph degree: more is more accurate, more memory.
    ef_search : int
        Search beam width (at least the number of neighbours asked for is used).
    ef_construction : int
        Beam width while building.
    """

    exact = False
    name = "faiss-hnsw"

    def __init__(self, M: int = 32, ef_search: int = 64, ef_construction: int = 40):
        self.M = M
        self.ef_search = ef_search
        self.ef_construction = ef_construction

    def build(self, faiss, xw: np.ndarray):
        index = faiss.IndexHNSWFlat(xw.shape[1], check_int(self.M, "M", minimum=2))
        index.hnsw.efConstruction = check_int(self.ef_construction, "ef_construction", minimum=1)
        index.add(xw)
        index.hnsw.efSearch = check_int(self.ef_search, "ef_search", minimum=1)
        return index


def faiss_candidates(P: Problem, spec):
    """Yield ``(q0, cand, threshold, slack)`` per query tile; see `_exact.finish`."""
    faiss = import_faiss()
    xw = _host_float32(P, P.X)
    index = spec.build(faiss, xw)
    if isinstance(spec, FaissHNSW):
        index.hnsw.efSearch = max(index.hnsw.efSearch, P.kc + 1)
    x_max = float(np.sqrt(np.einsum("ij,ij->i", xw, xw, dtype=np.float64).max()))
    extra = int(P.exclude_self)
    kq = min(P.kc + extra, P.n)
    every_row_is_candidate = kq >= P.n
    yw_all = xw if P.same else _host_float32(P, P.Y)
    for q0 in range(0, P.m, _QUERY_TILE):
        q1 = min(P.m, q0 + _QUERY_TILE)
        yw = yw_all[q0:q1]
        dist, ind = index.search(yw, kq)
        dist = torch.from_numpy(dist).to(P.device, torch.float64)
        ind = torch.from_numpy(ind).to(P.device)
        if extra:
            ind = drop_own(ind, torch.arange(q0, q1, device=P.device))
        missing = (ind < 0).any(1)
        ind = ind.clamp(min=0)  # rows with -1 are redone exactly; keep their indices valid
        y_norm = torch.from_numpy(np.einsum("ij,ij->i", yw, yw, dtype=np.float64)).to(P.device)
        if not spec.exact:
            threshold = torch.full_like(y_norm, float("inf"))
            slack = torch.zeros_like(y_norm)
        elif every_row_is_candidate:
            threshold = torch.full_like(y_norm, float("inf"))
            slack = torch.zeros_like(y_norm)
        else:
            threshold = dist.amax(1)
            slack = P.slack_at(y_norm, x_max, units=FLOAT32_PLAIN)
        threshold[missing] = float("-inf")
        yield q0, ind, threshold, slack


def _host_float32(P: Problem, src: torch.Tensor) -> np.ndarray:
    """All rows of ``src`` in working coordinates as a contiguous float32 host array."""
    out = np.empty(src.shape, dtype=np.float32)
    step = P.chunk
    for a in range(0, src.shape[0], step):
        b = min(src.shape[0], a + step)
        out[a:b] = P.work(src, a, b).to(torch.float32).cpu().numpy()
    return out
