"""The torch engine's blocks with and without the fused Triton kernel, in each of its
precisions, and the peers on the same card: self k-NN (k = 5), one run each after a
warm-up; gpusmote's modes must give the same indices.

Peers: torch's straightforward path (``cdist`` + ``topk`` in chunks of 8,192 queries)
and KeOps (``argKmin``, where pykeops is installed); their agreement with gpusmote's
indices is reported, not required (they are not exact: rounding decides near-ties).

    python scripts/bench_fused.py --device cuda --n 1000000 --d 64 --json fused.json

Run by scripts/gpu_check.sh. Each mode runs in its own process (the kernel reads
GPUSMOTE_TRITON and GPUSMOTE_TRITON_PRECISION), so a mode that fails or times out
leaves the others' rows.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

MODES = {"torch": ("0", "ieee"), "fused-ieee": ("1", "ieee"), "fused-tf32": ("1", "tf32"),
         "fused-bf16x3": ("1", "bf16x3")}  # fmt: skip

PEERS = {
    "torch-cdist-topk": r"""
ind = torch.empty((n, 5), dtype=torch.int64, device=dev)
for a in range(0, n, 8192):
    dist = torch.cdist(X[a : a + 8192], X)
    rows = torch.arange(dist.shape[0], device=dev)
    dist[rows, rows + a] = float("inf")  # each row's own
    ind[a : a + 8192] = dist.topk(5, dim=1, largest=False).indices
""",
    "keops": r"""
from pykeops.torch import LazyTensor
x_i, x_j = LazyTensor(X[:, None, :]), LazyTensor(X[None, :, :])
ind = ((x_i - x_j) ** 2).sum(-1).argKmin(6, dim=1)[:, 1:]
""",
}

PEER = r"""
import json, sys, time
import numpy as np, torch
dev = torch.device(sys.argv[1]); n, d = int(sys.argv[2]), int(sys.argv[3])
X = torch.from_numpy(np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)).to(dev)
def run(X, n):
{body}
    return ind
run(X[: min(n, 50_000)].contiguous(), min(n, 50_000))
if dev.type == "cuda":
    torch.cuda.synchronize()
t0 = time.perf_counter()
ind = run(X, n)
if dev.type == "cuda":
    torch.cuda.synchronize()
seconds = time.perf_counter() - t0
np.save(sys.argv[4], ind.cpu().numpy())
print(json.dumps({{"seconds": seconds}}))
"""

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
np.save(sys.argv[4], ind.cpu().numpy())
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
    folder = tempfile.mkdtemp(prefix="bench_fused.")
    for name, (on, precision) in MODES.items():
        env = {**os.environ, "GPUSMOTE_TRITON": on, "GPUSMOTE_TRITON_PRECISION": precision}
        if args.device == "cpu" and on == "1":
            env["TRITON_INTERPRET"] = "1"  # a dry run: Triton compiles for GPUs only
        try:
            run = subprocess.run(
                [sys.executable, "-c", ONE, args.device, str(args.n), str(args.d),
                 os.path.join(folder, f"{name}.npy")],
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
    same = len(digests) == 1 and all(r.get("indices") for r in rows)
    print(f"same indices in every gpusmote mode: {same}")
    reference = os.path.join(folder, "torch.npy")
    for name, body in PEERS.items():
        body = "\n".join("    " + line for line in body.strip().splitlines())
        path = os.path.join(folder, f"{name}.npy")
        try:
            run = subprocess.run(
                [sys.executable, "-c", PEER.format(body=body), args.device, str(args.n),
                 str(args.d), path],
                capture_output=True, text=True, timeout=args.timeout,
            )  # fmt: skip
            row = json.loads(run.stdout.strip().splitlines()[-1]) if run.returncode == 0 else None
            error = None if row else run.stderr.strip().splitlines()[-1:]
        except subprocess.TimeoutExpired:
            row, error = None, f"timed out after {args.timeout} s"
        if row and os.path.exists(reference):
            ours, theirs = np.load(reference), np.load(path)
            row["agree"] = float((np.sort(ours, 1) == np.sort(theirs, 1)).all(1).mean())
        rows.append({"mode": name, **(row or {}), "error": error})
        print(f"| {name} (peer) | {args.n:,} x {args.d} | " + (
            f"{row['seconds']:.3f} s | agrees on {100 * row.get('agree', 0):.2f} % of rows |"
            if row else f"{error} |"), flush=True)  # fmt: skip
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"n": args.n, "d": args.d, "rows": rows}, f, indent=2)
    shutil.rmtree(folder, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
