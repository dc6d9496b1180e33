"""The ``gpusmote`` command line: its arguments and subcommands."""

from __future__ import annotations

import argparse

__all__ = ["build_parser"]

STRATEGY_WORDS = ("auto", "minority", "not minority", "not majority", "all")


def _sampling_strategy(text: str):
    if text in STRATEGY_WORDS:
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a float in (0, 1] or one of {', '.join(STRATEGY_WORDS)}; got {text!r}"
        ) from None
    return value


def build_parser() -> argparse.ArgumentParser:
    from ..datasets import list_datasets
    from . import _commands as commands
    from .demo import DEFAULT_DATASET

    parser = argparse.ArgumentParser(
        prog="gpusmote", description="Resampling for imbalanced data on the GPU or CPU."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="minority recall before and after SMOTE on bundled real data"
    )
    demo.add_argument("--dataset", choices=list_datasets(), default=DEFAULT_DATASET)
    demo.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    demo.add_argument("--plot", metavar="FILE", help="also write a PNG of a 2-D PCA projection")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=commands.demo)

    res = sub.add_parser("resample", help="resample a table file (CSV, Parquet, .npy, .npz, .pt)")
    res.add_argument("input", help="input file; format from the extension")
    res.add_argument("-o", "--output", required=True, help="output file; format from the extension")
    res.add_argument(
        "--target",
        required=True,
        help="label column (name; column index for .npy; array key for .npz/.pt)",
    )
    res.add_argument("--method", choices=commands.METHODS, default="smote")
    res.add_argument("--k-neighbors", type=int, default=5)
    res.add_argument(
        "--sampling-strategy",
        type=_sampling_strategy,
        default="auto",
        help="auto, minority, ..., or a float",
    )
    res.add_argument("--device", default="auto")
    res.add_argument("--backend", default="auto")
    res.add_argument("--seed", type=int, default=None)
    res.add_argument("--plot", metavar="FILE", help="also write a PNG of a 2-D PCA projection")
    res.add_argument("--force", action="store_true", help="replace an existing output")
    res.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    res.set_defaults(func=commands.resample)

    bench = sub.add_parser(
        "bench", help="neighbour search and SMOTE vs scikit-learn / imbalanced-learn"
    )
    bench.add_argument("--size", choices=["small", "medium"], default="small")
    bench.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    bench.add_argument("--json", help="also write the neighbour results to this JSON file")
    bench.set_defaults(func=commands.bench)

    info = sub.add_parser("info", help="versions, devices and neighbour backends")
    info.set_defaults(func=commands.info)
    return parser
