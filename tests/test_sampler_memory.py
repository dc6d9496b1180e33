"""The samplers' working memory stays within ``max_memory``, whatever the input's dtype.

Outside the budget are the output, and one copy of the input's rows in the input's own
dtype (a class's rows, as imbalanced-learn's ``X[y == c]``; a DataFrame's numbers). A
float64 copy of the whole input (integers and bools used to be converted at once: eight
times a uint8 image's size) must not escape it: integer rows are converted a tile or a
chunk at a time. Measured as the peak of numpy's allocations (tracemalloc) plus the
peak of torch's (the profiler's memory events): an upper bound of their joint peak.
"""

import tracemalloc

import numpy as np
import pytest
import torch

from gpusmote import ADASYN, SMOTE, BorderlineSMOTE
from gpusmote.under_sampling import EditedNearestNeighbours, NearMiss, TomekLinks
from tests.neighbors.test_memory import _peak_torch_bytes

BUDGET = 1 << 20


def _peak_bytes(fn, numpy=True):
    """(peak numpy bytes + peak torch CPU bytes allocated inside ``fn``, its result);
    with ``numpy=False`` torch's alone (tracemalloc also counts Python's own objects)."""
    if not numpy:
        return _peak_torch_bytes(fn)
    numpy_peak = []

    def traced():
        result = fn()
        # read before the profiler's events are tallied: their Python objects count too
        numpy_peak.append(tracemalloc.get_traced_memory()[1])
        return result

    tracemalloc.start()
    try:
        torch_peak, result = _peak_torch_bytes(traced)
    finally:
        tracemalloc.stop()
    return numpy_peak[0] + torch_peak, result


def _data(dtype, n=2000, d=200, minority=600):
    rng = np.random.default_rng(0)
    high = 2 if dtype is bool else 60
    X = rng.integers(0, high, (n, d))
    # the minority class sits apart, so that borderline rows and links exist at its edge
    X[:minority] += 3 if dtype is not bool else 0
    y = np.r_[np.ones(minority, int), np.zeros(n - minority, int)]
    return X.astype(dtype), y


SAMPLERS = {
    "SMOTE": lambda: SMOTE(random_state=0, max_memory=BUDGET),
    "Borderline-2": lambda: BorderlineSMOTE(kind="borderline-2", random_state=0, max_memory=BUDGET),
    "ADASYN": lambda: ADASYN(random_state=0, max_memory=BUDGET),
    "TomekLinks": lambda: TomekLinks(max_memory=BUDGET),
    "ENN": lambda: EditedNearestNeighbours(max_memory=BUDGET),
    "NearMiss-2": lambda: NearMiss(version=2, max_memory=BUDGET),
}


def _nbytes(a) -> int:
    return a.nbytes if isinstance(a, np.ndarray) else a.numel() * a.element_size()


@pytest.mark.parametrize("name", list(SAMPLERS))
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, bool, "tensor-int16", np.float32])
def test_input_is_never_copied_whole_into_float64(name, dtype):
    tensor = dtype == "tensor-int16"
    X, y = _data(np.int16 if tensor else dtype)
    if tensor:
        X, y = torch.from_numpy(X), torch.from_numpy(y)
    make = SAMPLERS[name]
    # warm-up: kernels, thread pools, lazy imports, the profiler's and tracemalloc's own
    _peak_bytes(lambda: make().fit_resample(X[::7], y[::7]))
    peak, (X_res, y_res) = _peak_bytes(lambda: make().fit_resample(X, y))
    outputs = _nbytes(X_res) + _nbytes(y_res)
    one_copy = _nbytes(X)
    whole_float64 = X.shape[0] * X.shape[1] * 8
    # a float64 copy of the whole input is 2x (int32) to 8x (uint8, bool) its size: it
    # would not fit this allowance
    assert whole_float64 >= 2 * one_copy
    assert peak <= outputs + one_copy + BUDGET + (1 << 20), (peak, outputs, one_copy)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_integer_rows_give_the_rows_of_their_float64_values(name):
    """Integers computed a chunk at a time in float64 give what float64 input gives
    (rounded toward zero into the input's dtype); uint8 differences never wrap."""
    X, y = _data(np.uint8)
    make = SAMPLERS[name]
    got_X, got_y = make().fit_resample(X, y)
    ref_X, ref_y = make().fit_resample(X.astype(np.float64), y)
    assert got_X.dtype == np.uint8
    np.testing.assert_array_equal(got_y, ref_y)
    np.testing.assert_array_equal(got_X, np.trunc(ref_X).astype(np.uint8))


