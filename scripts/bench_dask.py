"""The Dask example's workload: LocalCluster (2 workers) vs one process, same rows.

    python scripts/bench_dask.py                 # 2M rows x 32 features, 1 % minority

One table, three engines on the same Parquet dataset (written first by
scripts/dask_parquet_example.py's writer), each reading it, balancing it with SMOTE
(random_state=0) and writing the result as Parquet:

- gpusmote.dask.fit_resample on a LocalCluster of 2 worker processes (1 thread each);
- gpusmote.SMOTE in one process (pandas in, pandas out);
- imbalanced-learn's SMOTE in one process.

Each runs in a fresh subprocess, one after the other, so that its peak memory (the
largest resident set of the process, and for Dask of each worker) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm() -> None:
    import gpusmote.dask  # noqa: F401  (and torch)


def run_dask(data: Path, out: Path, workers: int, memory_limit: str) -> dict:
    import dask.dataframe as dd
    from dask_parquet_example import local_cluster
    from distributed import Client

    from gpusmote import SMOTE
    from gpusmote.dask import fit_resample

    with local_cluster(workers, memory_limit) as cluster, Client(cluster) as client:
        client.run(_warm)  # worker start-up is not the workload
        t = time.perf_counter()
        ddf = dd.read_parquet(data)
        balanced = fit_resample(
            ddf, sampler=SMOTE(random_state=0), target="label", rows_per_partition=50_000
        )
        balanced.to_parquet(out, write_index=False)
        seconds = time.perf_counter() - t
        peaks = client.run(_peak_mib)
    return {"seconds": seconds, "peak_mib": max(peaks.values()), "driver_mib": _peak_mib()}


def run_local(data: Path, out: Path, engine: str) -> dict:
    import pandas as pd

    if engine == "imblearn":
        from imblearn.over_sampling import SMOTE
    else:
        from gpusmote import SMOTE

        SMOTE = __import__("functools").partial(SMOTE, device="cpu")
    t = time.perf_counter()
    frame = pd.read_parquet(data)
    X, y = frame.drop(columns="label"), frame["label"]
    X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
    X_res["label"] = y_res.to_numpy()
    X_res.to_parquet(out, index=False)
    return {"seconds": time.perf_counter() - t, "peak_mib": _peak_mib()}


def _child(args) -> None:
    data, out = Path(args.data), Path(args.out)
    if args.engine == "dask":
        result = run_dask(data, out, args.workers, args.memory_limit)
    else:
        result = run_local(data, out, args.engine)
    import dask.dataframe as dd

    counts = dd.read_parquet(out)["label"].value_counts().compute().sort_index()
    result["counts"] = {str(k): int(v) for k, v in counts.items()}
    print("RESULT " + json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="480MiB")
    parser.add_argument("--data", help="an existing input dataset (default: written here)")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine:
        return _child(args)

    from dask_parquet_example import write_input

    from gpusmote.cli.bench import machine_description

    with tempfile.TemporaryDirectory(prefix="gpusmote-bench-dask-") as tmp:
        data = Path(args.data) if args.data else Path(tmp) / "input.parquet"
        if not data.exists():
            write_input(data, args.rows, args.features, 0.01, 50_000)
        import torch

        print(f"Machine: {machine_description(torch.device('cpu'))}")
        print()
        print(
            f"Workload: read {args.rows:,} x {args.features} (1 % minority) from Parquet, "
            "SMOTE to balance, write Parquet"
        )
        print()
        print(
            "| engine | time (s) | ratio to imbalanced-learn | peak memory per process (MiB) "
            "| classes after |"
        )
        print("|:---|---:|---:|---:|:---|")
        rows = {}
        for engine in ("imblearn", "gpusmote", "dask"):
            out = Path(tmp) / f"out-{engine}.parquet"
            cmd = [
                sys.executable,
                __file__,
                "--engine",
                engine,
                "--data",
                str(data),
                "--out",
                str(out),
                "--workers",
                str(args.workers),
                "--memory-limit",
                args.memory_limit,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
            if proc.returncode or not line:
                print(f"| {engine} | failed | | | {proc.stderr.strip().splitlines()[-1:]} |")
                continue
            rows[engine] = json.loads(line[0][7:])
        base = rows.get("imblearn", {}).get("seconds")
        names = {
            "imblearn": "imbalanced-learn SMOTE (1 process)",
            "gpusmote": "gpusmote SMOTE (1 process)",
            "dask": f"gpusmote.dask, LocalCluster {args.workers} workers x {args.memory_limit}",
        }
        for engine, r in rows.items():
            ratio = f"{r['seconds'] / base:.2f}" if base else "n/a"
            peak = f"{r['peak_mib']:.0f}"
            if engine == "dask":
                peak += f" per worker ({r['driver_mib']:.0f} client)"
            print(f"| {names[engine]} | {r['seconds']:.1f} | {ratio} | {peak} | {r['counts']} |")


if __name__ == "__main__":
    main()
