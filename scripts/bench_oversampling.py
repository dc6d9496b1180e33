"""The over-sampling family end to end: each gpusmote variant vs its imbalanced-learn twin.

    python scripts/bench_oversampling.py            # 420k x 32, 20k minority, balanced

One table: fit_resample time (best of --repeat, engines interleaved, same process),
the ratio, and whether both returned the same rows. SVMSMOTE runs at a smaller size
(--svm-rows): the scikit-learn SVC both sides fit on every row dominates and grows
quadratically.
"""

import argparse

import numpy as np
import torch

import gpusmote
from gpusmote._bench import _race, machine_description, make_smote_data


def variants():
    from imblearn import over_sampling as imb

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
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=420_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--minority", type=int, default=20_000)
    parser.add_argument("--svm-rows", type=int, default=10_500)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    big = make_smote_data(args.rows, args.features, args.minority)
    small_min = max(50, args.minority * args.svm_rows // args.rows)
    small = make_smote_data(args.svm_rows, args.features, small_min)
    print(f"Machine: {machine_description(device)}; device {device}")
    print()
    print(
        "| variant | rows x features (minority) | imbalanced-learn (s) | gpusmote (s) | ratio "
        "| same rows |"
    )
    print("|:---|---:|---:|---:|---:|:---|")
    for name, ours, theirs, params in variants():
        X, y = small if name == "SVMSMOTE" else big
        print(_row(name, ours, theirs, params, X, y, device, args.repeat))


def _row(name, ours, theirs, params, X, y, device, repeat) -> str:
    cpu = torch.device("cpu")
    engines = {
        "gpusmote": (
            lambda: ours(random_state=0, device=device, **params).fit_resample(X, y),
            device,
        ),
        "imblearn": (lambda: theirs(random_state=0, **params).fit_resample(X, y), cpu),
    }
    timed = _race(engines, repeat)
    (g, (Xg, _)), (i, (Xi, _)) = timed["gpusmote"], timed["imblearn"]
    same = Xg.shape == Xi.shape and np.allclose(Xg, Xi, rtol=1e-4)
    shape = f"{len(y):,} x {X.shape[1]} ({int(y.sum()):,})"
    return f"| {name} | {shape} | {i:.2f} | {g:.2f} | {g / i:.2f} | {'yes' if same else 'no'} |"


if __name__ == "__main__":
    main()
