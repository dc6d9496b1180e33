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
        run_neighbors(
            args.size, device=device, memory=args.size == "medium", json_path=args.json, log=False
        )
    )
    print()
    print(run_smote(args.size, device=device))
    return 0


def demo(args) -> int:
    from ._files import atomic_output
    from ._plot import check_plot_path
    from .demo import run_demo

    if args.plot is None:
        run_demo(args.dataset, device=args.device, seed=args.seed)
        return 0
    check_plot_path(args.plot)  # before the work: a missing matplotlib, folder or format
    plot = atomic_output(Path(args.plot), force=True, suffix=Path(args.plot).suffix, param="plot")
    try:
        run_demo(args.dataset, device=args.device, seed=args.seed, plot=plot.tmp)
        plot.commit()
    except BaseException:
        plot.discard()
        raise
    return 0


def resample(args) -> int:
    import os

    from .._validation import parse_memory
    from ..over_sampling import SMOTE
    from ._files import (
        InputError,
        atomic_output,
        check_output,
        check_writer,
        read_table,
        write_table,
    )

    say = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    out_path, in_path = Path(args.output), Path(args.input)
    check_writer(out_path)  # a known format, and pandas / pyarrow where it needs them
    max_decompressed = parse_memory(args.max_decompressed, "--max-decompressed")
    if args.plot is not None:
        from ._plot import check_plot_path

        check_plot_path(args.plot, output=out_path)
    outputs = [atomic_output(out_path, force=args.force)]  # refuses an existing output now
    for stale in outputs[0].stale:
        say(f"removed {stale}, left by an interrupted run")
    try:
        if args.plot is not None:
            plot_path = Path(args.plot)
            outputs.append(
                atomic_output(plot_path, force=args.force, suffix=plot_path.suffix, param="plot")
            )
        table = read_table(
            in_path, args.target, drop=args.drop, ids=args.id, max_decompressed=max_decompressed
        )
        check_output(table, out_path)  # text labels into .npy, --id into arrays: not after
        strategy = _strategy_for(args.sampling_strategy, table)
        seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
        sampler = {"smote": SMOTE}[args.method](
            sampling_strategy=strategy,
            k_neighbors=args.k_neighbors,
            random_state=seed,
            device=args.device,
            backend=args.backend,
        )
        # a tqdm bar on a terminal, nothing in logs and pipes
        X_res, y_res = sampler.fit_resample(table.X, table.y, progress=not args.quiet and "auto")
        try:
            write_table(table, X_res, y_res, outputs[0].tmp)
        except OSError as exc:
            raise InputError(f"{out_path}: cannot write it ({exc.strerror or exc})") from None
        if args.plot is not None:
            from ._plot import plot_resampling

            *arrays, names = _plot_inputs(table, X_res, y_res)
            plot_resampling(*arrays, outputs[1].tmp, names=names)
        for output in outputs:
            output.commit()
    except BaseException:
        for output in outputs:
            output.discard()
        raise
    added = {str(c): n for c, n in sampler.sampling_strategy_.items()}
    say(f"wrote {out_path}: {len(y_res)} rows ({len(y_res) - len(table.y)} synthetic: {added})")
    if args.seed is None:
        say(f"seed: {seed} (pass --seed {seed} to repeat this run)")
    return 0


def _strategy_for(spec, table):
    """``--sampling-strategy``: a word or a float as given; ``LABEL=N,...`` as a dict keyed
    by the target's own labels (matched by their text)."""
    if not isinstance(spec, dict):
        return spec
    import numpy as np

    from ._files import InputError

    labels = {str(v.item() if hasattr(v, "item") else v): v for v in np.unique(_values(table.y))}
    out = {}
    for key, n in spec.items():
        if key not in labels:
            raise InputError(
                f"--sampling-strategy names class {key!r}, which {table.target!r} does not "
                f"hold; its classes are {sorted(labels)}"
            )
        label = labels[key]
        out[label.item() if hasattr(label, "item") else label] = n
    return out


def _values(a):
    """A column, array or tensor (sparse and bfloat16 ones too) as a host numpy array."""
    from ._files import _numpy

    return a.to_numpy() if hasattr(a, "to_numpy") else _numpy(a)


def _plot_inputs(table, X_res, y_res):
    """``(X, codes, X_res, codes_res, names)`` for `plot_resampling`: the labels as small
    ints, with their real names for the legend."""
    import numpy as np

    y, y_new = _values(table.y), _values(y_res)
    names, codes = np.unique(y, return_inverse=True)
    codes_res = np.searchsorted(names, y_new)
    return _values(table.X), codes.reshape(-1), _values(X_res), codes_res, [str(n) for n in names]
