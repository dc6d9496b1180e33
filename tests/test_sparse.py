"""Sparse input: scipy sparse matrices and torch sparse tensors on every sampler.

The samplers with a sparse path (`BaseSampler._sparse_native`) keep the rows sparse
from the search to the output; the others work on a dense copy, with imbalanced-
learn's DataConversionWarning. Either way the output is in the input's format and
its rows equal imbalanced-learn's on the same sparse input (compared as dense arrays,
at float64 round-off: the data have no tied distances). The sparse search is checked
against a float64 dense reference, with duplicate rows and ties by lower index.
"""

import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from imblearn import combine as imb_combine
from imblearn import over_sampling as imb_over
from imblearn import under_sampling as imb_under
from sklearn.exceptions import DataConversionWarning

import gpusmote.combine
import gpusmote.over_sampling
import gpusmote.under_sampling
from gpusmote import SMOTE
from gpusmote._io import _sparse
from gpusmote.neighbors import NearestNeighbors, collect_stats, kneighbors
from gpusmote.under_sampling import TomekLinks

# the tests build torch sparse CSR tensors themselves; torch calls that support beta
pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")

ALL = [
    (pkg, imb, name)
    for pkg, imb in (
        (gpusmote.over_sampling, imb_over),
        (gpusmote.under_sampling, imb_under),
        (gpusmote.combine, imb_combine),
    )
    for name in pkg.__all__
]
NATIVE = {
    "SMOTE",
    "ADASYN",
    "BorderlineSMOTE",
    "RandomOverSampler",
    "RandomUnderSampler",
    "TomekLinks",
    "EditedNearestNeighbours",
    "RepeatedEditedNearestNeighbours",
    "AllKNN",
    "NeighbourhoodCleaningRule",
    "SMOTEENN",
    "SMOTETomek",
}
# rows that differ from imbalanced-learn's for reasons of their own, not sparsity:
# the clustering (gpusmote's k-means) and SMOTEN's categories (a one-hot matrix)
OWN_REFERENCE = {"ClusterCentroids", "KMeansSMOTE"}


def _sparse_data(n=(300, 90), d=60, density=0.15, seed=0):
    rng = np.random.default_rng(seed)
    blocks = []
    for i, m in enumerate(n):
        block = sp.random(m, d, density=density, random_state=seed + i, format="csr")
        block.data = block.data * (1 + i) + i  # classes apart, values continuous
        blocks.append(block)
    X = sp.vstack(blocks).tocsr()
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    order = rng.permutation(len(y))
    return X[order], y[order]


def _make(cls, name):
    params = inspect.signature(cls).parameters
    kw = {"random_state": 0} if "random_state" in params else {}
    if name == "SMOTENC":
        return cls([0], **kw)
    if name == "KMeansSMOTE":
        kw["cluster_balance_threshold"] = 0.0
    return cls(**kw)


