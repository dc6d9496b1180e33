"""The fused Triton kernel (`neighbors._triton`): without a GPU it runs under Triton's
interpreter (``TRITON_INTERPRET=1``), in a fresh process because Triton reads that
variable when a kernel is defined. The results must be the naive float64 reference's,
ties by lower index; on a card the same checks run with the compiled kernel."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("triton", reason='the Triton kernel needs triton: pip install -e ".[triton]"')

HERE = Path(__file__).resolve().parent

CHECK = r"""
import json, sys
import numpy as np, torch
sys.path.insert(0, {here!r})
from reference import naive_kneighbors
from gpusmote.neighbors import collect_stats, kneighbors
from gpusmote import SMOTE

dev = torch.device({device!r})
rng = np.random.default_rng(0)
out = []
cases = {{
    "normal, partial tiles": rng.normal(size=(611, 9)).astype(np.float32),
    "integer grid (ties)": rng.integers(0, 3, size=(530, 6)).astype(np.float32),
    "duplicates": np.repeat(rng.normal(size=(180, 7)), 3, axis=0).astype(np.float32),
    "one wide column": np.c_[rng.uniform(0, 1000, 640), rng.normal(size=(640, 7))].astype(
        np.float32
    ),
}}
for name, X in cases.items():
    Xt = torch.from_numpy(X).to(dev)
    for k in (1, 5):
        with collect_stats() as st:
            _, ind = kneighbors(Xt, k, backend="torch")
        _, ref = naive_kneighbors(X, k)
        same = bool(np.array_equal(ind.cpu().numpy(), ref))
        out.append([name, "self", k, st[-1].fused, st[-1].score_dtype, same])
    Y = rng.normal(size=(257, X.shape[1])).astype(np.float32)
    with collect_stats() as st:
        _, ind = kneighbors(Xt, 4, Y=torch.from_numpy(Y).to(dev), backend="torch")
    _, ref = naive_kneighbors(X, 4, Y=Y)
    same = bool(np.array_equal(ind.cpu().numpy(), ref))
    out.append([name, "foreign", 4, st[-1].fused, st[-1].score_dtype, same])
X = rng.normal(size=(1500, 8)).astype(np.float32)
y = np.r_[np.zeros(1200, int), np.ones(300, int)]
smote = SMOTE(random_state=0, device=dev, backend="torch")
Xo, _ = smote.fit_resample(torch.from_numpy(X).to(dev), torch.from_numpy(y).to(dev))
print(json.dumps({{"cases": out, "smote": Xo.cpu().numpy().tolist()}}))
"""


def _run(device: str, fused: bool, precision: str = "ieee"):
    env = {**os.environ, "GPUSMOTE_TRITON": "1" if fused else "0"}
    env["GPUSMOTE_TRITON_PRECISION"] = precision
    if device == "cpu":
        env["TRITON_INTERPRET"] = "1"
    code = CHECK.format(here=str(HERE), device=device)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def _check(device: str, precision: str):
    fused = _run(device, True, precision)
    for name, kind, k, used, scores, same in fused["cases"]:
        # the kernel scores in float32; data that need float64 scores keep the torch path
        assert used == (scores == "float32"), (name, kind, k, scores)
        assert same, (name, kind, k)  # the reference's neighbours either way
    assert sum(case[3] for case in fused["cases"]) >= 6
    plain = _run(device, False)
    assert not any(case[3] for case in plain["cases"])
    assert fused["smote"] == plain["smote"]  # SMOTE's rows do not depend on the kernel


PRECISIONS = ["ieee", "tf32", "bf16x3"]


@pytest.mark.parametrize("precision", PRECISIONS)
def test_fused_kernel_in_the_interpreter_matches_the_reference(precision):
    _check("cpu", precision)


@pytest.mark.cuda
@pytest.mark.parametrize("precision", PRECISIONS)
def test_fused_kernel_on_the_gpu_matches_the_reference(precision):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU; none is available here")
    _check("cuda", precision)


CONTROL = r"""
import json, sys
import numpy as np, torch
sys.path.insert(0, {here!r})
from reference import naive_kneighbors
from gpusmote.neighbors import _triton, collect_stats, kneighbors
if {weak!r}:
    _triton.PRECISIONS["tf32"] = (1, 0.0, 1.0)  # pretend TF32 products were float32 ones
