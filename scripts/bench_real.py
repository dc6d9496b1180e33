"""gpusmote against scikit-learn and imbalanced-learn on real-shaped data.

    python scripts/bench_real.py                    # the table of BENCHMARKS.md (about 45 min)
    python scripts/bench_real.py --quick            # smaller sizes, a few minutes
    python scripts/bench_real.py --only creditcard-full
    python scripts/bench_real.py --contention       # with a busy process on one core
    python scripts/bench_real.py --only shape --busy 2   # the mid-size and wide shapes
                                                         # beside two busy processes

Data: the four bundled datasets and the named, seeded generators of
``gpusmote.datasets.make_dataset``: a credit-card-shaped table (28 unit-scale columns
beside Time in seconds and Amount, 0.17 % minority, up to 284,807 rows), integer
features, 40 % duplicate rows, heavy tails, one column offset by 1e6, and widths from 2
to 50,000 features. All float32, as deep-learning users have them, except the
"shape" rows: generated tables of the mid-size and wide shapes where gpusmote lost
beside a busy process (issue #28: 4,147 x 47 and 3,845 x 1,617, heavy-tailed and
integer columns), in float32 and float64, for SMOTE, TomekLinks and ENN.

Rows: ``kneighbors(X, 5)`` (each row's 5 nearest other rows) against scikit-learn's
``NearestNeighbors`` with ``algorithm="auto"`` and ``"brute"``; SMOTE, BorderlineSMOTE,
ADASYN, TomekLinks, EditedNearestNeighbours and NeighbourhoodCleaningRule against
imbalanced-learn, end to end (``fit_resample``); and the tutorial's workflow, SMOTE then
TomekLinks. Each cell is the best of ``--repeat`` runs, engines interleaved in one
process. "rechecked" is the rows the neighbour engine could not certify from its
candidates, over all the searches of that row (`gpusmote.neighbors.collect_stats`);
for kneighbors, "ties" is how many rows have genuine distance ties (the 5th and the
last candidate, the 8th nearest, at the same distance), which no bound can certify.
"threads": the fewest CPU threads gpusmote's searches started on in each run, in run
order (1 for the small searches that run on one thread by rule; elsewhere fewer than
torch's where busy processes held cores as a search started).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import warnings

import numpy as np
import torch

from gpusmote.cli.bench import machine_description, race
from gpusmote.datasets import load
from gpusmote.datasets import make_dataset as make
from gpusmote.neighbors import collect_stats, kneighbors

SAMPLERS = [
    "SMOTE",
    "BorderlineSMOTE",
    "ADASYN",
    "TomekLinks",
    "EditedNearestNeighbours",
    "NeighbourhoodCleaningRule",
]
FAST = ["SMOTE", "TomekLinks"]  # for the large generated tables
# the mid-size and wide real tables where gpusmote lost beside a busy process (issue #28)
SHAPES = [(4_147, 47), (3_845, 1_617)]
SHAPE_TASKS = ["SMOTE", "TomekLinks", "EditedNearestNeighbours"]


def _datasets(quick: bool):
    """(name, X float32, y, tasks) in table order."""
    out = []
    for name in ("abalone19", "page_blocks0", "satimage", "sylva"):
        X, y = load(name, return_X_y=True)
        out.append((name, np.asarray(X, dtype=np.float32), np.asarray(y), ["knn"] + SAMPLERS))
    n = 20_000 if quick else 60_000
    X, y = make("creditcard", n)
    out.append((f"creditcard {n // 1000}k", X, y, ["knn"] + SAMPLERS))
    for gen, d in (("integers", 12), ("duplicates", 16), ("heavy_tails", 16), ("offset", 16)):
        X, y = make(gen, n, d)
        out.append((gen, X, y, ["knn"] + FAST))
    widths = [(20_000, 2), (20_000, 8), (5_000, 768), (2_000, 4_096), (1_000, 16_384)]
    widths += [] if quick else [(500, 50_000)]
    for rows, d in widths:
        X, y = make("wide", rows, d)
        out.append((f"wide d={d:,}", X, y, ["knn"]))
    for rows, d in SHAPES:
        for gen in ("heavy_tails", "integers"):
            X, y = make(gen, rows, d)
            for dtype in (np.float32, np.float64):
                name = f"shape {gen} {np.dtype(dtype).name}"
                out.append((name, X.astype(dtype), y, SHAPE_TASKS))
    if not quick:
        X, y = make("creditcard")
        out.append(("creditcard full", X, y, ["knn", "SMOTE+TomekLinks"]))
    return out


def _gpusmote(name: str):
    import gpusmote
    import gpusmote.under_sampling

    return getattr(gpusmote, name, None) or getattr(gpusmote.under_sampling, name)


def _imblearn(name: str):
    import imblearn.over_sampling
    import imblearn.under_sampling

    return getattr(imblearn.over_sampling, name, None) or getattr(imblearn.under_sampling, name)


def _params(name: str) -> dict:
    return {"random_state": 0} if name in ("SMOTE", "BorderlineSMOTE", "ADASYN") else {}


def _pipeline(make_smote, make_tomek):
    def run(X, y):
        Xs, ys = make_smote().fit_resample(X, y)
        return make_tomek().fit_resample(Xs, ys)

    return run


def _engines(task: str, X, y):
    """name -> (callable, device) for the race; gpusmote first."""
    cpu = torch.device("cpu")
    if task == "knn":
        from sklearn.neighbors import NearestNeighbors

        engines = {
            "gpusmote": (lambda: kneighbors(X, 5, device="cpu"), cpu),
            "sklearn auto": (lambda: NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X), cpu),
        }
        # beyond 15 features scikit-learn's auto is its brute force: measured once there
        # (five minutes each at 284,807 x 30)
        if X.shape[0] <= 200_000 or X.shape[1] <= 15:
            engines["sklearn brute"] = (
                lambda: NearestNeighbors(n_neighbors=6, algorithm="brute").fit(X).kneighbors(X),
                cpu,
            )
        return engines
    if task == "SMOTE+TomekLinks":
        ours = _pipeline(
            lambda: _gpusmote("SMOTE")(random_state=0, device="cpu"),
            lambda: _gpusmote("TomekLinks")(device="cpu"),
        )
        theirs = _pipeline(
            lambda: _imblearn("SMOTE")(random_state=0), lambda: _imblearn("TomekLinks")()
        )
        return {"gpusmote": (lambda: ours(X, y), cpu), "imblearn": (lambda: theirs(X, y), cpu)}
    params = _params(task)
    return {
        "gpusmote": (lambda: _gpusmote(task)(**params, device="cpu").fit_resample(X, y), cpu),
        "imblearn": (lambda: _imblearn(task)(**params).fit_resample(X, y), cpu),
    }


def _counted(fn):
    """``fn`` with the neighbour searches it makes counted: (rechecked, queries, ties)."""
    counts = {}

    def run():
        with collect_stats() as stats:
            result = fn()
        counts["rechecked"] = sum(s.rechecked for s in stats)
        counts["queries"] = sum(s.queries for s in stats)
        counts["backends"] = sorted({f"{s.backend}/{s.score_dtype}" for s in stats})
        # the fewest CPU threads a search of this run took (the load decides them)
        counts.setdefault("threads", []).append(min((s.threads for s in stats), default=0))
        return result

    return run, counts


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _row(name: str, X, y, task: str, repeat: int) -> str:
    engines = _engines(task, X, y)
    fn, dev = engines["gpusmote"]
    counted, counts = _counted(fn)
    engines["gpusmote"] = (counted, dev)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times = race(engines, repeat, log=f"{name} {task}")
    ours = times["gpusmote"][0]
    peers = {k: v[0] for k, v in times.items() if k != "gpusmote"}
    peer = peers.get("sklearn auto", peers.get("imblearn"))
    shape = f"{X.shape[0]:,} x {X.shape[1]:,}"
    brute = peers.get("sklearn brute")
    label = "kneighbors k=5" if task == "knn" else task
    rechecked = f"{counts['rechecked']:,} / {counts['queries']:,}"
    if task == "knn":
        d8 = kneighbors(np.asarray(X, dtype=np.float64), 8, device="cpu")[0]
        rechecked += f" ({int((d8[:, 7] == d8[:, 4]).sum()):,} ties)"
    return (
        f"| {name} | {shape} | {label} | {_fmt(ours)} | {_fmt(peer)} | {ours / peer:.2f} | "
        f"{'' if brute is None else _fmt(brute)} | {rechecked} | {', '.join(counts['backends'])} | "
        f"{' '.join(map(str, counts['threads']))} |"
    )


def _busy(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", help="only the data sets whose name starts with this")
    parser.add_argument(
        "--contention", action="store_true", help="run beside one busy process (--busy 1)"
    )
    parser.add_argument("--busy", type=int, default=0, help="run beside this many busy processes")
    args = parser.parse_args(argv)
    busy = max(args.busy, int(args.contention))
    stop = None
    if busy:
        stop = multiprocessing.Event()
        for _ in range(busy):
            multiprocessing.Process(target=_busy, args=(stop,), daemon=True).start()
    beside = f"; beside {busy} busy process{'es' if busy > 1 else ''}" if busy else ""
    lines = [
        f"Machine: {machine_description(torch.device('cpu'))}" + beside,
        "",
        "| data | rows x features | task | gpusmote (s) | peer (s) | gpusmote / peer | "
        "sklearn brute (s) | rechecked / queries | engine | threads |",
        "|:---|---:|:---|---:|---:|---:|---:|---:|:---|:---|",
    ]
    t0 = time.perf_counter()
    try:
        for name, X, y, tasks in _datasets(args.quick):
            if args.only and not name.startswith(args.only):
                continue
            for task in tasks:
                repeat = 1 if X.shape[0] > 200_000 else args.repeat
                lines.append(_row(name, X, y, task, repeat))
                print(lines[-1], file=sys.stderr, flush=True)
    finally:
        if stop is not None:
            stop.set()
    lines.append("")
    lines.append(
        "peer: scikit-learn NearestNeighbors (algorithm='auto') for kneighbors, "
        f"imbalanced-learn otherwise; {time.perf_counter() - t0:.0f} s in all"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
