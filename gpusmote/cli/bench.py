"""Benchmarks shared by ``scripts/bench_*.py`` and ``gpusmote bench``.

Every table measures gpusmote beside its peers in the same process, on the same data,
and states the machine it ran on.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
import time

import numpy as np
import torch

from .._device import resolve_budget
from ..neighbors import kneighbors
from ..neighbors._backend import resolve_auto_backend

__all__ = [
    "run_neighbors",
    "run_smote",
    "make_smote_data",
    "machine_description",
    "matmul_rate",
    "copy_bandwidth",
    "bench_neighbors",
    "format_table",
    "peak_rss_probe",
    "race",
    "SMOTE_SIZES",
]

SIZES = {
    "small": {"n": [2_000, 5_000], "d": [16]},
    "medium": {"n": [5_000, 20_000, 50_000], "d": [16, 64]},
    "gpu": {"n": [100_000, 1_000_000], "d": [64]},
}


def machine_description(device: torch.device) -> str:
    """One line: CPU model and cores, torch build and threads, and the GPU if used."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = (
        f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}"
    )
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, dtype=torch.float32) -> float:
    """Best measured FLOP/s of a square matmul: the arithmetic ceiling of this machine."""
    size = 8192 if device.type == "cuda" else 2048
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(5):
        _sync(device)
        t0 = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best


def copy_bandwidth(device: torch.device, nbytes: int = 1 << 30) -> dict:
    """Best measured copy rates in bytes/s: the memory ceilings of this machine.

    ``device``: within the device (bytes read plus written); on CUDA also ``to_device``
    and ``to_host`` between pinned host memory and the GPU.
    """
    n = nbytes // 4

    def best_of(fn, reps=5):
        best = float("inf")
        for _ in range(reps):
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            best = min(best, time.perf_counter() - t0)
        return best

    src = torch.empty(n, dtype=torch.float32, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    result = {"device": 2.0 * n * 4 / best_of(lambda: dst.copy_(src))}
    if device.type == "cuda":
        host = torch.empty(n, dtype=torch.float32, pin_memory=True)
        result["to_device"] = n * 4 / best_of(lambda: src.copy_(host, non_blocking=True))
        result["to_host"] = n * 4 / best_of(lambda: host.copy_(src, non_blocking=True))
    return result


def race(engines: dict, repeat: int, log: str | None = None) -> dict:
    """Best seconds and last result of each engine, run round-robin ``repeat`` times.

    Interleaving spreads a noisy neighbour's slow spells over every engine instead of
    penalising whichever happened to run then. The pause before each run lets the
    previous engine's OpenMP threads stop spinning (LLVM's runtime spins for 200 ms),
    which otherwise steal the cores from the next. ``engines``: name -> (fn, device);
    ``log``: a prefix for one stderr line per run as it ends (where a run that never
    ends, under a timeout, shows which engine it was).
    """
    best = {name: float("inf") for name in engines}
    results = {}
    for _ in range(repeat):
        for name, (fn, device) in engines.items():
            time.sleep(0.3)
            _sync(device)
            t0 = time.perf_counter()
            results[name] = fn()
            _sync(device)
            seconds = time.perf_counter() - t0
            best[name] = min(best[name], seconds)
            if log is not None:
                print(f"  {log} {name}: {seconds:.3f} s", file=sys.stderr, flush=True)
    return {name: (best[name], results[name]) for name in engines}


def bench_neighbors(
    size: str = "medium",
    k: int = 5,
    device="cpu",
    repeat: int | None = None,
    seed: int = 0,
    peer_max_n: int | None = None,
    ns: list[int] | None = None,
    json_path: str | None = None,
    log: bool = True,
):
    """Self k-NN (each row excluded from its own neighbours) at the sizes of ``size``
    (only the row counts in ``ns``, if given).

    Returns a dict with the machine, the matmul rate and one row per (n, d) holding the
    seconds of every engine (None where it is not installed, or above ``peer_max_n``
    rows for the CPU peers and the faiss backend) and the agreement of gpusmote's
    indices with scikit-learn's. ``json_path`` gets the dict after every row, so a run
    stopped by a timeout leaves the rows it finished. ``log``: a stderr line per run and
    per row as they end (the scripts' progress; the CLI prints only the table).
    """
    device = torch.device(device)
    try:
        from sklearn.neighbors import NearestNeighbors as SkNN
    except ModuleNotFoundError:
        SkNN = None
    try:
        import faiss
    except ModuleNotFoundError:
        faiss = None
    rate = matmul_rate(device)
    rng = np.random.default_rng(seed)
    rows = []
    result = {
        "benchmark": "neighbors",
        "machine": machine_description(device),
        "device": str(device),
        "matmul_gflops": rate / 1e9,
        "rows": rows,
    }
    for d in SIZES[size]["d"]:
        for n in SIZES[size]["n"]:
            if ns is not None and n not in ns:
                continue
            X = rng.standard_normal((n, d), dtype=np.float32)
            # best of 3 (1 from 1M rows on): shared machines are noisy, and the best run
            # is the machine's speed
            peers = peer_max_n is None or n <= peer_max_n
            reps = (3 if n < 1_000_000 else 1) if repeat is None else repeat
            engines = (faiss, SkNN) if peers else (None, None)
            row = _bench_one(X, k, device, reps, *engines, log=log)
            row["floor_s"] = 2.0 * n * n * d / rate
            rows.append(row)
            if log:
                print(f"  n={n:,} d={d}: {row}", file=sys.stderr, flush=True)
            if json_path:
                write_json(result, json_path)
    return result


def _bench_one(
    X: np.ndarray, k: int, device: torch.device, reps: int, faiss, SkNN, log: bool = True
) -> dict:
    """Seconds of each engine on one self-search of ``X``; None where not installed."""
    n, d = X.shape
    cpu = torch.device("cpu")
    Xt = torch.from_numpy(X).to(device)
    kneighbors(Xt[: min(n, 512)], k, backend="torch")  # warm-up
    engines = {"torch_s": (lambda: kneighbors(Xt, k, backend="torch")[1], device)}
    if faiss is not None:

        def raw_faiss():
            index = faiss.IndexFlatL2(d)
            index.add(X)
            return index.search(X, k + 1)

        engines["gpusmote_faiss_s"] = (lambda: kneighbors(Xt, k, backend="faiss")[1], device)
        engines["faiss_s"] = (raw_faiss, cpu)
    if SkNN is not None:
        sklearn = SkNN(n_neighbors=k, algorithm="brute")
        engines["sklearn_s"] = (lambda: sklearn.fit(X).kneighbors()[1], cpu)
    timed = race(engines, reps, log=f"n={n:,} d={d}" if log else None)
    row = {"n": n, "d": d, "k": k, "gpusmote_faiss_s": None, "faiss_s": None}
    row["sklearn_s"] = row["agree"] = None
    row.update({name: seconds for name, (seconds, _) in timed.items()})
    if SkNN is not None:
        ind = timed["torch_s"][1].cpu().numpy()
        row["agree"] = float((timed["sklearn_s"][1] == ind).all(1).mean())
    auto = resolve_auto_backend(device, n, n, d, resolve_budget(None, device))
    row["auto"] = auto if isinstance(auto, str) else auto.name
    row["auto_s"] = row["torch_s"] if row["auto"] == "torch" else row["gpusmote_faiss_s"]
    return row


def _fmt(seconds):
    return "n/a" if seconds is None else f"{seconds:.3f}"


def _ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}"


