"""scripts/gpu_check.sh, dry-run on the CPU: every step runs and lands in the JSON.

The GPU run itself needs a lent CUDA machine (BENCHMARKS.md records it); this keeps the
script working between those runs, from a fresh clone.
"""

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("timeout") is None,
    reason="needs bash and coreutils' timeout",
)
def test_gpu_check_dry_run_on_the_cpu(tmp_path):
    env = dict(os.environ, GPU_CHECK_DEVICE="cpu", GPU_CHECK_SMOKE="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]  # this python3
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_check.sh"), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert result["exit_codes"] == {
        "floors": 0,
        "cuda_tests": 0,
        "neighbors": 0,
        "fused": 0,
        "neighbors_peers": 0,
        "smote": 0,
    }
    assert result["floors"]["matmul_fp32_gflops"] > 0 and result["floors"]["copy_device_gbs"] > 0
    suite = ET.parse(tmp_path / "out" / "cuda-tests.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) > 0 and int(suite.get("failures")) == 0  # cuda cases found
    rows = result["bench_neighbors_gpu"]["rows"]
    assert [r["n"] for r in rows] == [2000, 5000] and all(r["torch_s"] > 0 for r in rows)
    assert all(r["sklearn_s"] is None for r in rows)  # gpusmote alone in this step
    fused = result["bench_fused"]["rows"]  # the torch path, the kernel's precisions, peers
    modes = ["torch", "fused-ieee", "fused-tf32", "fused-bf16x3", "torch-cdist-topk", "keops"]
    assert [r["mode"] for r in fused] == modes
    assert len({r["indices"] for r in fused[:4]}) == 1  # the same neighbours in every mode
    assert fused[4]["agree"] == 1.0  # the straightforward torch path, on easy data
    (peer_row,) = result["bench_neighbors_peers"]["rows"]
    if peer_row["sklearn_s"] is not None:
        assert peer_row["agree"] == 1.0
    (smote_row,) = result["bench_smote"]["rows"]
    assert smote_row["gpusmote"]["rows"] == 2 * (smote_row["n"] - smote_row["minority"])
    if smote_row["imblearn"]["seconds"] is not None:
        assert smote_row["imblearn"]["hash"] == smote_row["gpusmote"]["hash"]  # same rows
    assert "== smote: exit 0" in (tmp_path / "out" / "gpu_check.log").read_text()
