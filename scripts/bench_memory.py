"""Peak memory of a resampling call beyond its output: gpusmote vs imbalanced-learn.

    python scripts/bench_memory.py                       # 20,000 x 2,000, max_memory 16 MiB
    python scripts/bench_memory.py --rows 5000 --features 500
    PYTHONPATH=/path/to/other/checkout python scripts/bench_memory.py --engines gpusmote

Each call runs in a fresh process (Linux: the peak-RSS mark, VmHWM, is reset through
/proc/self/clear_refs after a warm-up call on a fiftieth of the rows, then read after
the call). The table gives the input's size, the output's, and how far the peak
resident set rose beyond the output, with the call's wall time. Data: the bundled
satimage table (integer pixel values, here as uint8: 6,435 x 36, real), the
``integers`` generator (counts 0-57) as uint8 and as int32, and standard-normal
float32 rows; 25 % minority for the generated ones. gpusmote runs with
``max_memory`` (16 MiB by default); imbalanced-learn has no such bound.
"""

import argparse
import json
import subprocess
import sys

_CHILD = r"""
import json, sys, time
import numpy as np
spec = json.loads(sys.argv[1])

def data():
    if spec["data"] == "satimage":
        from gpusmote.datasets import load
        X, y = load("satimage", return_X_y=True)
        return X.astype(np.uint8), y
    n, d = spec["rows"], spec["features"]
    rng = np.random.default_rng(0)
    y = rng.permutation(np.r_[np.ones(n // 4, int), np.zeros(n - n // 4, int)])
    if spec["data"] == "normal-float32":
        return rng.standard_normal((n, d)).astype(np.float32), y
    from gpusmote.datasets import make_dataset
    X, _ = make_dataset("integers", n, d)
    return X.astype(spec["data"].split("-")[1]), y

def sampler():
    name, budget = spec["sampler"], spec["max_memory"]
    if spec["engine"] == "gpusmote":
        from gpusmote import SMOTE
        from gpusmote.under_sampling import NearMiss, TomekLinks
        kw = {"max_memory": budget}
    else:
        from imblearn.over_sampling import SMOTE
        from imblearn.under_sampling import NearMiss, TomekLinks
        kw = {}
    if name == "SMOTE":
        return SMOTE(random_state=0, **kw)
    if name == "TomekLinks":
        return TomekLinks(**kw)
    return NearMiss(version=2, **kw)

def status(key):
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith(key + ":")).split()[1]) * 1024

X, y = data()
sampler().fit_resample(X[::50], y[::50])  # imports, kernels, thread pools
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = status("VmHWM")
t = time.perf_counter()
X_res, y_res = sampler().fit_resample(X, y)
wall = time.perf_counter() - t
print(json.dumps({"input": X.nbytes, "output": X_res.nbytes + y_res.nbytes,
                  "rise": status("VmHWM") - base, "wall": wall, "shape": list(X.shape)}))
"""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=2_000)
    parser.add_argument("--max-memory", default="16MiB", help="gpusmote's max_memory")
    parser.add_argument(
        "--engines", default="gpusmote,imbalanced-learn", help="comma-separated engines"
    )
    parser.add_argument("--samplers", default="SMOTE,TomekLinks,NearMiss-2")
    parser.add_argument("--data", default="satimage,integers-uint8,integers-int32,normal-float32")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        sys.exit("bench_memory.py reads Linux's /proc/self/status")

    import torch

    from gpusmote.cli.bench import machine_description

    print(f"machine: {machine_description(torch.device('cpu'))}")
    print(f"gpusmote max_memory={args.max_memory}; MiB = 2**20 bytes")
    header = ("data", "shape", "sampler", "engine", "input MiB", "output MiB", "beyond MiB", "s")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join([":---"] * 4 + ["---:"] * 4) + "|")
    mib = 2**20
    for data in args.data.split(","):
        for name in args.samplers.split(","):
            for engine in args.engines.split(","):
                spec = {
                    "data": data,
                    "rows": args.rows,
                    "features": args.features,
                    "sampler": name,
                    "engine": engine,
                    "max_memory": args.max_memory,
                }
                run = subprocess.run(
                    [sys.executable, "-c", _CHILD, json.dumps(spec)],
                    capture_output=True,
                    text=True,
                )
                if run.returncode:
                    err = (run.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"| {data} | | {name} | {engine} | failed: {err} | | | |")
                    continue
                r = json.loads(run.stdout.strip().splitlines()[-1])
                shape = "x".join(f"{v:,}" for v in r["shape"])
                print(
                    f"| {data} | {shape} | {name} | {engine} | {r['input'] / mib:.1f} | "
                    f"{r['output'] / mib:.1f} | {(r['rise'] - r['output']) / mib:.1f} | "
                    f"{r['wall']:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
