"""Under-samplers, cleaning methods and combinations: gpusmote vs imbalanced-learn.

    python scripts/bench_undersampling.py          # 200k x 32, 10 % minority (binary)

One table: fit_resample time (best of --repeat, engines interleaved, same process),
the ratio, and whether both kept the same rows (``sample_indices_``, else the output
rows). The methods whose imbalanced-learn version is sequential or iterates over the
whole set many times (RENN, AllKNN, CondensedNearestNeighbour, ClusterCentroids,
InstanceHardnessThreshold, SMOTEENN, SMOTETomek) run at --small-rows instead: at 200k
rows imbalanced-learn takes from minutes (RENN, AllKNN, SMOTEENN) to hours (CNN, whose
loop refits and predicts once per added row; ClusterCentroids, a 20k-cluster k-means).
"""

import argparse

import numpy as np
import torch

import gpusmote.combine
import gpusmote.under_sampling as ours
from gpusmote.cli.bench import machine_description, make_smote_data, race

BIG = [
    ("RandomUnderSampler", {"random_state": 0}),
    ("TomekLinks", {}),
    ("EditedNearestNeighbours", {}),
    ("NearMiss", {"version": 1}),
    ("NearMiss", {"version": 2}),
    ("NearMiss", {"version": 3}),
    ("NeighbourhoodCleaningRule", {}),
    ("OneSidedSelection", {"random_state": 0}),
]
SMALL = [
    ("RepeatedEditedNearestNeighbours", {}),
    ("AllKNN", {}),
    ("CondensedNearestNeighbour", {"random_state": 0}),
    ("ClusterCentroids", {"random_state": 0}),
    ("InstanceHardnessThreshold", {"random_state": 0}),
    ("SMOTEENN", {"random_state": 0}),
    ("SMOTETomek", {"random_state": 0}),
]


def _classes(name):
    import imblearn.combine
    import imblearn.under_sampling

    if name.startswith("SMOTE"):
        return getattr(gpusmote.combine, name), getattr(imblearn.combine, name)
    return getattr(ours, name), getattr(imblearn.under_sampling, name)


def _row(name, params, X, y, device, repeat) -> str:
    mine, theirs = _classes(name)
    extra = {"device": device} if "device" in mine().get_params() else {}
    a, b = mine(**params, **extra), theirs(**params)
    cpu = torch.device("cpu")
    label = name + "".join(f" {k}={v}" for k, v in params.items() if k != "random_state")
    shape = f"{len(y):,} x {X.shape[1]} ({int(y.sum()):,})"
    try:
        timed = race(
            {
                "gpusmote": (lambda: a.fit_resample(X, y), device),
                "imblearn": (lambda: b.fit_resample(X, y), cpu),
            },
            repeat,
        )
    except MemoryError as exc:  # NearMiss-2: imbalanced-learn's full distance matrix
        g = race({"gpusmote": (lambda: a.fit_resample(X, y), device)}, repeat)["gpusmote"][0]
        return f"| {label} | {shape} | out of memory ({exc}) | {g:.2f} | n/a | n/a |"
    (g, (Xg, _)), (i, (Xi, _)) = timed["gpusmote"], timed["imblearn"]
    if hasattr(b, "sample_indices_"):
        ia, ib = np.asarray(a.sample_indices_), np.asarray(b.sample_indices_)
        same = np.array_equal(ia, ib)
        if not same and ia.shape == ib.shape and set(ia.tolist()) == set(ib.tolist()):
            same_text = f"same rows, {int((ia != ib).sum()):,} in another order"
        else:
            same_text = "yes" if same else f"no ({len(ia):,} vs {len(ib):,} rows kept)"
    elif Xg.shape == Xi.shape:
        differ = int((~np.isclose(Xg, Xi, rtol=1e-4).all(1)).sum())
        same_text = "yes" if differ == 0 else f"{differ:,} of {len(Xg):,} rows differ"
    else:
        same_text = f"no ({len(Xg):,} vs {len(Xi):,} rows)"
    return f"| {label} | {shape} | {i:.2f} | {g:.2f} | {g / i:.2f} | {same_text} |"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--small-rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", help="comma-separated method names (prefixes) to run")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    big = make_smote_data(args.rows, args.features, args.rows // 10)
    small = make_smote_data(args.small_rows, args.features, args.small_rows // 10)
    print(f"Machine: {machine_description(device)}; device {device}")
    print()
    print(
        "| method | rows x features (minority) | imbalanced-learn (s) | gpusmote (s) | ratio "
        "| same rows |"
    )
    print("|:---|---:|---:|---:|---:|:---|")
    for group, (X, y) in ((BIG, big), (SMALL, small)):
        for name, params in group:
            if args.only and not any(name.startswith(p) for p in args.only.split(",")):
                continue
            print(_row(name, params, X, y, device, args.repeat), flush=True)


if __name__ == "__main__":
    main()
