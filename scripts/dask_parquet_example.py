"""Resample a partitioned Parquet dataset on a Dask cluster with gpusmote.

    python scripts/dask_parquet_example.py                      # 3M rows x 32, 1 % minority
    python scripts/dask_parquet_example.py --scheduler tcp://host:8786   # a real cluster

Writes the input dataset first (float64 features, a label column, 1 % minority,
partitions of 50k rows), unless it is already there. Then, on a LocalCluster whose
workers each get less memory than the dataset takes, it reads the dataset, balances it
with SMOTE (gpusmote.dask.fit_resample) and writes the result as a new Parquet dataset,
with Dask's progress bar, and prints the class counts before and after.

The output is written to a temporary folder next to --out and renamed into place only
when complete: a failed run leaves no half-written dataset behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np


def write_input(path: Path, rows: int, features: int, minority: float, rows_per_part: int):
    """The synthetic imbalanced dataset, written partition by partition (never whole)."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    columns = [f"f{i}" for i in range(features)]

    def part(i: int) -> pd.DataFrame:
        n = min(rows_per_part, rows - i * rows_per_part)
        rng = np.random.default_rng([0, i])
        X = rng.standard_normal((n, features))
        y = (rng.random(n) < minority).astype(np.int64)
        X[y == 1] += 0.75
        frame = pd.DataFrame(X, columns=columns)
        frame["label"] = y
        frame.index = pd.RangeIndex(i * rows_per_part, i * rows_per_part + n)
        return frame

    n_parts = -(-rows // rows_per_part)
    meta = part(0).iloc[:0]
    ddf = dd.from_delayed([dask.delayed(part)(i) for i in range(n_parts)], meta=meta)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    ddf.to_parquet(tmp, write_index=False)
    tmp.rename(path)


def local_cluster(workers: int, memory_limit: str):
    """A LocalCluster of worker processes (one thread each) that fits a small limit."""
    import dask
    from distributed import LocalCluster

    # A worker's Python, pandas, Dask, torch and gpusmote take about 380 MiB before any
    # data (BENCHMARKS.md, "Dask"; every module gpusmote imports counts, in every
    # worker): pausing at the default 80 % of a limit this small would stall the workers
    # for good, so they pause at 95 %; past the spill threshold they spill to disk.
    # Arrow's own allocator keeps freed memory for reuse; the system one returns it.
    dask.config.set(
        {
            "distributed.worker.memory.pause": 0.95,
            "distributed.worker.memory.terminate": 0.99,
            "distributed.nanny.pre-spawn-environ.ARROW_DEFAULT_MEMORY_POOL": "system",
        }
    )
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        memory_limit=memory_limit,
        dashboard_address=":0",
    )


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    # a kill (timeout, Ctrl-C) still removes the half-written output below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="dask_example/input.parquet")
    parser.add_argument("--out", default="dask_example/balanced.parquet")
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--minority", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--memory-limit",
        default="640MiB",
        help="per worker; below the dataset's size (3M x 33 float64 columns: 755 MiB)",
    )
    parser.add_argument("--scheduler", help="address of an existing cluster's scheduler")
    parser.add_argument(
        "--rows-per-partition",
        type=int,
        default=50_000,
        help="rows per partition of the input and of the synthetic output (13 MB each)",
    )
    args = parser.parse_args(argv)

    import dask.dataframe as dd
    from distributed import Client, progress

    from gpusmote import SMOTE
    from gpusmote.dask import fit_resample

    data, out = Path(args.data), Path(args.out)
    data.parent.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)

    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = local_cluster(args.workers, args.memory_limit)
        client = Client(cluster)
    print(f"cluster: {len(client.scheduler_info()['workers'])} workers, {args.memory_limit} each")
    try:
        if not data.exists():
            t = time.perf_counter()
            write_input(data, args.rows, args.features, args.minority, args.rows_per_partition)
            print(f"wrote {data} in {time.perf_counter() - t:.1f} s")
        ddf = dd.read_parquet(data)
        size = sum(f.stat().st_size for f in data.glob("*.parquet"))
        print(f"input: {data} ({ddf.npartitions} partitions, {size / 2**20:.0f} MiB on disk)")
        before = ddf["label"].value_counts().compute().sort_index()
        print("class counts before:", before.to_dict())

        t = time.perf_counter()
        balanced = fit_resample(
            ddf,
            sampler=SMOTE(random_state=0),
            target="label",
            rows_per_partition=args.rows_per_partition,
        )
        tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
        job = client.compute(balanced.to_parquet(tmp, write_index=False, compute=False))
        progress(job)
        job.result()
        print()
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        print(f"resampled and wrote {out} in {time.perf_counter() - t:.1f} s")
        after = dd.read_parquet(out)["label"].value_counts().compute().sort_index()
        print("class counts after:", after.to_dict())
        peaks = client.run(_peak_rss_mib)
        print(
            "peak memory of each worker (resident, MiB):",
            ", ".join(f"{v:.0f}" for v in peaks.values()),
            f"(limit {args.memory_limit}; the dataset is "
            f"{args.rows * (args.features + 1) * 8 / 2**20:.0f} MiB in memory)",
        )
    except BaseException:
        for leftover in out.parent.glob(out.name + ".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