def format_table(result: dict) -> str:
    """The neighbour benchmark as one markdown table with its machine line."""
    lines = [
        f"Machine: {result['machine']}; device {result['device']}; "
        f"float32 matmul {result['matmul_gflops']:.0f} GFLOP/s",
        "",
        "| n | d | k | gpusmote torch (s) | gpusmote faiss-flat (s) | faiss IndexFlatL2 (s) "
        "| scikit-learn brute (s) | auto picks | auto / sklearn | auto / GEMM floor "
        "| torch / sklearn | same indices as sklearn |",
        "|---:|---:|---:|---:|---:|---:|---:|:---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        agree = "n/a" if r["agree"] is None else f"{100 * r['agree']:.2f} %"
        lines.append(
            f"| {r['n']:,} | {r['d']} | {r['k']} | {_fmt(r['torch_s'])} "
            f"| {_fmt(r['gpusmote_faiss_s'])} | {_fmt(r['faiss_s'])} | {_fmt(r['sklearn_s'])} "
            f"| {r['auto']} "
            f"| {_ratio(r['auto_s'], r['sklearn_s'])} | {_ratio(r['auto_s'], r['floor_s'])} "
            f"| {_ratio(r['torch_s'], r['sklearn_s'])} | {agree} |"
        )
    if "peak_rss" in result:
        p = result["peak_rss"]
        mib = {key: p[key] / 2**20 for key in ("rise", "budget", "outputs")}
        lines += [
            "",
            f"Peak memory, kneighbors({p['n']:,} x {p['d']} float32, k=5) with default settings "
            f"in a fresh process: +{mib['rise']:.1f} MiB RSS (max_memory {mib['budget']:.0f} MiB "
            f"+ outputs {mib['outputs']:.1f} MiB allowed).",
        ]
    return "\n".join(lines)


_PROBE = """
import numpy as np, torch
from gpusmote.neighbors import kneighbors
from gpusmote._device import resolve_budget

def hwm():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmHWM:")).split()[1]) * 1024

X = torch.from_numpy(np.random.default_rng(0).random(({n}, {d}), dtype=np.float32))
kneighbors(X[:3000], 5)  # load kernels and thread pools before measuring
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak-RSS mark to the current RSS
base = hwm()
dist, ind = kneighbors(X, 5)
print(hwm() - base, dist.nbytes + ind.nbytes, resolve_budget(None, torch.device("cpu")))
"""


def peak_rss_probe(n: int = 100_000, d: int = 32) -> dict | None:
    """Peak-RSS rise of one default CPU ``kneighbors`` call, in a fresh process (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    code = textwrap.dedent(_PROBE).format(n=n, d=d)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rise, outputs, budget = map(int, out.stdout.split())
    return {"n": n, "d": d, "rise": rise, "outputs": outputs, "budget": budget}


def write_json(result: dict, path: str) -> None:
    with open(path, "w") as f:
        json.dump(result, f, indent=2)


def run_neighbors(
    size: str,
    *,
    k: int = 5,
    device="cpu",
    peer_max_n: int | None = None,
    memory: bool = True,
    json_path: str | None = None,
    ns: list[int] | None = None,
    repeat: int | None = None,
    log: bool = True,
) -> str:
    """The neighbour benchmark, the peak-memory probe (``memory``), the table as text."""
    result = bench_neighbors(
        size,
        k=k,
        device=device,
        repeat=repeat,
        peer_max_n=peer_max_n,
        ns=ns,
        json_path=json_path,
        log=log,
    )
    if memory:
        probe = peak_rss_probe()
        if probe is not None:
            result["peak_rss"] = probe
    if json_path:
        write_json(result, json_path)
    return format_table(result)


SMOTE_SIZES = {  # name: (rows, features, minority rows), as in scripts/bench_smote.py
    "tiny": (20_000, 16, 1_000),  # a dry run of scripts/gpu_check.sh on the CPU
    "a": (105_000, 32, 5_000),
    "b": (420_000, 32, 20_000),
    "c": (1_050_000, 64, 50_000),
    "gpu": (10_000_000, 32, 1_000_000),  # scripts/gpu_check.sh: 1M minority, 10M rows
}


def make_smote_data(n: int, d: int, n_min: int, seed: int = 0):
    """float32 rows with a shifted minority cloud of ``n_min`` rows, int64 labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, n_min, replace=False)] = 1
    X[y == 1] += 0.75  # overlapping the majority
    return X, y


