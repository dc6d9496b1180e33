"""What hostile and new users tried (issue 27): each case either works or ends in one of
gpusmote's documented errors, naming the parameter, before any work is done.

The random battery is `tests/test_properties.py` (big-endian, numeric object and
autograd inputs joined its containers there); these are the cases one at a time.
"""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from gpusmote import SMOTE, RandomOverSampler
from gpusmote.data import BalancedBatchSampler, ResampledDataset
from gpusmote.exceptions import InvalidDataError
from gpusmote.under_sampling import RandomUnderSampler, TomekLinks

RNG = np.random.default_rng(27)
X = RNG.normal(size=(60, 3))
Y = np.r_[np.zeros(45, int), np.ones(15, int)]


# --- inputs that must work --------------------------------------------------------------
def test_requires_grad_tensors_are_read_detached():
    Xg = torch.tensor(X, requires_grad=True)
    X_res, y_res = SMOTE(random_state=0).fit_resample(Xg, torch.tensor(Y))
    plain, _ = SMOTE(random_state=0).fit_resample(torch.tensor(X), torch.tensor(Y))
    assert not X_res.requires_grad and X_res.grad_fn is None
    assert torch.equal(X_res, plain)
    for sampler in (RandomOverSampler(random_state=0), TomekLinks()):
        assert not sampler.fit_resample(Xg, torch.tensor(Y))[0].requires_grad
    assert Xg.requires_grad and Xg.grad is None  # the user's tensor untouched


def test_requires_grad_in_resampled_dataset():
    Xg = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    ds = ResampledDataset(Xg, torch.tensor(Y), seed=0)
    x_new, _ = ds[len(ds) - 1]  # a synthetic row
    assert not x_new.requires_grad and not ds[0][0].requires_grad


def test_big_endian_and_numeric_object_arrays_give_the_native_rows():
    expected, y_exp = SMOTE(random_state=0).fit_resample(X, Y)
    for X_in in (X.astype(">f8"), X.astype(object)):
        X_res, y_res = SMOTE(random_state=0).fit_resample(X_in, Y.astype(">i8"))
        assert X_res.dtype == np.float64 and X_res.dtype.isnative
        np.testing.assert_array_equal(X_res, expected)
        np.testing.assert_array_equal(y_res, y_exp)
    tomek = TomekLinks().fit_resample(X.astype(object), Y)[0]  # rows read, then kept
    assert tomek.dtype == np.float64
    np.testing.assert_array_equal(tomek, TomekLinks().fit_resample(X, Y)[0])
    be32 = X.astype(">f4")
    assert SMOTE(random_state=0).fit_resample(be32, Y)[0].dtype == np.float32
    rus = RandomUnderSampler(random_state=0)
    kept = rus.fit_resample(be32, Y)[0]
    assert kept.shape == (30, 3)
    np.testing.assert_array_equal(kept, X.astype(np.float32)[rus.sample_indices_])


# --- inputs that must be refused, before the search --------------------------------------
def _no_search_ran(excinfo) -> bool:
    return not any("gpusmote/neighbors" in str(entry.path) for entry in excinfo.traceback)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: torch.empty(60, 3, device="meta"), "`X` must be a tensor with data"),
        (
            lambda: torch.nested.nested_tensor([torch.ones(30, 3), torch.ones(30, 3)]),
            "`X` must be a regular (not nested) tensor",
        ),
        (lambda: X.astype(np.longdouble), "`X` must be float16, float32 or float64"),
    ],
    ids=["meta", "nested", "longdouble"],
)
def test_tensors_and_dtypes_without_rows_to_read(make, expected):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nested tensors' prototype warning
        X_bad = make()
    for sampler in (SMOTE(random_state=0), TomekLinks()):
        with pytest.raises(InvalidDataError, match=re.escape(expected)):
            sampler.fit_resample(X_bad, torch.tensor(Y))


