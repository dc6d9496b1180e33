"""One sampler instance used from several threads at once.

`sample` / `iter_samples` on one fitted instance: every call's draws are one
contiguous piece of the stream, so the blocks are those of some sequential order of
the calls. `fit` / `fit_resample` on one instance run one at a time: each call returns
its own data's rows. The thread switch interval is shortened so that a race, where
there is one, shows in every run rather than by chance.
"""

import sys
import threading

import numpy as np
import pytest
import torch

from gpusmote import SMOTE

from .test_common import SAMPLERS as OVER
from .test_common import _make
from .under_sampling.test_common_under import UNDER


@pytest.fixture(autouse=True)
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _together(calls):
    """Run the callables in threads released at once; their results, in call order."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def work(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _data(seed=0, n=(400, 60)):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(2 * i, 1, (m, 4)) for i, m in enumerate(n)])
    X[:, 3] = np.round(X[:, 3])  # SMOTENC's categorical column
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    return X.astype(np.float32), y


def _positions(blocks, sequential):
    """Which sequential block each block is (-1: none of them)."""
    out = []
    for block in blocks:
        hits = [i for i, ref in enumerate(sequential) if np.array_equal(block, ref)]
        out.append(hits[0] if hits else -1)
    return out


def _seeded(random_state):
    if random_state == "generator":
        return torch.Generator().manual_seed(5)
    return random_state


@pytest.mark.parametrize("random_state", [0, "generator"])
def test_sample_from_threads_gives_the_blocks_of_a_sequential_order(random_state):
    X, y = _data()
    n, calls = 3000, 4
    reference = SMOTE(random_state=_seeded(random_state), device="cpu").fit(X, y)
    sequential = [reference.sample(n)[0] for _ in range(calls + 1)]
    for _trial in range(8):
        fitted = SMOTE(random_state=_seeded(random_state), device="cpu").fit(X, y)
        blocks = _together([lambda s=fitted: s.sample(n)[0]] * calls)
        assert sorted(_positions(blocks, sequential)) == list(range(calls))
        # the stream goes on after them as it would after the calls one by one
        np.testing.assert_array_equal(fitted.sample(n)[0], sequential[calls])


def test_iter_samples_from_threads_gives_whole_chunks_of_the_stream():
    """A chunk is one `sample` call: chunks of two threads' iterators interleave, each
    is a piece of the stream."""
    X, y = _data(1)
    reference = SMOTE(random_state=3, device="cpu").fit(X, y)
    sequential = [reference.sample(500)[0] for _ in range(8)]
    for _trial in range(4):
        fitted = SMOTE(random_state=3, device="cpu").fit(X, y)
        runs = _together(
            [lambda s=fitted: [c[0] for c in s.iter_samples(2000, chunk_size=500)]] * 2
        )
        chunks = runs[0] + runs[1]
        assert sorted(_positions(chunks, sequential)) == list(range(8))


def test_sample_while_another_thread_refits_sees_one_fit():
    """`sample` during a `fit` on other data draws from one fit's graph or the other's,
    never a mix (a fit replaces the graphs, the data and the stream together)."""
    Xa, ya = _data(2)
    Xb = Xa + np.float32(50.0)
    fitted = SMOTE(random_state=0, device="cpu").fit(Xa, ya)
    for _trial in range(6):
        fitted.fit(Xa, ya)
        new, _ = _together([lambda: fitted.sample(2000), lambda: fitted.fit(Xb, ya)])[0]
        low = (new[:, 0] < 25).all()
        high = (new[:, 0] > 25).all()
        assert low or high


def _build(cls):
    params = {}
    names = cls().get_params() if cls.__name__ != "SMOTENC" else {"random_state": 0}
    if "random_state" in names:
        params["random_state"] = 0
    if "device" in names:
        params["device"] = "cpu"
    return _make(cls, **params)


@pytest.mark.filterwarnings("ignore:BorderlineSMOTE. no row of class")
@pytest.mark.parametrize("cls", OVER + UNDER, ids=lambda c: c.__name__)
def test_fit_resample_on_one_instance_from_threads_returns_each_calls_own_rows(cls):
    """Two threads, other data and other class counts, one instance: each result is what
    that call gives alone (the calls run one at a time)."""
    data = [_data(0, (150, 40, 30)), _data(1, (90, 60))]
    expected = [_build(cls).fit_resample(X, y) for X, y in data]
    shared = _build(cls)
    for _trial in range(3):
        got = _together([lambda X=X, y=y: shared.fit_resample(X, y) for X, y in data])
        for (X_res, y_res), (X_exp, y_exp) in zip(got, expected, strict=True):
            np.testing.assert_array_equal(np.asarray(y_res), np.asarray(y_exp))
            np.testing.assert_array_equal(np.asarray(X_res), np.asarray(X_exp))


def test_threads_for_restores_the_saved_count_inside_one_thread(two_threads):
    from gpusmote._device import cpu_workers, one_thread, threads_for

    cpu = torch.device("cpu")
    with one_thread(True, cpu):
        assert torch.get_num_threads() == 1 and cpu_workers() == 2
        with threads_for(False, cpu):  # a large search inside a small sampler call
            assert torch.get_num_threads() == 2
            with threads_for(True, cpu):
                assert torch.get_num_threads() == 2  # nested: the outer rule stands
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with threads_for(False, cpu):  # outside any one-thread block: nothing changes
        assert torch.get_num_threads() == 2


def test_small_inputs_run_on_one_thread_but_estimators_keep_the_callers(two_threads):
    """A sampler call on a small CPU input runs its torch work on one thread; one that
    runs an estimator given as a parameter leaves the caller's setting, which that
    estimator's OpenMP code sees too."""
    from gpusmote.under_sampling import ClusterCentroids

    seen = []

    class Recording:
        """A KMeans stand-in that records torch's thread count when it runs."""

        def __init__(self, n_clusters=8):
            self.n_clusters = n_clusters

        def get_params(self, deep=True):
            return {"n_clusters": self.n_clusters}

        def set_params(self, **params):
            self.__dict__.update(params)
            return self

        def fit(self, X, y=None):
            seen.append(torch.get_num_threads())
            X = np.asarray(X)
            self.cluster_centers_ = X[: self.n_clusters].copy()
            self.labels_ = np.arange(len(X)) % self.n_clusters
            return self

        def predict(self, X):
            return np.arange(len(X)) % self.n_clusters

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (rng.random(300) < 0.2).astype(int)
    ClusterCentroids(estimator=Recording(), device="cpu").fit_resample(X, y)
    assert seen and set(seen) == {2}

    import gpusmote.over_sampling._smote as smote_module

    inside = []
    original = smote_module.interpolate_into

    def spy(*args, **kwargs):
        inside.append(torch.get_num_threads())
        return original(*args, **kwargs)

    smote_module.interpolate_into = spy
    try:
        SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    finally:
        smote_module.interpolate_into = original
    assert inside == [1] and torch.get_num_threads() == 2
