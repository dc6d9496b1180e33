"""Which engine a search runs on: ``backend`` resolved, and the choice of "auto"."""

from __future__ import annotations

import torch

from .._device import resolve_budget, resolve_device
from .._validation import fmt_error
from ._faiss import FaissFlat, FaissHNSW, FaissIVF
from ._memory import symmetric_pays

__all__ = ["resolve_backend", "resolve_auto_backend", "self_search_pays"]


def resolve_backend(backend):
    """A backend string or spec object -> ``"torch"``, ``"kdtree"``, ``"auto"`` or a
    faiss spec."""
    if isinstance(backend, (FaissFlat, FaissIVF, FaissHNSW)):
        return backend
    names = {
        "faiss": FaissFlat,
        "faiss-flat": FaissFlat,
        "faiss-ivf": FaissIVF,
        "faiss-hnsw": FaissHNSW,
    }
    if isinstance(backend, str):
        if backend in ("auto", "torch", "kdtree"):
            return backend
        if backend in names:
            return names[backend]()
    raise ValueError(
        fmt_error(
            "backend",
            '"auto", "torch", "kdtree", "faiss", "faiss-flat", "faiss-ivf", "faiss-hnsw" '
            "or a FaissFlat/FaissIVF/FaissHNSW object",
            backend,
        )
    )


# faiss' flat index beat the torch engine on the CPU only for large searches of more than
# 32 features (measurements: BENCHMARKS.md, "The engine's constants").
_FAISS_CPU_MIN_WORK = 2.5e10  # n * m * d: 20k x 20k at d = 64
_FAISS_CPU_MIN_DIM = 33


def resolve_auto_backend(device: torch.device, n: int, m: int, d: int, budget: int):
    """``backend="auto"``: what the benchmark showed fastest for this device and size.

    CUDA: the torch engine (faiss-cpu would copy to the host). CPU: exact faiss
    ``IndexFlatL2`` when faiss is installed, the search is large (n * m * d >= 2.5e10)
    with d > 32, and its float32 copies of the data fit in half of ``max_memory``
    (faiss allocates outside gpusmote's plan); otherwise the torch engine. Both are
    exact and return the same neighbours.
    """
    if device.type != "cpu" or d < _FAISS_CPU_MIN_DIM or n * m * d < _FAISS_CPU_MIN_WORK:
        return "torch"
    if 4 * d * (n + m) > budget // 2:
        return "torch"
    try:
        import faiss  # noqa: F401
    except ModuleNotFoundError:
        return "torch"
    return FaissFlat()


def self_search_pays(n: int, m: int, d: int, *, backend, device, max_memory) -> bool:
    """Whether searching all ``n`` rows of X for themselves costs less than searching
    ``m`` of them: where the torch engine's self-search computes half the products
    (`_torch.symmetric_candidates`; on the CPU, from ``SYMMETRIC_MIN_ROWS`` rows and
    ``SYMMETRIC_MIN_DIM`` features, or ``SYMMETRIC_WIDE_ROWS`` rows of
    ``SYMMETRIC_WIDE_DIM``: `_memory.symmetric_pays`), it pays when more than half the
    rows are asked for. Callers then keep the rows they need."""
    dev = resolve_device(device)
    if 2 * m <= n or not symmetric_pays(n, d, dev):
        return False
    spec = resolve_backend(backend)
    if spec == "auto":
        spec = resolve_auto_backend(dev, n, n, d, resolve_budget(max_memory, dev))
    return spec == "torch"
