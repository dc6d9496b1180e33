"""DataLoader throughput and memory: ResampledDataset vs the same rows materialised.

    python scripts/bench_data.py                   # 200k x 32, 2 % minority, batch 256

Each variant runs in a fresh process: the data (X, y) is built first and not counted;
then the peak-RSS mark is reset, the dataset is built (for the materialised variants:
``SMOTE.fit_resample`` once, into a TensorDataset) and one shuffled epoch is read
through a DataLoader (batch 256, num_workers=0). Reported: batches per second over the
epoch, the dataset's own tensors, and the process's peak-RSS rise.
"""

import argparse
import json
import subprocess
import sys
import time

VARIANTS = {
    "materialised, TensorDataset (default collate)": "tensor",
    "materialised, batched indexing (BatchSampler, batch_size=None)": "tensor-batched",
    "ResampledDataset (default collate)": "resampled",
    "ResampledDataset (collate_fn=ResampledDataset.collate)": "resampled-collate",
    "ResampledDataset, batched indexing (BatchSampler, batch_size=None)": "resampled-batched",
}


def worker(variant, n, d, minority, batch):
    import numpy as np
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    from gpusmote import SMOTE
    from gpusmote.data import ResampledDataset

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = (rng.random(n) < minority).astype(np.int64)
    X[y == 1] += 0.75
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    hwm0 = _hwm()
    gen = torch.Generator().manual_seed(0)
    t_build = time.perf_counter()
    if variant.startswith("tensor"):
        X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
        ds = TensorDataset(torch.from_numpy(X_res), torch.from_numpy(y_res))
        owned = X_res.nbytes + y_res.nbytes
        if variant == "tensor":
            loader = DataLoader(ds, batch_size=batch, shuffle=True, generator=gen)
        else:
            sampler = BatchSampler(RandomSampler(ds, generator=gen), batch, drop_last=False)
            loader = DataLoader(ds, sampler=sampler, batch_size=None)
    else:
        ds = ResampledDataset(X, y, seed=0)
        owned = sum(m.nbytes + p.nbytes for _, m, p, _ in ds._graphs)
        if variant == "resampled-batched":
            sampler = BatchSampler(RandomSampler(ds, generator=gen), batch, drop_last=False)
            loader = DataLoader(ds, sampler=sampler, batch_size=None)
        else:
            collate = ResampledDataset.collate if variant == "resampled-collate" else None
            loader = DataLoader(
                ds, batch_size=batch, shuffle=True, generator=gen, collate_fn=collate
            )
    build = time.perf_counter() - t_build
    t0 = time.perf_counter()
    batches = 0
    for _batch in loader:
        batches += 1
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "rows": len(ds),
                "batches_per_s": batches / seconds,
                "build_s": build,
                "owned": owned,
                "rise": _hwm() - hwm0,
            }
        )
    )


def _hwm():
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1]) * 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--minority", type=float, default=0.02)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shape = (args.rows, args.features, args.minority, args.batch_size)
    if args.worker:
        worker(args.worker, *shape)
        return
    import torch

    from gpusmote.cli.bench import machine_description

    results = {}
    for _ in range(args.repeat):
        for variant in VARIANTS.values():
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                variant,
                "--rows",
                str(args.rows),
                "--features",
                str(args.features),
                "--minority",
                str(args.minority),
                "--batch-size",
                str(args.batch_size),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            if variant not in results or r["batches_per_s"] > results[variant]["batches_per_s"]:
                results[variant] = r
    base = results["tensor"]
    print(f"Machine: {machine_description(torch.device('cpu'))}")
    print(
        f"\n{args.rows:,} x {args.features} float32, {100 * args.minority:.0f} % minority, "
        f"balanced by SMOTE to {base['rows']:,} rows; batch {args.batch_size}; "
        f"best of {args.repeat}\n"
    )
    print(
        "| dataset | batches/s | vs TensorDataset | dataset tensors (MiB) "
        "| peak RSS rise (MiB) | build (s) |"
    )
    print("|:---|---:|---:|---:|---:|---:|")
    for name, variant in VARIANTS.items():
        r = results[variant]
        print(
            f"| {name} | {r['batches_per_s']:.0f} "
            f"| {r['batches_per_s'] / base['batches_per_s']:.2f} "
            f"| {r['owned'] / 2**20:.1f} | {r['rise'] / 2**20:.0f} | {r['build_s']:.2f} |"
        )


if __name__ == "__main__":
    main()