@pytest.mark.parametrize("pkg, imb, name", ALL, ids=[n for _, _, n in ALL])
def test_every_sampler_takes_sparse_input_and_gives_imblearns_rows(pkg, imb, name):
    X, y = _sparse_data()
    if name == "SMOTEN":  # categories: a one-hot matrix, as a text pipeline gives
        X = sp.csr_matrix((X.toarray() > 0.8).astype(np.float64))
    if name == "SMOTENC":
        X = sp.hstack([sp.csr_matrix(np.arange(X.shape[0])[:, None] % 3), X]).tocsr()
    before = X.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X_res, y_res = _make(getattr(pkg, name), name).fit_resample(X, y)
    converted = [w for w in caught if issubclass(w.category, DataConversionWarning)]
    assert bool(converted) is (name not in NATIVE), [str(w.message) for w in caught]
    assert (X != before).nnz == 0  # the input is untouched
    assert isinstance(X_res, sp.csr_matrix) and X_res.shape[0] == len(y_res)
    if name in OWN_REFERENCE:
        X_ref, y_ref = _make(getattr(pkg, name), name).fit_resample(X.toarray(), y)
        if name == "ClusterCentroids":  # sparse input votes "hard" by default, as imblearn
            X_ref, y_ref = getattr(pkg, name)(random_state=0, voting="hard").fit_resample(
                X.toarray(), y
            )
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataConversionWarning)
            X_ref, y_ref = _make(getattr(imb, name), name).fit_resample(X, y)
        X_ref = X_ref.toarray()
    np.testing.assert_allclose(X_res.toarray(), X_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(y_res, y_ref)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array"])
@pytest.mark.parametrize("cls", [SMOTE, TomekLinks], ids=lambda c: c.__name__)
def test_scipy_formats_come_back_as_given(fmt, cls):
    X, y = _sparse_data(n=(120, 40))
    X_in = sp.csr_array(X) if fmt == "csr_array" else X.asformat(fmt)
    X_res, _ = (cls(random_state=0) if cls is SMOTE else cls()).fit_resample(X_in, y)
    assert type(X_res) is type(X_in) and X_res.format == X_in.format


@pytest.mark.parametrize("layout", [torch.sparse_csr, torch.sparse_coo], ids=["csr", "coo"])
@pytest.mark.parametrize("cls", [SMOTE, TomekLinks], ids=lambda c: c.__name__)
def test_torch_sparse_tensors_come_back_as_given_on_their_device(layout, cls, device):
    X, y = _sparse_data(n=(120, 40))
    dense = torch.from_numpy(X.toarray()).to(device)
    X_in = dense.to_sparse_csr() if layout == torch.sparse_csr else dense.to_sparse()
    make = (lambda: cls(random_state=0)) if cls is SMOTE else cls
    X_res, y_res = make().fit_resample(X_in, torch.from_numpy(y).to(device))
    assert X_res.layout == layout and X_res.device == dense.device
    X_ref, y_ref = make().fit_resample(X, y)
    np.testing.assert_allclose(X_res.to_dense().cpu().numpy(), X_ref.toarray(), rtol=1e-12)
    np.testing.assert_array_equal(y_res.cpu().numpy(), y_ref)


def test_smote_new_rows_stay_sparse():
    X, y = _sparse_data(n=(400, 60), d=500, density=0.01)
    X_res, _ = SMOTE(random_state=0).fit_resample(X, y)
    new = X_res[X.shape[0] :]
    assert new.nnz <= 2 * 0.01 * 500 * new.shape[0] * 2  # at most two rows' columns each
    dense, _ = SMOTE(random_state=0).fit_resample(X.toarray(), y)
    np.testing.assert_allclose(new.toarray(), dense[X.shape[0] :], rtol=1e-15, atol=0)
    assert not (new.data == 0).any()  # zeros are not stored


def test_fit_then_sample_on_sparse_input():
    X, y = _sparse_data(n=(200, 50))
    smote = SMOTE(random_state=0).fit(X, y)
    rows, labels = smote.sample(25)
    assert isinstance(rows, sp.csr_matrix) and rows.shape == (25, X.shape[1])
    assert (labels == 1).all()


# the search -----------------------------------------------------------------------------
def _reference(D, Q, k, exclude_own):
    """float64 dense distances, ties by lower index."""
    d2 = ((Q[:, None, :] - D[None, :, :]) ** 2).sum(-1)
    if exclude_own is not None:
        d2[np.arange(len(Q)), exclude_own] = np.inf
    order = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return np.sqrt(np.take_along_axis(d2, order, 1)), order


@pytest.mark.parametrize("k", [1, 3, 8])
def test_sparse_search_equals_the_float64_reference_with_duplicates(k):
    rng = np.random.default_rng(2)
    X = sp.random(400, 120, density=0.05, random_state=3, format="csr")
    X = sp.vstack([X, X[:40], X[:10]]).tocsr()  # duplicates: ties at distance 0
    X.data = np.round(X.data * 4) / 4  # a grid: many tied distances
    D = X.toarray()
    with collect_stats() as stats:
        dist, ind = kneighbors(X, k, device="cpu")
    ref_d, ref_i = _reference(D, D, k, np.arange(len(D)))
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.numpy(), ref_d, rtol=1e-12, atol=1e-12)
    assert stats[-1].backend == "torch-sparse" and stats[-1].rechecked > 0
    rows = rng.choice(len(D), 60, replace=False)
    ind_r = kneighbors(X, k, rows=rows, return_distance=False, device="cpu")
    np.testing.assert_array_equal(ind_r.numpy(), ref_i[rows])
    Y = X[rows[:20]]
    dist_y, ind_y = kneighbors(X, k, Y=Y, device="cpu")
    ref_dy, ref_iy = _reference(D, Y.toarray(), k, None)
    np.testing.assert_array_equal(ind_y.numpy(), ref_iy)
    np.testing.assert_allclose(dist_y.numpy(), ref_dy, rtol=1e-12, atol=1e-12)


def test_sparse_search_with_wide_and_narrow_columns_and_small_tiles():
    rng = np.random.default_rng(4)
    X = sp.random(300, 50, density=0.1, random_state=5, format="csr")
    X.data *= 10.0 ** rng.integers(-3, 6, X.nnz)  # amounts next to fractions
    D = X.toarray()
    dist, ind = kneighbors(X, 4, device="cpu", max_memory=40_000)  # tiles of a few rows
    ref_d, ref_i = _reference(D, D, 4, np.arange(len(D)))
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.numpy(), ref_d, rtol=1e-9)


