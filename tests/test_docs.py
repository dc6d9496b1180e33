"""The documentation builds clean: Sphinx with warnings as errors, the API reference from
the docstrings, the gallery running every example. Needs the ``docs`` extra (the test
extra includes it); skipped, and shown as skipped, without Sphinx."""

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"):
        pytest.importorskip(module, reason='needs the docs extra: pip install -e ".[docs]"')
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q"]
        + ["-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    html = tmp_path / "html"
    for page in ("index.html", "user_guide.html", "api.html", "auto_examples/index.html"):
        assert (html / page).is_file(), page
    smote = (html / "generated" / "gpusmote.SMOTE.html").read_text()
    assert "k_neighbors" in smote and "random_state" in smote  # the filled-in parameters
    assert (html / "auto_examples" / "plot_fraud_end_to_end.html").is_file()
