"""The ``gpusmote`` command: ``gpusmote info`` and ``gpusmote bench``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _info(args) -> int:
    import numpy
    import torch

    from . import __version__

    print(f"gpusmote {__version__}")
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, numpy {numpy.__version__}")
    print(f"cpu threads: {torch.get_num_threads()}")
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            print(
                f"cuda:{i}: {torch.cuda.get_device_name(i)}, "
                f"{free / 2**30:.1f} GiB free of {total / 2**30:.1f} GiB"
            )
    else:
        print("cuda: not available")
    backends = ["torch (exact)"]
    try:
        import faiss

        backends.append(
            f"faiss {faiss.__version__} (faiss-flat exact; faiss-ivf, faiss-hnsw approximate)"
        )
    except ModuleNotFoundError:
        backends.append('faiss: not installed (pip install "gpusmote[faiss]")')
    print("neighbour backends: " + "; ".join(backends))
    return 0


def _bench(args) -> int:
    from ._bench import run_neighbors
    from ._device import resolve_device

    device = resolve_device(args.device)
    missing = []
    for module, name in (("sklearn", "scikit-learn"), ("faiss", "faiss-cpu")):
        try:
            __import__(module)
        except ModuleNotFoundError:
            missing.append(name)
    if missing:
        print(
            f"Note: {', '.join(missing)} not installed: those columns show n/a "
            '(pip install "gpusmote[test]" for the peers).',
            file=sys.stderr,
        )
    print(run_neighbors(args.size, device=device, memory=args.size == "full", json_path=args.json))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="gpusmote", description="Resampling for imbalanced data on the GPU or CPU."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="versions, devices and neighbour backends")
    info.set_defaults(func=_info)
    bench = sub.add_parser("bench", help="neighbour search vs scikit-learn and faiss")
    bench.add_argument("--size", choices=["small", "full"], default="small")
    bench.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    bench.add_argument("--json", help="also write the results to this JSON file")
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
