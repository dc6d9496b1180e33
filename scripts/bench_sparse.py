"""Sparse input: gpusmote vs imbalanced-learn on a TF-IDF matrix.

    python scripts/bench_sparse.py                    # 100k documents x 50k terms
    python scripts/bench_sparse.py --rows 20000       # a quicker look

The matrix is `gpusmote.datasets.make_dataset("tfidf")`: a scipy CSR matrix, float64,
rows of unit norm, about 126 stored values per row (Zipf-distributed words, stop words
dropped, sublinear TF-IDF), 5 % minority. SMOTE and TomekLinks, in the same process,
each engine's best of --repeat runs, interleaved (`gpusmote.cli.bench.race`); the table
gives the ratio (gpusmote / imbalanced-learn) and whether the outputs are equal (dense
comparison of the rows at 1e-12, the labels exactly).
"""

import argparse
import sys

import numpy as np
import torch

from gpusmote import SMOTE
from gpusmote.cli.bench import machine_description, race
from gpusmote.datasets import make_dataset
from gpusmote.under_sampling import TomekLinks


def _same(a, b) -> bool:
    (Xa, ya), (Xb, yb) = a, b
    if Xa.shape != Xb.shape or not np.array_equal(ya, yb):
        return False
    return abs(Xa - Xb).max() <= 1e-12


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--terms", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine (SMOTE)")
    parser.add_argument("--tomek-repeat", type=int, default=1, help="runs per engine (TomekLinks)")
    args = parser.parse_args(argv)

    from imblearn.over_sampling import SMOTE as ImbSMOTE
    from imblearn.under_sampling import TomekLinks as ImbTomek

    X, y = make_dataset("tfidf", n=args.rows, d=args.terms)
    cpu = torch.device("cpu")
    print(f"machine: {machine_description(cpu)}")
    print(
        f"data: tfidf {X.shape[0]:,} x {X.shape[1]:,}, {X.nnz / X.shape[0]:.0f} stored "
        f"values per row, {int(y.sum()):,} minority rows"
    )
    rows = []
    for name, ours, theirs, repeat in (
        ("SMOTE", lambda: SMOTE(random_state=0), lambda: ImbSMOTE(random_state=0), args.repeat),
        ("TomekLinks", TomekLinks, ImbTomek, args.tomek_repeat),
    ):
        out = race(
            {
                "gpusmote": (lambda f=ours: f().fit_resample(X, y), cpu),
                "imbalanced-learn": (lambda f=theirs: f().fit_resample(X, y), cpu),
            },
            repeat,
            log=name,
        )
        (t_ours, r_ours), (t_imb, r_imb) = out["gpusmote"], out["imbalanced-learn"]
        rows.append((name, t_ours, t_imb, _same(r_ours, r_imb)))
    print()
    print("| method | gpusmote (s) | imbalanced-learn (s) | ratio | same output |")
    print("|:---|---:|---:|---:|:---:|")
    for name, a, b, same in rows:
        print(f"| {name} | {a:.2f} | {b:.2f} | {a / b:.2f} | {'yes' if same else 'NO'} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
