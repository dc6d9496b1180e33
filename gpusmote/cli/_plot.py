"""The ``--plot`` PNG: a 2-D PCA projection of the rows before and after resampling."""

from __future__ import annotations

import torch

__all__ = ["plot_resampling", "require_matplotlib"]


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


def plot_resampling(X, y, X_res, y_res, path) -> None:
    """Write a PNG: original rows by class, synthetic rows (``X_res[len(X):]``) highlighted.

    The projection is fitted on the original rows (centred, top two principal axes).
    """
    plt = require_matplotlib()
    X = torch.as_tensor(X).detach().cpu().double()
    X_res = torch.as_tensor(X_res).detach().cpu().double()
    y = torch.as_tensor(y).cpu()
    y_res = torch.as_tensor(y_res).cpu()
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
            ax.scatter(*before[rows].T, s=6, alpha=0.5, label=f"class {c}")
        ax.set_title(f"{title} resampling ({n if title == 'before' else X_res.shape[0]} rows)")
        ax.set_xlabel("PC 1")
    new_labels = y_res[n:]
    for c in torch.unique(new_labels).tolist():
        rows = (new_labels == c).numpy()
        right.scatter(*after[n:][rows].T, s=6, alpha=0.6, marker="x", label=f"synthetic class {c}")
    left.set_ylabel("PC 2")
    right.legend(loc="best", markerscale=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
