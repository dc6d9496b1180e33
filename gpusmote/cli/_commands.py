"""What each ``gpusmote`` command does: ``info``, ``bench``, ``demo``, ``resample``."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["info", "bench", "demo", "resample"]

# the samplers `gpusmote resample --method` offers
METHODS = ("smote",)


def info(args) -> int:
    import numpy
    import torch

    from .. import __version__

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
    try:
        import scipy

        backends.append(f"kdtree (scipy {scipy.__version__}, exact)")
    except ModuleNotFoundError:
        backends.append('kdtree: not installed (pip install "gpusmote[kdtree]")')
    print("neighbour backends: " + "; ".join(backends))
    return 0


def bench(args) -> int:
    from .._device import resolve_device
    from .bench import run_neighbors, run_smote

    device = resolve_device(args.device)
    missing = []
    for module, name in (
        ("sklearn", "scikit-learn"),
        ("faiss", "faiss-cpu"),
        ("imblearn", "imbalanced-learn"),
    ):
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
    print(
        run_neighbors(args.size, device=device, memory=args.size == "medium", json_path=args.json)
    )
    print()
    print(run_smote(args.size, device=device))
    return 0


def demo(args) -> int:
    from .demo import run_demo

    try:
        run_demo(args.dataset, device=args.device, seed=args.seed, plot=args.plot)
    except (ModuleNotFoundError, RuntimeError) as exc:
        print(f"gpusmote demo: error: {exc}", file=sys.stderr)
        return 2
    return 0


def resample(args) -> int:
    from ..over_sampling import SMOTE
    from ._files import InputError, atomic_output, detect_format, read_table, write_table
    from ._progress import Progress

    steps = ["reading", "neighbour search", "generation", "writing"]
    progress = Progress(steps, enabled=not args.quiet)
    say = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        out_path, in_path = Path(args.output), Path(args.input)
        detect_format(out_path)
        output = atomic_output(out_path, force=args.force)  # refuses an existing output now
        try:
            progress.step("reading")
            table = read_table(in_path, args.target)
            sampler = {"smote": SMOTE}[args.method]
            smote = sampler(
                sampling_strategy=args.sampling_strategy,
                k_neighbors=args.k_neighbors,
                random_state=args.seed,
                device=args.device,
                backend=args.backend,
            )
            smote._on_step = progress.step
            X_res, y_res = smote.fit_resample(table.X, table.y)
            progress.step("writing")
            with output as tmp:
                write_table(table, X_res, y_res, tmp)
        except BaseException:
            output.__exit__(RuntimeError, None, None)  # remove the temporary file
            raise
        if args.plot:
            from ._plot import plot_resampling

            plot_resampling(
                table.X.to_numpy() if hasattr(table.X, "to_numpy") else table.X,
                _codes(table.y),
                X_res.to_numpy() if hasattr(X_res, "to_numpy") else X_res,
                _codes(y_res),
                args.plot,
            )
        progress.done()
    except (InputError, ValueError, TypeError, RuntimeError, ModuleNotFoundError) as exc:
        progress.done()
        print(f"gpusmote resample: error: {exc}", file=sys.stderr)
        return 2
    added = {str(c): n for c, n in smote.sampling_strategy_.items()}
    say(f"wrote {out_path}: {len(y_res)} rows ({len(y_res) - len(table.y)} synthetic: {added})")
    return 0


def _codes(y):
    """Labels as small ints for plotting (any label type)."""
    import numpy as np

    values = y.detach().cpu().numpy() if hasattr(y, "detach") else np.asarray(y)
    return np.unique(values, return_inverse=True)[1].reshape(-1)