@pytest.mark.parametrize("container", ["ndarray", "series"])
def test_tuple_labels_are_refused_before_the_search(container):
    y = np.empty(60, dtype=object)
    y[:] = [(0, 1) if v == 0 else (1, 0) for v in Y]
    if container == "series":
        pd = pytest.importorskip("pandas")
        y = pd.Series(y)
    with pytest.raises(InvalidDataError, match="`y` must be one scalar label per row") as info:
        SMOTE(random_state=0).fit_resample(X, y)
    assert _no_search_ran(info)


@pytest.mark.parametrize(
    "strategy, error, expected",
    [
        (float("nan"), ValueError, "should be in the range"),
        (lambda y: None, TypeError, "as a callable must return a dict"),
        ({1: 40.5}, ValueError, "a whole number of rows; got 40.5 for class 1"),
        ({1: float("nan")}, ValueError, "a whole number of rows; got nan"),
        ({1: "40"}, ValueError, "a whole number of rows; got '40'"),
    ],
    ids=["nan", "callable-None", "fraction", "nan-count", "str-count"],
)
def test_sampling_strategy_values_that_are_no_counts(strategy, error, expected):
    with pytest.raises(error, match=expected):
        SMOTE(sampling_strategy=strategy, random_state=0).fit_resample(X, Y)


def test_whole_float_counts_still_work():
    _, y_res = SMOTE(sampling_strategy={1: 40.0}, random_state=0).fit_resample(X, Y)
    assert int((y_res == 1).sum()) == 40


def test_nan_ratio_under_sampling():
    with pytest.raises(ValueError, match="should be in the range"):
        RandomUnderSampler(sampling_strategy=float("nan")).fit_resample(X, Y)


@pytest.mark.parametrize("factor", [float("nan"), float("inf"), -1.0])
def test_shrinkage_out_of_range_names_shrinkage_not_x(factor):
    with pytest.raises(ValueError, match="The shrinkage factor needs to be >= 0") as info:
        RandomOverSampler(shrinkage=factor, random_state=0).fit_resample(X, Y)
    assert "`X`" not in str(info.value)


@pytest.mark.parametrize("container", ["numpy", "tensor", "pandas"])
def test_shrinkage_on_integer_input_gives_float64_rows(container):
    """The smoothed bootstrap of integer rows is not wrapped or rounded back (uint8 -151
    used to become 105): the rows are those of the same data as float64."""
    Xu = RNG.integers(0, 255, size=(60, 3)).astype(np.uint8)
    ref, _ = RandomOverSampler(shrinkage=1.0, random_state=0).fit_resample(Xu.astype(float), Y)
    if container == "tensor":
        got = RandomOverSampler(shrinkage=1.0, random_state=0).fit_resample(
            torch.tensor(Xu.astype(np.int64)), torch.tensor(Y)
        )[0]
        assert got.dtype == torch.float64
        got = got.numpy()
    elif container == "pandas":
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(Xu.astype(np.int64), columns=["a", "b", "c"])
        got = RandomOverSampler(shrinkage=1.0, random_state=0).fit_resample(frame, Y)[0]
        assert list(got.dtypes) == [np.float64] * 3 and list(got.columns) == ["a", "b", "c"]
        got = got.to_numpy()
    else:
        got = RandomOverSampler(shrinkage=1.0, random_state=0).fit_resample(Xu, Y)[0]
        assert got.dtype == np.float64
    assert (ref < 0).any() or (ref > 255).any()  # the case that wrapped around before
    np.testing.assert_allclose(got, ref, rtol=0, atol=0)


# --- BalancedBatchSampler ---------------------------------------------------------------
LABELS = [0] * 90 + [1] * 8 + [2] * 2


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), "1", None])
def test_batch_sampler_refuses_weights_that_are_no_shares(weight):
    with pytest.raises(ValueError, match="`class_weights` must be finite, non-negative"):
        BalancedBatchSampler(LABELS, 10, class_weights={0: 1, 1: weight, 2: 1})


def test_batch_sampler_refuses_fewer_slots_than_classes():
    with pytest.raises(ValueError, match="`batch_size` must be at least the number of classes"):
        BalancedBatchSampler(LABELS, 2)
    # leaving a class out by weight 0 makes it fit
    batches = list(BalancedBatchSampler(LABELS, 2, class_weights={0: 1, 1: 1, 2: 0}))
    assert all(sorted(LABELS[i] for i in b) == [0, 1] for b in batches)


