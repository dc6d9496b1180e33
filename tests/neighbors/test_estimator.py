import numpy as np
import pytest
import torch

from gpusmote.exceptions import NotFittedError
from gpusmote.neighbors import FaissIVF, NearestNeighbors

from .reference import naive_kneighbors

X = np.random.default_rng(0).normal(size=(200, 5))


def test_numpy_in_numpy_out_and_self_exclusion():
    nn = NearestNeighbors(n_neighbors=4, device="cpu").fit(X)
    dist, ind = nn.kneighbors()
    assert isinstance(dist, np.ndarray) and isinstance(ind, np.ndarray)
    np.testing.assert_array_equal(ind, naive_kneighbors(X, 4)[1])
    # scikit-learn's convention: explicit queries are not excluded from themselves
    ind2 = nn.kneighbors(X[:3], n_neighbors=2, return_distance=False)
    assert ind2[:, 0].tolist() == [0, 1, 2]
    assert nn.n_samples_fit_ == 200 and nn.n_features_in_ == 5
    assert nn.backend_ == "torch" and nn.device_ == torch.device("cpu")


def test_tensor_in_tensor_out(device):
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    nn = NearestNeighbors(n_neighbors=3).fit(Xt)
    dist, ind = nn.kneighbors()
    assert isinstance(ind, torch.Tensor) and ind.device.type == device.type
    assert dist.dtype == torch.float32
    ind_np = nn.kneighbors(X[:5].astype(np.float32), return_distance=False)
    assert isinstance(ind_np, np.ndarray)


def test_matches_the_float64_reference_in_scikit_learns_format():
    """Neighbours and graphs against the naive float64 reference (tolerance: float64
    rounding of a direct sum, 1e-12 relative); scikit-learn only for the format. Its
    brute force computes |x|^2 - 2x.y + |y|^2 with the machine's BLAS, so its
    self-distances are ~3e-8 on some CPUs and exact zeros on others: its values are
    compared at 1e-6, never at the reference's tolerance."""
    sk = pytest.importorskip("sklearn.neighbors")
    ours = NearestNeighbors(n_neighbors=5, device="cpu").fit(X)
    dist, ind = ours.kneighbors()
    ref_d, ref_i = naive_kneighbors(X, 5)
    np.testing.assert_array_equal(ind, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-12, atol=0)
    # explicit queries: each row is its own nearest, at distance exactly 0
    q_d, q_i = naive_kneighbors(X, 5, Y=X[:20], exclude_self=False)
    assert (q_d[:, 0] == 0).all()
    # the (k+1)-th distance is far from the k-th: no neighbour set is a rounding call
    wide = naive_kneighbors(X, 6, Y=X[:20], exclude_self=False)[0]
    assert (wide[:, 5] - wide[:, 4]).min() > 1e-6
    theirs = sk.NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X)
    for mode, values in (("connectivity", np.ones_like(q_d)), ("distance", q_d)):
        graph = ours.kneighbors_graph(X[:20], mode=mode)
        expected = np.zeros((20, len(X)))
        np.put_along_axis(expected, q_i, values, axis=1)
        np.testing.assert_allclose(graph.toarray(), expected, rtol=1e-12, atol=0)
        their = theirs.kneighbors_graph(X[:20], mode=mode)
        assert type(graph) is type(their) and graph.shape == their.shape
        assert graph.dtype == their.dtype
        np.testing.assert_array_equal(graph.indptr, their.indptr)
        np.testing.assert_array_equal(np.sort(graph.indices), np.sort(their.indices))
        np.testing.assert_allclose(graph.toarray(), their.toarray(), rtol=0, atol=1e-6)


def test_torch_graph(device):
    Xt = torch.as_tensor(X, device=device)
    graph = NearestNeighbors(n_neighbors=2).fit(Xt).kneighbors_graph(mode="distance")
    assert graph.layout == torch.sparse_csr and graph.shape == (200, 200)
    dense = graph.to_dense()
    assert (dense > 0).sum(1).eq(2).all()


def test_params_and_clone():
    base = pytest.importorskip("sklearn.base")
    nn = NearestNeighbors(n_neighbors=7, backend=FaissIVF(nlist=8), max_memory="64MiB")
    params = nn.get_params()
    assert params["n_neighbors"] == 7 and params["backend__nlist"] == 8
    twin = base.clone(nn)
    assert twin is not nn and twin.get_params()["backend"].nlist == 8
    assert twin.get_params()["backend"] is not nn.backend
    twin.set_params(n_neighbors=3, backend__nprobe=2)
    assert twin.n_neighbors == 3 and twin.backend.nprobe == 2
    with pytest.raises(ValueError, match="Invalid parameter 'k'"):
        nn.set_params(k=3)
    assert repr(NearestNeighbors(n_neighbors=3)) == "NearestNeighbors(n_neighbors=3)"


def test_unfitted_and_bad_mode():
    with pytest.raises(NotFittedError, match="not fitted"):
        NearestNeighbors().kneighbors(X)
    nn = NearestNeighbors(n_neighbors=2, device="cpu").fit(X)
    with pytest.raises(ValueError, match="`mode` must be"):
        nn.kneighbors_graph(mode="weights")


def test_works_as_imbalanced_learn_smote_neighbours():
    """imbalanced-learn's own SMOTE gives the same rows with our neighbours object."""
    over = pytest.importorskip("imblearn.over_sampling")
    rng = np.random.default_rng(1)
    Xs = rng.normal(size=(300, 4))
    y = np.r_[np.zeros(260, int), np.ones(40, int)]
    ref = over.SMOTE(random_state=0, k_neighbors=5).fit_resample(Xs, y)
    ours = over.SMOTE(
        random_state=0, k_neighbors=NearestNeighbors(n_neighbors=6, device="cpu")
    ).fit_resample(Xs, y)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12)
    np.testing.assert_array_equal(ours[1], ref[1])