def _smote_row(name: str, device, repeat: int, SMOTE, ImbSMOTE) -> str:
    n, d, n_min = SMOTE_SIZES[name]
    X, y = make_smote_data(n, d, n_min)
    cpu = torch.device("cpu")
    engines = {
        "gpusmote": (lambda: SMOTE(random_state=0, device=device).fit_resample(X, y), device)
    }
    if ImbSMOTE is not None:
        engines["imblearn"] = (lambda: ImbSMOTE(random_state=0).fit_resample(X, y), cpu)
    timed = race(engines, repeat)
    ours = timed["gpusmote"][0]
    if ImbSMOTE is None:
        return f"| {name} | {n:,} x {d} | {n_min:,} | n/a | {ours:.2f} | n/a | n/a |"
    theirs = timed["imblearn"][0]
    same = np.array_equal(timed["gpusmote"][1][0], timed["imblearn"][1][0])
    return (
        f"| {name} | {n:,} x {d} | {n_min:,} | {theirs:.2f} | {ours:.2f} | {ours / theirs:.2f} "
        f"| {'yes' if same else 'no'} |"
    )


def run_smote(size: str, *, device="cpu", repeat: int = 2) -> str:
    """SMOTE fit_resample, gpusmote vs imbalanced-learn in this process, as a table.

    ``size`` "small": case (a); "medium": (a) and (b). Peak memory needs a fresh process
    per run: ``scripts/bench_smote.py`` measures it.
    """
    from ..over_sampling import SMOTE

    try:
        from imblearn.over_sampling import SMOTE as ImbSMOTE
    except ModuleNotFoundError:
        ImbSMOTE = None
    device = torch.device(device)
    lines = [
        "| size | rows x features | minority | imbalanced-learn (s) | gpusmote (s) | ratio "
        "| same rows |",
        "|:---|---:|---:|---:|---:|---:|:---|",
    ]
    for name in ("a",) if size == "small" else ("a", "b"):
        lines.append(_smote_row(name, device, repeat, SMOTE, ImbSMOTE))
    return "SMOTE fit_resample (balanced, k_neighbors=5, random_state=0):\n\n" + "\n".join(lines)
