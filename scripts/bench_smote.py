"""SMOTE end to end: gpusmote vs imbalanced-learn, time and peak memory, one table.

    python scripts/bench_smote.py                  # sizes a, b, c (CPU)
    python scripts/bench_smote.py --sizes a --device cuda

Each measurement runs in a fresh process (so peak memory is that run's own): build the
data, warm up on a small slice, reset the peak-RSS mark, then time
``fit_resample(X, y)`` (balanced, k_neighbors=5, random_state=0) including the
conversion back to numpy. Engines alternate, best of ``--repeat`` runs; both outputs are
hashed to show they are the same rows.
"""

import argparse
import hashlib
import json
import subprocess
import sys
import time

from gpusmote._bench import SMOTE_SIZES as SIZES
from gpusmote._bench import make_smote_data as make_data


def _hwm():
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1]) * 1024


def worker(engine, size, device):
    """Runs in the child: prints one JSON line with seconds, peak-RSS rise and a hash."""
    n, d, n_min = SIZES[size]
    X, y = make_data(n, d, n_min)
    if engine == "imblearn":
        from imblearn.over_sampling import SMOTE

        def make():
            return SMOTE(random_state=0, k_neighbors=5)
    else:
        from gpusmote import SMOTE

        def make():
            return SMOTE(random_state=0, k_neighbors=5, device=device)

    warm = slice(0, 20_000)
    make().fit_resample(X[warm], y[warm])
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak-RSS mark to the current RSS
    except OSError:  # sandboxes without clear_refs: the rise is then an upper bound
        pass
    base = _hwm()
    t0 = time.perf_counter()
    X_res, y_res = make().fit_resample(X, y)
    seconds = time.perf_counter() - t0
    rise = _hwm() - base
    digest = hashlib.sha1(X_res.tobytes() + y_res.tobytes()).hexdigest()[:12]
    print(json.dumps({"seconds": seconds, "rise": rise, "hash": digest, "rows": len(y_res)}))


def run(engine, size, device):
    cmd = [sys.executable, __file__, "--worker", engine, "--sizes", size, "--device", device]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="a,b,c")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--worker", choices=["imblearn", "gpusmote"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.sizes, args.device)
        return
    import torch

    from gpusmote._bench import machine_description

    rows = []
    for size in args.sizes.split(","):
        best = {}
        for _ in range(args.repeat):
            for engine in ("imblearn", "gpusmote"):
                r = run(engine, size, args.device)
                if engine not in best or r["seconds"] < best[engine]["seconds"]:
                    best[engine] = r
        n, d, n_min = SIZES[size]
        rows.append({"size": size, "n": n, "d": d, "minority": n_min, **{e: best[e] for e in best}})
    print(f"Machine: {machine_description(torch.device(args.device))}; device {args.device}")
    print()
    print(
        "| size | rows x features | minority | new rows | imbalanced-learn (s) | gpusmote (s) "
        "| gpusmote / imblearn | peak RSS rise imblearn (MiB) | peak RSS rise gpusmote (MiB) "
        "| same rows |"
    )
    print("|:---|---:|---:|---:|---:|---:|---:|---:|---:|:---|")
    for r in rows:
        i, g = r["imblearn"], r["gpusmote"]
        print(
            f"| {r['size']} | {r['n']:,} x {r['d']} | {r['minority']:,} | {g['rows'] - r['n']:,} "
            f"| {i['seconds']:.2f} | {g['seconds']:.2f} | {g['seconds'] / i['seconds']:.2f} "
            f"| {i['rise'] / 2**20:.0f} | {g['rise'] / 2**20:.0f} "
            f"| {'yes' if i['hash'] == g['hash'] else 'no'} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": machine_description(torch.device(args.device)), "rows": rows},
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
