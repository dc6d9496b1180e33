"""The torch engine's blocks with and without the fused Triton kernel, in each of its
precisions: self k-NN (k = 5), one run each after a warm-up, the same indices required.

    python scripts/bench_fused.py --device cuda --n 1000000 --d 64 --json fused.json

Run by scripts/gpu_check.sh. Each mode runs in its own process (the kernel reads
GPUSMOTE_TRITON and GPUSMOTE_TRITON_PRECISION), so a mode that fails or times out
leaves the others' rows.
"""

import argparse
import json
import os
import subprocess
import sys

MODES = {"torch": ("0", "ieee"), "fused-ieee": ("1", "ieee"), "fused-tf32": ("1", "tf32"),
         "fused-bf16x3": ("1", "bf16x3")}  # fmt: skip

ONE = r"""
import hashlib, json, sys, time
import numpy as np, torch
from gpusmote.neighbors import collect_stats, kneighbors
dev = torch.device(sys.argv[1]); n, d = int(sys.argv[2]), int(sys.argv[3])
X = torch.from_numpy(np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)).to(dev)
kneighbors(X[: min(n, 50_000)], 5, backend="torch")
if dev.type == "cuda":
    torch.cuda.synchronize()
t0 = time.perf_counter()
with collect_stats() as st:
    _, ind = kneighbors(X, 5, backend="torch")
if dev.type == "cuda":
    torch.cuda.synchronize()
seconds = time.perf_counter() - t0
digest = hashlib.sha256(ind.cpu().numpy().tobytes()).hexdigest()[:16]
print(json.dumps({"seconds": seconds, "fused": st[-1].fused, "rechecked": st[-1].rechecked,
                  "score_dtype": st[-1].score_dtype, "indices": digest}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows = []
    for name, (on, precision) in MODES.items():
        env = {**os.environ, "GPUSMOTE_TRITON": on, "GPUSMOTE_TRITON_PRECISION": precision}
        if args.device == "cpu" and on == "1":
            env["TRITON_INTERPRET"] = "1"  # a dry run: Triton compiles for GPUs only
        try:
            run = subprocess.run(
                [sys.executable, "-c", ONE, args.device, str(args.n), str(args.d)],
                capture_output=True, text=True, env=env, timeout=args.timeout,
            )  # fmt: skip
            row = json.loads(run.stdout.strip().splitlines()[-1]) if run.returncode == 0 else None
            error = None if row else run.stderr[-500:]
        except subprocess.TimeoutExpired:
            row, error = None, f"timed out after {args.timeout} s"
        rows.append({"mode": name, **(row or {}), "error": error})
        print(f"| {name} | {args.n:,} x {args.d} | {row['seconds']:.3f} s | fused {row['fused']} "
              f"| rechecked {row['rechecked']:,} | {row['indices']} |" if row else
              f"| {name} | {error} |", flush=True)  # fmt: skip
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"n": args.n, "d": args.d, "rows": rows}, f, indent=2)
    digests = {r.get("indices") for r in rows if r.get("indices")}
    print(f"same indices in every mode: {len(digests) == 1}")
    return 0 if len(digests) == 1 and all(r.get("indices") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
