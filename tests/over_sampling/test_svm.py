import re

import numpy as np
import pytest
import torch

from gpusmote import SVMSMOTE

imblearn_over = pytest.importorskip("imblearn.over_sampling")
svm = pytest.importorskip("sklearn.svm")


def _data(dtype=np.float64, seed=0, sizes=(300, 40, 30)):
    rng = np.random.default_rng(seed)
    X = np.concatenate(
        [rng.normal((i % 2) * 0.8 - (i // 2) * 0.8, 1, (n, 4)) for i, n in enumerate(sizes)]
    )
    y = np.concatenate([np.full(n, i) for i, n in enumerate(sizes)])
    order = rng.permutation(len(y))
    return X[order].astype(dtype), y[order]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strategy", ["auto", "minority", {1: 150, 2: 100}])
def test_same_rows_as_imbalanced_learn(strategy, dtype):
    X, y = _data(dtype)
    Xo, yo = SVMSMOTE(sampling_strategy=strategy, random_state=0, device="cpu").fit_resample(X, y)
    Xt, yt = imblearn_over.SVMSMOTE(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    np.testing.assert_allclose(Xo, Xt, rtol=1e-4 if dtype == np.float32 else 1e-7)
    np.testing.assert_array_equal(yo, yt)


def test_shared_random_state_and_given_svm():
    X, y = _data(seed=1, sizes=(200, 40))
    Xo, _ = SVMSMOTE(random_state=np.random.RandomState(3), device="cpu").fit_resample(X, y)
    Xt, _ = imblearn_over.SVMSMOTE(random_state=np.random.RandomState(3)).fit_resample(X, y)
    np.testing.assert_allclose(Xo, Xt, rtol=1e-12)
    linear = svm.SVC(kernel="linear", random_state=0)
    ours = SVMSMOTE(svm_estimator=linear, out_step=0.3, random_state=5, device="cpu")
    Xo, _ = ours.fit_resample(X, y)
    Xt, _ = imblearn_over.SVMSMOTE(svm_estimator=linear, out_step=0.3, random_state=5).fit_resample(
        X, y
    )
    np.testing.assert_allclose(Xo, Xt, rtol=1e-12)
    assert ours.svm_estimator_ is not linear and not hasattr(linear, "support_")


def test_torch_in_torch_out(device):
    X, y = _data(np.float32, seed=2)
    Xo, yo = SVMSMOTE(random_state=0).fit_resample(
        torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    )
    assert (
        Xo.device.type == device.type
        and Xo.dtype == torch.float32
        and yo.device.type == device.type
    )


def test_errors():
    X, y = _data(seed=3, sizes=(200, 40))

    class NoSupport:
        def fit(self, X, y):
            return self

        def predict(self, X):
            return np.zeros(len(X))

    with pytest.raises(RuntimeError, match="`svm_estimator` must expose a fitted `support_`"):
        SVMSMOTE(svm_estimator=NoSupport(), device="cpu").fit_resample(X, y)
    with pytest.raises(ValueError, match=re.escape("`out_step` must be a float in [0, 1]")):
        SVMSMOTE(out_step=1.5, device="cpu").fit_resample(X, y)
    with pytest.raises(
        TypeError, match="`svm_estimator` must be an estimator with fit and predict"
    ):
        SVMSMOTE(svm_estimator="svc", device="cpu").fit_resample(X, y)


def test_a_torch_generator_alone_decides_the_rows():
    """With a torch.Generator every draw, the Beta(10, 10) share of rows in danger
    included, comes from that generator: torch's global seed changes nothing."""
    X, y = _data(seed=2, sizes=(200, 40))
    runs = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        gen = torch.Generator().manual_seed(7)
        runs.append(SVMSMOTE(random_state=gen, device="cpu").fit_resample(X, y)[0])
    np.testing.assert_array_equal(runs[0], runs[1])
