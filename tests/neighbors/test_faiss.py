import numpy as np
import pytest
import torch

from gpusmote.neighbors import FaissHNSW, FaissIVF, kneighbors

from .reference import naive_kneighbors

pytest.importorskip("faiss")
pytestmark = pytest.mark.faiss


def _clustered(n, d, centers, seed):
    rng = np.random.default_rng(seed)
    c = rng.normal(scale=10.0, size=(centers, d))
    return (c[rng.integers(centers, size=n)] + rng.normal(size=(n, d))).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_faiss_flat_agrees_with_torch_and_reference(dtype):
    X = _clustered(2000, 16, 10, 0).astype(dtype)
    d_t, i_t = kneighbors(X, 6, backend="torch", device="cpu")
    d_f, i_f = kneighbors(X, 6, backend="faiss", device="cpu")
    assert torch.equal(i_t, i_f)
    assert torch.equal(d_t, d_f)  # both are re-measured the same way
    np.testing.assert_array_equal(i_f.numpy(), naive_kneighbors(X, 6)[1])


def test_faiss_flat_ties_duplicates_and_foreign_queries():
    g = np.stack(np.meshgrid(np.arange(6), np.arange(6)), -1).reshape(-1, 2).astype(np.float32)
    X = np.concatenate([g, g[:10]])  # duplicates and many ties
    for Y in (None, g[::3] + 0.5):
        _, i_f = kneighbors(X, 5, Y=Y, backend="faiss-flat", device="cpu")
        ref = naive_kneighbors(X, 5, Y)[1]
        np.testing.assert_array_equal(i_f.numpy(), ref)


@pytest.mark.parametrize(
    "backend", ["faiss-ivf", "faiss-hnsw", FaissIVF(nlist=32, nprobe=4), FaissHNSW(M=16)]
)
def test_approximate_indexes_reach_recall(backend):
    X = _clustered(20000, 32, 50, 1)
    k = 10
    exact = kneighbors(X, k, backend="torch", device="cpu", return_distance=False).numpy()
    dist, ind = kneighbors(X, k, backend=backend, device="cpu")
    hits = [len(set(a) & set(b)) for a, b in zip(exact, ind.numpy(), strict=True)]
    recall = np.sum(hits) / exact.size
    assert recall >= 0.9, recall
    # never the query itself, distances are true distances of the returned rows, sorted
    assert not (ind.numpy() == np.arange(len(X))[:, None]).any()
    true = np.linalg.norm(
        X[ind.numpy()].astype(np.float64) - X[:, None, :].astype(np.float64), axis=2
    )
    np.testing.assert_allclose(dist.numpy(), true, rtol=1e-6)
    assert (np.diff(dist.numpy(), axis=1) >= 0).all()


def test_faiss_parameters_are_validated():
    X = _clustered(500, 4, 3, 2)
    with pytest.raises(ValueError, match="`nlist` must be an integer in"):
        kneighbors(X, 3, backend=FaissIVF(nlist=0))
    with pytest.raises(TypeError, match="`M` must be an integer"):
        kneighbors(X, 3, backend=FaissHNSW(M="big"))


def test_auto_backend_rule():
    from gpusmote.neighbors import FaissFlat
    from gpusmote.neighbors._backend import resolve_auto_backend

    cpu, cuda, big = torch.device("cpu"), torch.device("cuda"), 256 * 2**20
    assert resolve_auto_backend(cpu, 5_000, 5_000, 64, big) == "torch"  # small search
    assert isinstance(resolve_auto_backend(cpu, 50_000, 50_000, 64, big), FaissFlat)
    assert isinstance(resolve_auto_backend(cpu, 20_000, 20_000, 64, big), FaissFlat)
    assert resolve_auto_backend(cpu, 50_000, 50_000, 16, big) == "torch"  # low d: a toss-up
    # faiss's host copies must fit in half the budget, else the planned torch engine
    assert resolve_auto_backend(cpu, 50_000, 50_000, 64, 2**20) == "torch"
    assert resolve_auto_backend(cuda, 50_000, 50_000, 64, big) == "torch"
