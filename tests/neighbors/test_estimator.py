import numpy as np
import pytest
import torch

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


def test_matches_scikit_learn_and_its_graph():
    sk = pytest.importorskip("sklearn.neighbors")
    ours = NearestNeighbors(n_neighbors=5, device="cpu").fit(X)
    theirs = sk.NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X)
    d1, i1 = ours.kneighbors()
    d2, i2 = theirs.kneighbors()
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-10)
    for mode in ("connectivity", "distance"):
        g1 = ours.kneighbors_graph(X[:20], mode=mode)
        g2 = theirs.kneighbors_graph(X[:20], mode=mode)
        np.testing.assert_allclose(g1.toarray(), g2.toarray(), rtol=1e-10)


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
    with pytest.raises(RuntimeError, match="not fitted"):
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
