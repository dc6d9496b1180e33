"""CUDA tile shapes of the torch engine, and where SMOTE's time goes on a GPU.

    python scripts/bench_cuda_tiles.py --json tiles.json
    CUDA_LAUNCH_BLOCKING=1 python scripts/bench_cuda_tiles.py --profile

Self k-NN (k = 5) at n = 1M, d in {32, 64} for a grid of (query tile, database tile,
prefilter group) shapes, each timed once after a warm-up; then SMOTE at 1M minority /
10M rows under cProfile (``--profile``, in its own process with CUDA_LAUNCH_BLOCKING=1
so each host call is charged its own GPU time). Run by scripts/gpu_check.sh; the shapes chosen in
gpusmote/neighbors/_memory.py cite its table.
"""

import argparse
import cProfile
import io
import json
import pstats
import time

import numpy as np
import torch

from gpusmote.cli.bench import machine_description, make_smote_data
from gpusmote.neighbors import cuda_tiles, kneighbors

GRID = [  # (query tile, database tile, group)
    (4096, 65536, 1),
    (4096, 65536, 64),
    (4096, 65536, 32),
    (8192, 32768, 64),
    (2048, 131072, 64),
    (16384, 16384, 64),
    (8192, 65536, 64),
    (4096, 32768, 64),
]


def time_shape(X, shape, k=5):
    with cuda_tiles(*shape):
        kneighbors(X[:50_000], k, backend="torch")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        _, ind = kneighbors(X, k, backend="torch")
        torch.cuda.synchronize()
        return time.perf_counter() - t0, ind


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--json")
    parser.add_argument("--profile", action="store_true", help="only profile SMOTE")
    args = parser.parse_args(argv)
    dev = torch.device("cuda")
    print(f"Machine: {machine_description(dev)}", flush=True)
    rows = []
    for d in () if args.profile else (64, 32):
        X = torch.randn(args.n, d, device=dev)
        ref = None
        for shape in GRID if d == 64 else GRID[:2]:
            seconds, ind = time_shape(X, shape)
            same = True if ref is None else bool(torch.equal(ind, ref))
            ref = ind if ref is None else ref
            rows.append({"n": args.n, "d": d, "shape": shape, "seconds": seconds, "same": same})
            print(f"| {args.n:,} | {d} | {shape} | {seconds:.3f} | {same} |", flush=True)
    result = {"machine": machine_description(dev), "rows": rows}
    if args.profile:
        from gpusmote import SMOTE

        X, y = make_smote_data(10_000_000, 32, 1_000_000)
        SMOTE(random_state=0, device=dev).fit_resample(X[:20_000], y[:20_000])
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        SMOTE(random_state=0, device=dev).fit_resample(X, y)
        prof.disable()
        result["smote_profiled_s"] = time.perf_counter() - t0
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(30)
        result["smote_profile"] = text.getvalue()
        print(f"SMOTE 10M x 32, 1M minority, profiled: {result['smote_profiled_s']:.2f} s")
        print(text.getvalue())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    np.random.seed(0)
    main()
