"""The ``--plot`` PNG: a 2-D PCA projection of the rows before and after resampling."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["plot_resampling", "require_matplotlib", "check_plot_path", "PLOT_FORMATS"]

PLOT_FORMATS = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def require_matplotlib():
    """Import matplotlib with the non-interactive Agg backend, or explain how to get it."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            '--plot needs matplotlib: pip install "gpusmote[plot]" (or leave out --plot).'
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_plot_path(path, output=None) -> None:
    """What can be checked before the work starts: matplotlib is installed, the format is
    an image format, the folder exists, and the plot is not the output itself."""
    from pathlib import Path

    from ._files import InputError

    path = Path(path)
    if path.suffix.lower() not in PLOT_FORMATS:
        raise InputError(
            f"--plot {path}: the plot is an image; give a file ending in {', '.join(PLOT_FORMATS)}"
        )
    if not path.parent.is_dir():
        raise InputError(f"--plot {path}: no such folder {path.parent}")
    if path.is_dir():
        raise InputError(f"--plot {path} is a folder; give a file name")
    if output is not None and Path(output).resolve() == path.resolve():
        raise InputError(f"--plot {path} is the output file too; give another name")
    require_matplotlib()


def plot_resampling(X, y, X_res, y_res, path, names=None) -> None:
    """Write an image: original rows by class, synthetic rows (``X_res[len(X):]``)
    highlighted; ``y`` / ``y_res`` as small ints, ``names`` their labels for the legend.

    The projection is fitted on the original rows (centred, top two principal axes); the
    format follows ``path``'s extension (PNG by default).
    """
    plt = require_matplotlib()

    def label(c):
        return names[c] if names is not None else c

    X, X_res, y, y_res = (_host(a) for a in (X, X_res, y, y_res))
    X, X_res = X.double(), X_res.double()
    mean = X.mean(0)
    _, _, v = torch.linalg.svd(X - mean, full_matrices=False)
    axes = v[:2].T
    before = ((X - mean) @ axes).numpy()
    after = ((X_res - mean) @ axes).numpy()
    n = X.shape[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
    for ax, title in ((left, "before"), (right, "after")):
        for c in torch.unique(y).tolist():
            rows = (y == c).numpy()
            ax.scatter(*before[rows].T, s=6, alpha=0.5, label=f"class {label(c)}")
        ax.set_title(f"{title} resampling ({n if title == 'before' else X_res.shape[0]} rows)")
        ax.set_xlabel("PC 1")
    new_labels = y_res[n:]
    for c in torch.unique(new_labels).tolist():
        rows = (new_labels == c).numpy()
        right.scatter(*after[n:][rows].T, s=6, alpha=0.6, marker="x", label=f"synthetic {label(c)}")
    left.set_ylabel("PC 2")
    right.legend(loc="best", markerscale=2)
    fig.tight_layout()
    suffix = str(path).lower().rsplit(".", 1)[-1]
    fmt = (
        {"jpg": "jpeg"}.get(suffix, suffix)
        if suffix in ("png", "pdf", "svg", "jpg", "jpeg")
        else "png"
    )
    fig.savefig(path, dpi=110, format=fmt)
    plt.close(fig)


def _host(a) -> torch.Tensor:
    """A CPU tensor of ``a``, never over read-only memory (pandas' copy-on-write arrays,
    which torch warns about); sparse tensors dense."""
    if isinstance(a, torch.Tensor):
        a = a.detach()
        return (a.to_dense() if a.layout != torch.strided else a).cpu()
    return torch.from_numpy(np.array(a))
