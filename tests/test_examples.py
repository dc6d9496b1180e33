"""Every script in examples/ runs (each is a page of the documentation's gallery)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))
NEEDS = {  # example -> modules it imports besides gpusmote, torch and numpy
    "plot_fraud_end_to_end.py": ("sklearn", "matplotlib"),
    "plot_compare_variants.py": ("sklearn", "matplotlib"),
    "plot_dask_parquet.py": ("dask", "pandas", "pyarrow"),
    "plot_sparse_text.py": ("sklearn", "imblearn", "matplotlib", "scipy"),
}


def test_the_gallery_has_every_task():
    names = {p.name for p in EXAMPLES}
    assert {
        "plot_fraud_end_to_end.py",
        "plot_compare_variants.py",
        "plot_embeddings_training.py",
        "plot_smote_batch.py",
        "plot_dask_parquet.py",
        "plot_sparse_text.py",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path):
    for module in NEEDS.get(path.name, ()):
        pytest.importorskip(module)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    run = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.strip()
    if path.name == "plot_sparse_text.py":  # sparse in, sparse out; more of the fraud found
        raw, smote = (float(v) for v in re.findall(r"fraud recall ([0-9.]+)", out))
        assert smote > raw
        assert "csr_matrix" in out
    if path.name == "plot_fraud_end_to_end.py":  # SMOTE finds more of the fraud
        raw, smote = (float(v) for v in re.findall(r"fraud recall ([0-9.]+)", out))
        assert smote > raw
    if path.name == "plot_dask_parquet.py":  # balanced
        after = re.search(r"after:  \[(\d+), (\d+)\]", out)
        assert after and after.group(1) == after.group(2)