rng = np.random.default_rng(0)
X = np.c_[rng.uniform(0, 1000, 720), rng.normal(size=(720, 7))].astype(np.float32)
with collect_stats() as st:
    _, ind = kneighbors(torch.from_numpy(X), 5, backend="torch", device="cpu")
_, ref = naive_kneighbors(X, 5)
print(json.dumps([st[-1].fused, st[-1].rechecked, int((ind.numpy() != ref).any(1).sum())]))
"""


def test_tf32_candidates_need_their_bound():
    """A wide column (0..1000) next to unit-scale ones: TF32's truncated inputs misorder
    the candidates. With TF32's error bound the certificate sends those rows to the
    exact finish; with float32's bound (the control) rows come out wrong."""
    env = {**os.environ, "GPUSMOTE_TRITON": "1", "TRITON_INTERPRET": "1"}
    env["GPUSMOTE_TRITON_PRECISION"] = "tf32"
    results = []
    for weak in (False, True):
        code = CONTROL.format(here=str(HERE), weak=weak)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr[-3000:]
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    (fused, rechecked, wrong), (_, weak_rechecked, weak_wrong) = results
    assert fused and wrong == 0 and rechecked > weak_rechecked
    assert weak_wrong > 0  # the bound is what keeps the rows exact


def test_off_without_the_interpreter_or_when_disabled(monkeypatch):
    from gpusmote.neighbors import _triton

    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    monkeypatch.setenv("GPUSMOTE_TRITON", "1")
    assert not _triton.enabled(torch.device("cpu"), 64)  # compiled Triton needs a GPU
    monkeypatch.setenv("GPUSMOTE_TRITON", "0")
    assert not _triton.enabled(torch.device("cuda"), 64)
    monkeypatch.delenv("GPUSMOTE_TRITON")
    assert not _triton.enabled(torch.device("cuda"), 64)  # opt-in until measured on a card
    monkeypatch.setenv("GPUSMOTE_TRITON", "1")
    assert not _triton.enabled(torch.device("cuda"), 1)  # no groups: the plain path


def test_a_kernel_that_cannot_run_falls_back_to_the_torch_path(monkeypatch):
    """On a card (or a Triton) the kernel cannot compile for, the first block's failure
    is a warning, and the search and the later ones take the torch path, exactly."""
    import numpy as np

    from gpusmote.neighbors import _triton, collect_stats, kneighbors

    from .reference import naive_kneighbors

    monkeypatch.setattr(_triton, "_failed", [])
    monkeypatch.setenv("GPUSMOTE_TRITON", "1")
    monkeypatch.setattr(_triton, "_load", lambda: object())  # "installed"

    def fail(*args, **kwargs):
        raise RuntimeError("no bf16 dot on this card")

    monkeypatch.setattr(_triton, "block_candidates", fail)
    monkeypatch.setenv("TRITON_INTERPRET", "1")  # lets enabled() say yes on the CPU
    X = np.random.default_rng(0).normal(size=(700, 8)).astype(np.float32)
    with pytest.warns(RuntimeWarning, match="no bf16 dot on this card"):
        with collect_stats() as stats:
            _, ind = kneighbors(X, 5, backend="torch", device="cpu")
    assert not stats[-1].fused and stats[-1].score_dtype == "float32"
    np.testing.assert_array_equal(ind.numpy(), naive_kneighbors(X, 5)[1])
    assert not _triton.enabled(torch.device("cpu"), 64)  # off for the rest of the process
