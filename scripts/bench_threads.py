"""How the neighbour search's threads hold up beside busy processes (issue #28).

    python scripts/bench_threads.py              # quiet
    python scripts/bench_threads.py --busy 1     # beside one busy process

Each row is ``kneighbors(X, 1)`` (TomekLinks' search) on the ``heavy_tails`` generator
at issue #28's two held-out shapes, float32 and float64, best of --repeat, against
scikit-learn's ``NearestNeighbors(2).fit(X).kneighbors(X)`` (imbalanced-learn's
TomekLinks search) in the same process:

- "2 threads": gpusmote as it is (torch's intra-op threads, one parallel region per op);
- "1 thread": the same call under ``torch.set_num_threads(1)``;
- "2 workers / c": a split that follows the CPU time each thread gets, tried from
  outside the engine: the queries in chunks of c rows (``kneighbors(X, 1, rows=chunk)``),
  taken by two Python threads in turn, each running torch on one thread. Each chunk
  repeats the search's set-up (statistics, probe, database columns), which an engine
  doing the same inside would do once. Its neighbours are checked equal to the others'.
"""

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch


def _busy(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _one_thread(fn):
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(saved)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=0, help="busy processes beside it")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunks", default="256,1024", help="query chunks of the 2-worker split")
    args = parser.parse_args(argv)

    from sklearn.neighbors import NearestNeighbors

    from gpusmote.cli.bench import machine_description
    from gpusmote.datasets import make_dataset
    from gpusmote.neighbors import kneighbors

    stop = multiprocessing.Event()
    for _ in range(args.busy):
        multiprocessing.Process(target=_busy, args=(stop,), daemon=True).start()
    time.sleep(0.5)
    pool = ThreadPoolExecutor(2)

    def search(X, rows=None):
        return kneighbors(X, 1, rows=rows, device="cpu", return_distance=False)

    def split(X, chunk):
        n = X.shape[0]
        parts = [np.arange(a, min(n, a + chunk)) for a in range(0, n, chunk)]
        return _one_thread(lambda: torch.cat(list(pool.map(lambda p: search(X, p), parts))))

    chunks = [int(c) for c in args.chunks.split(",")]
    labels = ["sklearn", "2 threads", "1 thread"] + [f"2 workers / {c}" for c in chunks]
    print(f"machine: {machine_description(torch.device('cpu'))}; beside {args.busy} busy")
    print("| shape | dtype | " + " | ".join(f"{label} (s)" for label in labels) + " |")
    print("|:---|:---|" + "---:|" * len(labels))
    try:
        for n, d in [(4_147, 47), (3_845, 1_617)]:
            X, _ = make_dataset("heavy_tails", n, d)
            for dtype in (np.float32, np.float64):
                Xd = X.astype(dtype)
                ref = search(Xd)
                cases = {
                    "sklearn": lambda Xd=Xd: NearestNeighbors(n_neighbors=2).fit(Xd).kneighbors(Xd),
                    "2 threads": lambda Xd=Xd: search(Xd),
                    "1 thread": lambda Xd=Xd: _one_thread(lambda: search(Xd)),
                }
                for c in chunks:
                    cases[f"2 workers / {c}"] = lambda Xd=Xd, c=c: split(Xd, c)
                best = {}
                for _ in range(args.repeat):  # engines interleaved
                    for label, fn in cases.items():
                        t = time.perf_counter()
                        out = fn()
                        best[label] = min(best.get(label, 1e9), time.perf_counter() - t)
                        if label.startswith("2 workers") and not torch.equal(out, ref):
                            sys.exit(f"{label}: neighbours differ")
                cells = " | ".join(f"{best[label]:.3f}" for label in labels)
                print(f"| {n:,} x {d:,} | {np.dtype(dtype).name} | {cells} |", flush=True)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