def test_nearest_neighbors_estimator_on_sparse_rows():
    X, _ = _sparse_data(n=(100, 30))
    nn = NearestNeighbors(n_neighbors=2, device="cpu").fit(X)
    assert nn.backend_ == "torch-sparse"
    ind = nn.kneighbors(return_distance=False)
    assert isinstance(ind, np.ndarray)
    _, ref = _reference(X.toarray(), X.toarray(), 2, np.arange(X.shape[0]))
    np.testing.assert_array_equal(ind, ref)
    with pytest.raises(ValueError, match='`backend` must be "auto" or "torch" for sparse input'):
        kneighbors(X, 1, backend="kdtree")


def test_a_dense_copy_too_large_is_refused_clearly(monkeypatch):
    monkeypatch.setattr(_sparse, "DENSIFY_LIMIT", 1000)
    X, y = _sparse_data(n=(100, 30))
    with pytest.raises(ValueError, match="NearMiss has no sparse path") as info:
        gpusmote.under_sampling.NearMiss().fit_resample(X, y)
    assert "100 x 60" in str(info.value) or "130 x 60" in str(info.value)
    SMOTE(random_state=0).fit_resample(X, y)  # a sparse path needs no dense copy


@pytest.mark.cuda
def test_sparse_search_on_cuda_equals_the_cpu():
    X, _ = _sparse_data(n=(500, 100))
    Xt = torch.from_numpy(X.toarray()).cuda().to_sparse_csr()
    d_cpu, i_cpu = kneighbors(X, 5, device="cpu")
    d_gpu, i_gpu = kneighbors(Xt, 5)
    np.testing.assert_array_equal(i_gpu.cpu().numpy(), i_cpu.numpy())
    np.testing.assert_allclose(d_gpu.cpu().numpy(), d_cpu.numpy(), rtol=1e-12)


def test_sparse_search_without_scikit_learns_product(monkeypatch):
    from gpusmote.neighbors import _sparse as engine

    X = sp.random(300, 80, density=0.1, random_state=8, format="csr")
    X = sp.vstack([X, X[:20]]).tocsr()
    D = X.toarray()
    with_it = kneighbors(X, 4, device="cpu", return_distance=False)
    monkeypatch.setattr(engine, "_to_dense_product", lambda: None)  # scipy's product instead
    dist, ind = kneighbors(X, 4, device="cpu", max_memory=100_000)  # several tiles, threads
    ref_d, ref_i = _reference(D, D, 4, np.arange(len(D)))
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_array_equal(with_it.numpy(), ref_i)
    np.testing.assert_allclose(dist.numpy(), ref_d, rtol=1e-12, atol=1e-12)


def test_float32_sparse_rows_are_imblearns_bit_for_bit():
    X, y = _sparse_data(n=(300, 80))
    X = X.astype(np.float32)
    ours, labels = SMOTE(random_state=0).fit_resample(X, y)
    theirs, their_labels = imb_over.SMOTE(random_state=0).fit_resample(X, y)
    assert ours.dtype == np.float32 and (ours != theirs).nnz == 0
    np.testing.assert_array_equal(labels, their_labels)


@pytest.fixture
def torch_paths(monkeypatch):
    """The torch code the CUDA path runs (products, row merges), run on the CPU."""
    monkeypatch.setattr(_sparse, "_TORCH_PATHS", True)


def test_the_cuda_code_paths_on_the_cpu_give_the_same_neighbours_and_rows(torch_paths):
    X, y = _sparse_data(n=(200, 60))
    X = sp.vstack([X, X[:15]]).tocsr()  # duplicates: the recheck path
    y = np.r_[y, y[:15]]
    D = X.toarray()
    rows = torch.from_numpy(X.toarray()).to_sparse_csr()  # tensor rows, not scipy-backed
    dist, ind = kneighbors(rows, 5, max_memory=200_000)
    ref_d, ref_i = _reference(D, D, 5, np.arange(len(D)))
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.numpy(), ref_d, rtol=1e-12, atol=1e-12)
    X_res, y_res = SMOTE(random_state=0).fit_resample(rows, torch.from_numpy(y))
    ref, _ = imb_over.SMOTE(random_state=0).fit_resample(X, y)
    np.testing.assert_allclose(X_res.to_dense().numpy(), ref.toarray(), rtol=1e-15, atol=0)
