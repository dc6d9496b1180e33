"""What two threads are worth on this machine, over time: a fixed float32 GEMM (the
torch engine's block of 1,000 queries x 4,160 rows x 48 features) on one thread pinned
to each CPU in turn, then on torch's two threads, every ~0.5 s.

On a virtual machine the host may run both virtual CPUs on one physical core for a
while: then each CPU alone keeps its speed, and two threads gain little over one
(issue #28, BENCHMARKS.md, "Issue #28: readings that hold").

    python scripts/bench_cores.py --seconds 45
"""

from __future__ import annotations

import argparse
import os
import time

import torch


def _best_ms(a, b, out, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45.0)
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        raise SystemExit("needs two CPUs")
    a, b = torch.randn(1000, 48), torch.randn(48, 4160)
    out = torch.empty(1000, 4160)
    threads = torch.get_num_threads()
    print(f"| t (s) | cpu {cpus[0]} (ms) | cpu {cpus[1]} (ms) | 2 threads (ms) | speed-up |")
    print("|---:|---:|---:|---:|---:|")
    t0 = time.time()
    try:
        while time.time() - t0 < args.seconds:
            torch.set_num_threads(1)
            alone = []
            for cpu in cpus:
                os.sched_setaffinity(0, {cpu})
                time.sleep(0.05)
                alone.append(_best_ms(a, b, out))
            os.sched_setaffinity(0, set(cpus))
            torch.set_num_threads(2)
            time.sleep(0.05)
            both = _best_ms(a, b, out)
            print(
                f"| {time.time() - t0:.1f} | {alone[0]:.2f} | {alone[1]:.2f} | {both:.2f} | "
                f"{min(alone) / both:.2f} |",
                flush=True,
            )
            time.sleep(0.3)
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
