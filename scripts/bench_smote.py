"""SMOTE end to end: gpusmote vs imbalanced-learn, time and peak memory, one table.

    python scripts/bench_smote.py                  # sizes a, b, c (CPU)
    python scripts/bench_smote.py --sizes a --device cuda
    python scripts/bench_smote.py --sizes c,gpu --device cuda --repeat 1 --peer-timeout 120

Each measurement runs in a fresh process (so peak memory is that run's own): build the
data, warm up on a small slice, reset the peak-RSS mark, then time
``fit_resample(X, y)`` (balanced, k_neighbors=5, random_state=0) including the
conversion back to numpy. Engines alternate, best of ``--repeat`` runs; both outputs are
hashed to show they are the same rows. A run that outlasts ``--peer-timeout`` (either
engine) is stopped and reported as "> T". On CUDA the table also gives the transfer floor:
the input's bytes to the device and the output's back, at the measured pinned-copy rates.
"""

import argparse
import hashlib
import json
import subprocess
import sys
import time

from gpusmote.cli.bench import SMOTE_SIZES as SIZES
from gpusmote.cli.bench import make_smote_data as make_data


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
    print("ready", flush=True)  # the parent's timeout counts from here
    t0 = time.perf_counter()
    X_res, y_res = make().fit_resample(X, y)
    seconds = time.perf_counter() - t0
    rise = _hwm() - base
    digest = hashlib.sha1(X_res.tobytes() + y_res.tobytes()).hexdigest()[:12]
    print(json.dumps({"seconds": seconds, "rise": rise, "hash": digest, "rows": len(y_res)}))


def run(engine, size, device, timeout=None):
    cmd = [sys.executable, __file__, "--worker", engine, "--sizes", size, "--device", device]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        ready = proc.stdout.readline()  # data built and warmed up: time the run alone
        if ready.strip() != "ready":
            raise RuntimeError(f"{engine} worker failed before the timed run: {ready!r}")
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"seconds": None, "timeout": timeout}
    if proc.returncode:
        raise RuntimeError(f"{engine} worker failed with exit code {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def _secs(r):
    return f"> {r['timeout']:g}" if r["seconds"] is None else f"{r['seconds']:.2f}"


def _mib(r):
    return "n/a" if r["seconds"] is None else f"{r['rise'] / 2**20:.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="a,b,c")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--peer-timeout", type=float, help="stop a run after this many seconds")
    parser.add_argument("--worker", choices=["imblearn", "gpusmote"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.sizes, args.device)
        return
    import torch

    from gpusmote.cli.bench import copy_bandwidth, machine_description

    device = torch.device(args.device)
    rates = copy_bandwidth(device) if device.type == "cuda" else None
    rows = []
    for size in args.sizes.split(","):
        best = {}
        for _ in range(args.repeat):
            for engine in ("imblearn", "gpusmote"):
                r = run(engine, size, args.device, args.peer_timeout)
                old = best.get(engine)
                if old is None or (r["seconds"] or float("inf")) < (old["seconds"] or float("inf")):
                    best[engine] = r
        n, d, n_min = SIZES[size]
        row = {"size": size, "n": n, "d": d, "minority": n_min, **best}
        if rates:  # float32 rows in; rows and int64 labels of the balanced output back
            out_rows = 2 * (n - n_min)
            row["transfer_floor_s"] = (
                n * (4 * d + 8) / rates["to_device"] + out_rows * (4 * d + 8) / rates["to_host"]
            )
        rows.append(row)
        if args.json:  # after every size: a run stopped by a timeout keeps what it finished
            with open(args.json, "w") as f:
                json.dump(
                    {"machine": machine_description(device), "copy_rates": rates, "rows": rows},
                    f,
                    indent=2,
                )
    print(f"Machine: {machine_description(device)}; device {args.device}")
    if rates:
        print("Copy rates (GB/s): " + ", ".join(f"{k} {v / 1e9:.1f}" for k, v in rates.items()))
    print()
    print(
        "| size | rows x features | minority | new rows | imbalanced-learn (s) | gpusmote (s) "
        "| gpusmote / imblearn | peak RSS rise imblearn (MiB) | peak RSS rise gpusmote (MiB) "
        "| same rows |" + (" transfer floor (s) |" if rates else "")
    )
    print("|:---|---:|---:|---:|---:|---:|---:|---:|---:|:---|" + ("---:|" if rates else ""))
    for r in rows:
        i, g = r["imblearn"], r["gpusmote"]
        done = i["seconds"] is not None and g["seconds"] is not None
        ratio = f"{g['seconds'] / i['seconds']:.2f}" if done else "n/a"
        if g["seconds"] is not None and i["seconds"] is None:
            ratio = f"< {g['seconds'] / i['timeout']:.2f}"
        same = ("yes" if i["hash"] == g["hash"] else "no") if done else "n/a"
        print(
            f"| {r['size']} | {r['n']:,} x {r['d']} | {r['minority']:,} "
            f"| {2 * (r['n'] - r['minority']) - r['n']:,} "
            f"| {_secs(i)} | {_secs(g)} | {ratio} | {_mib(i)} | {_mib(g)} | {same} |"
            + (f" {r['transfer_floor_s']:.2f} |" if rates else "")
        )


if __name__ == "__main__":
    main()
