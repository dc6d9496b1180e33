"""``gpusmote resample``'s files (issue #27)."""

from pathlib import Path

import numpy as np
import pytest

from gpusmote import SMOTE
from gpusmote.cli import main

pd = pytest.importorskip("pandas")
ROOT = Path(__file__).resolve().parents[1]


def _fails(capsys, argv, *words, code=2):
    """``main(argv)`` fails with ``code`` and one stderr line holding ``words``."""
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def _files(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def _table(n=60, minority=12, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "target": [0] * (n - minority) + [1] * minority,
        }
    )


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "in.csv"
    _table().to_csv(path, index=False)
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Resampling must not start: the checks come before it."""

    def refuse(self, X, y, **kwargs):
        raise AssertionError("resampled before the output format was checked")

    monkeypatch.setattr(SMOTE, "fit_resample", refuse)


# -- 2. identifiers, labels and integers as written ------------------------------------


@pytest.mark.parametrize(
    "columns",
    [
        {"f": np.linspace(0, 1, 30), "i": np.arange(30, dtype=np.int64) + 2**53 + 1},
        {"i": np.arange(30, dtype=np.int64) + 2**60 + 1},
        {"u": np.arange(30, dtype=np.uint64) + np.uint64(2**63 + 1), "f": np.ones(30)},
        {"f": np.linspace(0, 1, 30), "n": pd.array(np.arange(30) + 2**53 + 1, dtype="Int64")},
    ],
    ids=["float+int64", "int64", "uint64", "nullable"],
)
def test_a_frames_original_rows_keep_exact_integers(columns):
    """The library: a DataFrame's own rows come back exactly, above 2**53 too."""
    X = pd.DataFrame(columns)
    before = X.copy()
    y = np.array([0] * 22 + [1] * 8)
    X_res, y_res = SMOTE(k_neighbors=3, random_state=0).fit_resample(X, y)
    pd.testing.assert_frame_equal(X_res.iloc[:30], X, check_exact=True)
    assert list(X_res.dtypes) == list(X.dtypes) and len(X_res) == 44
    pd.testing.assert_frame_equal(X, before, check_exact=True)  # the input untouched
