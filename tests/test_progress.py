"""Progress bars: the engine reports each tile it finishes, the interpolation each chunk
of rows, to the bar of the call that asked for one."""

import numpy as np
import pytest
import torch

import gpusmote._progress as progress
from gpusmote import SMOTE
from gpusmote.neighbors import kneighbors
from gpusmote.under_sampling import TomekLinks

pytest.importorskip("tqdm")


class Recorder:
    def __init__(self):
        self.total, self.n, self.updates, self.names = 0, 0, [], []

    def refresh(self):
        pass

    def update(self, n):
        self.n += n
        self.updates.append(n)

    def set_description(self, name, refresh=True):
        self.names.append(name)


@pytest.fixture
def recorder(monkeypatch):
    bar = Recorder()
    monkeypatch.setattr(progress, "_bar", lambda: bar)
    return bar


def test_the_search_advances_tile_by_tile(recorder):
    X = torch.randn(3000, 8, dtype=torch.float64)
    kneighbors(X, 5, device="cpu", backend="torch", max_memory="2MiB")
    assert recorder.total == recorder.n == 3000
    assert len(recorder.updates) > 3  # it moves during the search, not once at the end
    assert recorder.names == ["neighbour search"]


def test_smote_reports_its_searches_and_its_rows(recorder):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 4))
    y = np.r_[np.zeros(400, int), np.ones(100, int)]
    SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    assert recorder.total == recorder.n == 100 + 300  # minority rows searched, rows written
    assert recorder.names == ["neighbour search", "generation"]


def test_progress_true_draws_a_bar_and_false_nothing(capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.r_[np.zeros(250, int), np.ones(50, int)]
    out = SMOTE(random_state=0, device="cpu").fit_resample(X, y, progress=True)
    err = capsys.readouterr().err
    assert "neighbour search" in err and "generation" in err and "50/250" in err
    same = SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(out[0], same[0])  # the bar changes nothing
    TomekLinks(device="cpu").fit_resample(X, y, progress="auto")  # not a terminal here
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="`progress` must be"):
        SMOTE(device="cpu").fit_resample(X, y, progress="sometimes")


def test_no_bar_no_cost():
    assert progress._bar() is None
    progress.expect(5)
    progress.advance(5)
    progress.phase("x")  # no bar: nothing happens
