"""The ``gpusmote`` command line: its arguments and subcommands."""

from __future__ import annotations

import argparse

__all__ = ["build_parser"]

STRATEGY_WORDS = ("auto", "minority", "not minority", "not majority", "all")
PLOT_HELP = "also write an image (.png, .pdf, .svg, .jpg) of a 2-D PCA projection"


def _sampling_strategy(text: str):
    """A word, a float, or per-class targets ``LABEL=N[,LABEL=N...]`` (rows after
    resampling), which `_commands` matches to the target's labels."""
    if text in STRATEGY_WORDS:
        return text
    if "=" in text:
        targets = {}
        for part in text.split(","):
            label, _, count = part.rpartition("=")
            try:
                targets[label.strip()] = int(count)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"expected LABEL=N pairs with N a whole number of rows; got {part!r}"
                ) from None
            if not label.strip() or targets[label.strip()] < 0:
                raise argparse.ArgumentTypeError(f"expected LABEL=N with N >= 0; got {part!r}")
        return targets
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(STRATEGY_WORDS)}, a float in (0, 1] (binary "
            f"targets) or LABEL=N,LABEL=N (rows per class after resampling); got {text!r}"
        ) from None
    return value


def _columns(text: str) -> list[str]:
    return [c for c in (part.strip() for part in text.split(",")) if c]


class _Formatter(argparse.HelpFormatter):
    """Defaults shown in --help, for the options that have one."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "(default" in text or default in (None, False, [], argparse.SUPPRESS):
            return text
        return f"{text} (default: {default})"


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from ..datasets import list_datasets
    from . import _commands as commands
    from .demo import DEFAULT_DATASET

    parser = argparse.ArgumentParser(
        prog="gpusmote", description="Resampling for imbalanced data on the GPU or CPU."
    )
    parser.add_argument("--version", action="version", version=f"gpusmote {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="minority recall before and after SMOTE on bundled real data",
        formatter_class=_Formatter,
    )
    demo.add_argument("--dataset", choices=list_datasets(), default=DEFAULT_DATASET)
    demo.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    demo.add_argument("--plot", metavar="FILE", help=PLOT_HELP)
    demo.add_argument("--seed", type=int, default=0, help="the split's and SMOTE's seed")
    demo.set_defaults(func=commands.demo)

    _add_resample(sub, commands)

    bench = sub.add_parser(
        "bench",
        help="neighbour search and SMOTE vs scikit-learn / imbalanced-learn",
        formatter_class=_Formatter,
    )
    bench.add_argument("--size", choices=["small", "medium"], default="small")
    bench.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    bench.add_argument("--json", help="also write the neighbour results to this JSON file")
    bench.set_defaults(func=commands.bench)

    info = sub.add_parser("info", help="versions, devices and neighbour backends")
    info.set_defaults(func=commands.info)
    return parser


def _add_resample(sub, commands) -> None:
    """The ``resample`` command's arguments."""
    res = sub.add_parser(
        "resample",
        help="resample a table file (CSV, Parquet, .npy, .npz, .pt)",
        formatter_class=_Formatter,
    )
    res.add_argument("input", help="input file; format from the extension")
    res.add_argument("-o", "--output", required=True, help="output file; format from the extension")
    res.add_argument(
        "--target",
        required=True,
        help="label column (name; column index for .npy; array key for .npz/.pt)",
    )
    res.add_argument("--method", choices=commands.METHODS, default="smote", help="the sampler")
    res.add_argument("--k-neighbors", type=int, default=5, help="neighbours per minority row")
    res.add_argument(
        "--sampling-strategy",
        type=_sampling_strategy,
        default="auto",
        help="auto, minority, not minority, not majority, all; a float (binary targets: "
        "minority/majority after resampling); or rows per class, e.g. fraud=5000,other=900",
    )
    res.add_argument(
        "--drop",
        type=_columns,
        action="extend",
        default=[],
        metavar="COL[,COL]",
        help="columns to leave out of the features and the output (CSV, Parquet)",
    )
    res.add_argument(
        "--id",
        type=_columns,
        action="extend",
        default=[],
        metavar="COL[,COL]",
        help="identifier columns: not features; kept in the output, empty for new rows",
    )
    res.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    res.add_argument(
        "--backend",
        default="auto",
        help="neighbour engine: auto, torch, kdtree, faiss, faiss-ivf, faiss-hnsw",
    )
    res.add_argument(
        "--max-decompressed",
        metavar="SIZE",
        help="the most a .csv.gz may decompress to, such as 64GiB (default: the memory "
        "available), so that a small file that expands past the memory is refused",
    )
    res.add_argument("--seed", type=int, default=None, help="random seed (default: drawn, printed)")
    res.add_argument("--plot", metavar="FILE", help=PLOT_HELP)
    res.add_argument("--force", action="store_true", help="replace an existing output")
    res.add_argument("--quiet", action="store_true", help="no progress bar, seed or summary")
    res.set_defaults(func=commands.resample)