def test_batch_sampler_draws_a_small_positive_weight_in_every_batch():
    batches = list(BalancedBatchSampler(LABELS, 10, class_weights={0: 1000, 1: 1, 2: 0.5}))
    for batch in batches:
        classes = [LABELS[i] for i in batch]
        assert len(batch) == 10 and {0, 1, 2} <= set(classes)


# --- sparse formats and dtypes ----------------------------------------------------------
def _sparse_data():
    sp = pytest.importorskip("scipy.sparse")
    dense = np.ceil(RNG.random((60, 6)) * 5) * (RNG.random((60, 6)) < 0.4)
    return sp, dense


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float32])
def test_scipy_sparse_keeps_its_dtype_as_dense_input_does(dtype):
    sp, dense = _sparse_data()
    Xs = sp.csr_matrix(dense.astype(dtype))
    for make in (lambda: SMOTE(random_state=0), lambda: TomekLinks()):
        got = make().fit_resample(Xs, Y)[0]
        want = make().fit_resample(dense.astype(dtype), Y)[0]
        assert got.dtype == want.dtype == np.dtype(dtype) and sp.issparse(got)
        np.testing.assert_array_equal(got.toarray(), want)


@pytest.mark.parametrize("layout", ["csr", "csc", "coo"])
def test_torch_sparse_comes_back_in_its_layout_and_dtype(layout):
    _, dense = _sparse_data()
    for dtype in (torch.float64, torch.int64):
        t = torch.tensor(dense, dtype=dtype)
        t = t.to_sparse() if layout == "coo" else getattr(t, f"to_sparse_{layout}")()
        for make in (lambda: SMOTE(random_state=0), lambda: TomekLinks()):
            got = make().fit_resample(t, torch.tensor(Y))[0]
            want = make().fit_resample(torch.tensor(dense, dtype=dtype), torch.tensor(Y))[0]
            assert got.layout == t.layout and got.dtype == dtype
            assert torch.equal(got.to_dense(), want)


LEAN = textwrap.dedent(
    """
    import sys, warnings
    for m in ("scipy", "sklearn"):
        sys.modules[m] = None  # import scipy -> ImportError: the lean install
    warnings.simplefilter("ignore")
    import numpy as np, torch
    from gpusmote import SMOTE
    from gpusmote.under_sampling import TomekLinks
    data = np.load(sys.argv[1])
    dense, y = torch.tensor(data["X"]), torch.tensor(data["y"])
    for layout in ("csr", "csc", "coo"):
        t = dense.to_sparse() if layout == "coo" else getattr(dense, "to_sparse_" + layout)()
        for make in (lambda: SMOTE(random_state=0), TomekLinks):
            got = make().fit_resample(t, y)[0]
            assert got.layout == t.layout, (layout, got.layout)
            np.save(sys.argv[2] + f"-{layout}-{type(make()).__name__}.npy", got.to_dense().numpy())
    print("lean ok")
    """
)


def test_torch_sparse_without_scipy(tmp_path):
    """The lean install (torch and numpy only) takes torch sparse tensors: the torch
    code that CUDA runs, on the CPU, with the rows the scipy path gives."""
    _, dense = _sparse_data()
    np.savez(tmp_path / "in.npz", X=dense, y=Y)
    out = str(tmp_path / "out")
    run = subprocess.run(
        [sys.executable, "-c", LEAN, str(tmp_path / "in.npz"), out],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "lean ok" in run.stdout, run.stderr[-2000:]
    for layout in ("csr", "csc", "coo"):
        for make in (lambda: SMOTE(random_state=0), TomekLinks):
            want = make().fit_resample(torch.tensor(dense).to_sparse_csr(), torch.tensor(Y))[0]
            got = np.load(out + f"-{layout}-{type(make()).__name__}.npy")
            np.testing.assert_allclose(got, want.to_dense().numpy(), rtol=1e-12, atol=0)
