"""The over-sampling family end to end: each gpusmote variant vs its imbalanced-learn twin.

    python scripts/bench_oversampling.py            # 420k x 32, 20k minority, balanced

One table: fit_resample time (best of --repeat, engines interleaved, same process),
the ratio, and whether both returned the same rows. SVMSMOTE runs at a smaller size
(--svm-rows): the scikit-learn SVC both sides fit on every row dominates and grows
quadratically. SMOTEN too (--nominal-rows): imbalanced-learn builds the class's full
distance matrix (20k minority rows: 3.2 GB and minutes). SMOTENC's data has 4 of the
columns as categories 0-9, SMOTEN's all 32. KMeansSMOTE runs twice: with each side's
default clustering (gpusmote's Lloyd k-means, imbalanced-learn's MiniBatchKMeans; not
the same rows), and with scikit-learn's MiniBatchKMeans given to both.
"""

import argparse

import numpy as np
import torch

import gpusmote
from gpusmote.cli.bench import machine_description, make_smote_data, race


def variants():
    from imblearn import over_sampling as imb
    from sklearn.cluster import MiniBatchKMeans

    kmeans = {"cluster_balance_threshold": 0.05}
    return [
        ("RandomOverSampler", gpusmote.RandomOverSampler, imb.RandomOverSampler, {}),
        ("SMOTE", gpusmote.SMOTE, imb.SMOTE, {}),
        (
            "BorderlineSMOTE-1",
            gpusmote.BorderlineSMOTE,
            imb.BorderlineSMOTE,
            {"kind": "borderline-1"},
        ),
        (
            "BorderlineSMOTE-2",
            gpusmote.BorderlineSMOTE,
            imb.BorderlineSMOTE,
            {"kind": "borderline-2"},
        ),
        ("ADASYN", gpusmote.ADASYN, imb.ADASYN, {}),
        ("SVMSMOTE", gpusmote.SVMSMOTE, imb.SVMSMOTE, {}),
        ("KMeansSMOTE (own k-means each)", gpusmote.KMeansSMOTE, imb.KMeansSMOTE, kmeans),
        (
            "KMeansSMOTE (MiniBatchKMeans both)",
            gpusmote.KMeansSMOTE,
            imb.KMeansSMOTE,
            {**kmeans, "kmeans_estimator": MiniBatchKMeans(random_state=0)},
        ),
        ("SMOTENC", gpusmote.SMOTENC, imb.SMOTENC, {"categorical_features": [0, 1, 2, 3]}),
        ("SMOTEN", gpusmote.SMOTEN, imb.SMOTEN, {}),
    ]


def _categorical(X, columns):
    """Columns ``columns`` of X as integer categories 0-9 (same dtype)."""
    out = X.copy()
    out[:, columns] = np.floor(np.clip(X[:, columns] * 2 + 5, 0, 9))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=420_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--minority", type=int, default=20_000)
    parser.add_argument("--svm-rows", type=int, default=10_500)
    parser.add_argument("--nominal-rows", type=int, default=105_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", help="comma-separated variant names (prefixes) to run")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    big = make_smote_data(args.rows, args.features, args.minority)
    small_min = max(50, args.minority * args.svm_rows // args.rows)
    small = make_smote_data(args.svm_rows, args.features, small_min)
    nom_min = max(50, args.minority * args.nominal_rows // args.rows)
    nominal = make_smote_data(args.nominal_rows, args.features, nom_min)
    data = {
        "SVMSMOTE": small,
        "SMOTENC": (_categorical(big[0], [0, 1, 2, 3]), big[1]),
        "SMOTEN": (
            _categorical(nominal[0], list(range(args.features))).astype(np.int64),
            nominal[1],
        ),
    }
    print(f"Machine: {machine_description(device)}; device {device}")
    print()
    print(
        "| variant | rows x features (minority) | imbalanced-learn (s) | gpusmote (s) | ratio "
        "| same rows |"
    )
    print("|:---|---:|---:|---:|---:|:---|")
    for name, ours, theirs, params in variants():
        if args.only and not any(name.startswith(p) for p in args.only.split(",")):
            continue
        X, y = data.get(name, big)
        print(_row(name, ours, theirs, params, X, y, device, args.repeat), flush=True)


def _row(name, ours, theirs, params, X, y, device, repeat) -> str:
    cpu = torch.device("cpu")
    engines = {
        "gpusmote": (
            lambda: ours(random_state=0, device=device, **params).fit_resample(X, y),
            device,
        ),
        "imblearn": (lambda: theirs(random_state=0, **params).fit_resample(X, y), cpu),
    }
    timed = race(engines, repeat)
    (g, (Xg, _)), (i, (Xi, _)) = timed["gpusmote"], timed["imblearn"]
    if Xg.shape != Xi.shape:
        same = f"no ({len(Xg) - len(y):,} vs {len(Xi) - len(y):,} new rows)"
    else:
        close = np.isclose(Xg.astype(np.float64), Xi.astype(np.float64), rtol=1e-4).all(1)
        differ = int((~close).sum())
        same = "yes" if differ == 0 else f"{differ:,} of {len(Xg) - len(y):,} new rows differ"
    shape = f"{len(y):,} x {X.shape[1]} ({int(y.sum()):,})"
    return f"| {name} | {shape} | {i:.2f} | {g:.2f} | {g / i:.2f} | {same} |"


if __name__ == "__main__":
    main()