def test_smote_on_integers_keeps_the_class_rows_as_integers():
    """The fitted graph holds the class's rows in their own dtype (a uint8 class stays
    uint8, not float64); `sample` draws more rows from it, as from float64 rows."""
    X, y = _data(np.uint8)
    s = SMOTE(random_state=0).fit(X, y)
    ref = SMOTE(random_state=0).fit(X.astype(np.float64), y)
    assert s._graphs[1][0].dtype == torch.uint8
    got_X, got_y = s.sample(50)
    ref_X, ref_y = ref.sample(50)
    np.testing.assert_array_equal(got_y, ref_y)
    np.testing.assert_array_equal(got_X, np.trunc(ref_X).astype(np.uint8))


@pytest.mark.parametrize("budget", [None, 64 << 10], ids=["held", "tiled"])
def test_farthest_rows_and_mean_distance_within_max_memory(budget):
    """NearMiss-2's farthest rows and KMeansSMOTE's mean pairwise distance hold the
    centred float64 rows only where they fit half of ``max_memory``; tiled, they give
    the same values (float64 reference: all pairwise distances, to 1e-12)."""
    from gpusmote.neighbors._farthest import farthest_distances, mean_pairwise_distance

    rng = np.random.default_rng(1)
    D = torch.from_numpy(rng.integers(0, 50, (900, 40)).astype(np.int16))
    Q = torch.from_numpy(rng.normal(20, 9, (300, 40)).astype(np.float32))
    full = torch.cdist(Q.double(), D.double())
    far = farthest_distances(D, Q, 4, budget)
    ref = full.topk(4, dim=1).values.flip(1)
    torch.testing.assert_close(far, ref, rtol=1e-12, atol=0)
    pairs = torch.cdist(D.double(), D.double())
    mean = mean_pairwise_distance(D, budget)
    assert mean == pytest.approx(float(pairs.sum()) / (900 * 899), rel=1e-12)
    _peak_bytes(lambda: farthest_distances(D[:50], Q[:5], 4, budget))  # warm-up
    # torch's allocations alone: the function makes no numpy arrays
    peak, _ = _peak_bytes(lambda: farthest_distances(D, Q, 4, budget), numpy=False)
    if budget is not None:
        assert peak <= budget + far.numel() * 8, peak


@pytest.mark.parametrize("name", list(SAMPLERS))
@pytest.mark.parametrize("budget", [None, 64 << 10], ids=["held", "tiled"])
def test_float64_rows_are_read_not_written(name, budget):
    """float64 rows are computed with where they lie (no conversion copy): centring and
    differencing them in place would write the user's array, or the rows shared by the
    classes of a multi-class call (NearMiss-2's minority rows, searched from each
    class in turn: the output must be that of each class alone)."""
    X, y = _data(np.float64, n=600, d=20, minority=150)
    if name in ("TomekLinks", "ENN", "NearMiss-2"):  # ADASYN finds nothing to do then
        y[-200:] = 2
    X_t = torch.from_numpy(X.copy())
    before = X.copy()
    sampler = SAMPLERS[name]().set_params(max_memory=budget)
    sampler.fit_resample(X, y)
    sampler.fit_resample(X_t, torch.from_numpy(y))
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(X_t.numpy(), before)
    if name.startswith("NearMiss"):
        sampler.fit_resample(X, y)
        both = sampler.sample_indices_
        for c in (0, 2):
            alone = SAMPLERS[name]().set_params(max_memory=budget, sampling_strategy={c: 150})
            alone.fit_resample(X, y)
            kept = alone.sample_indices_
            np.testing.assert_array_equal(np.sort(kept[y[kept] == c]), np.sort(both[y[both] == c]))
