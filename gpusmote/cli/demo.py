"""``gpusmote demo``: minority recall before and after SMOTE on a bundled real dataset."""

from __future__ import annotations

import time

import numpy as np
import torch

from .._device import resolve_device
from ..datasets import DATASETS, load
from ..over_sampling import SMOTE

__all__ = ["run_demo", "stratified_split", "train_logistic", "classification_report"]

DEFAULT_DATASET = "page_blocks0"


def stratified_split(y: np.ndarray, test_size: float, seed: int):
    """``(train, test)`` row indices: each class split ``1 - test_size`` / ``test_size``."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(test_size * len(rows)))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def train_logistic(X: torch.Tensor, y: torch.Tensor, *, l2: float = 1e-3, steps: int = 200):
    """Binary logistic regression by full-batch L-BFGS: ``(weights (d,), bias ())``.

    Deterministic for a given input (no random initialisation: zeros).
    """
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
    b = torch.zeros((), dtype=X.dtype, device=X.device, requires_grad=True)
    target = y.to(X.dtype)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w + b, target)
        loss = loss + l2 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, labels=(0, 1)):
    """``(rows, confusion)``: per-class (label, precision, recall, f1, support) and the
    confusion matrix (rows: true class, columns: predicted class)."""
    confusion = np.array([[np.sum((y_true == t) & (y_pred == p)) for p in labels] for t in labels])
    rows = []
    for i, label in enumerate(labels):
        tp = confusion[i, i]
        predicted, support = confusion[:, i].sum(), confusion[i, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((label, precision, recall, f1, int(support)))
    return rows, confusion


def _report_text(rows, confusion) -> str:
    lines = ["  class  precision  recall  f1-score  support"]
    for label, p, r, f, s in rows:
        name = "1 (minority)" if label == 1 else "0 (majority)"
        lines.append(f"  {name:<13}{p:>7.3f}{r:>8.3f}{f:>10.3f}{s:>9d}")
    lines.append("  confusion matrix (rows: true 0/1, columns: predicted 0/1):")
    for row in confusion:
        lines.append("    " + "  ".join(f"{v:>6d}" for v in row))
    return "\n".join(lines)


def run_demo(
    dataset: str = DEFAULT_DATASET, *, device="auto", seed: int = 0, plot=None, echo=print
):
    """Run the experiment, print its report with ``echo``; return the two reports' numbers."""
    dev = resolve_device(device)
    timings = []

    def step(name, fn):
        t0 = time.perf_counter()
        result = fn()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        timings.append((name, time.perf_counter() - t0))
        echo(f"[{name}: {timings[-1][1]:.2f} s on {dev}]")
        return result

    echo(f"gpusmote demo: {dataset}: {DATASETS[dataset][1]}")
    X, y = step("load", lambda: load(dataset, return_X_y=True))
    counts = np.bincount(y)
    echo(
        "class distribution: "
        + ", ".join(f"class {c}: {n} rows ({100 * n / len(y):.2f} %)" for c, n in enumerate(counts))
    )
    train, test = stratified_split(y, 0.3, seed)
    echo(f"split 70/30, stratified, seed {seed}: {len(train)} training rows, {len(test)} test rows")
    mean, std = X[train].mean(0), X[train].std(0)
    std[std == 0] = 1.0
    Xs = ((X - mean) / std).astype(np.float32)
    X_train = torch.from_numpy(Xs[train]).to(dev)
    y_train = torch.from_numpy(y[train]).to(dev)
    X_test = torch.from_numpy(Xs[test]).to(dev)

    def evaluate(w, b):
        pred = ((X_test @ w + b) > 0).long().cpu().numpy()
        return classification_report(y[test], pred)

    # torch's first autograd / L-BFGS call pays one-time start-up costs; keep them out
    # of the training times below
    step("torch start-up", lambda: train_logistic(X_train[:64], y_train[:64], steps=2))
    results = {}
    echo("\n== logistic regression on the raw training rows ==")
    w, b = step("train", lambda: train_logistic(X_train, y_train))
    results["raw"] = evaluate(w, b)
    echo(_report_text(*results["raw"]))

    echo("\n== logistic regression after SMOTE(sampling_strategy=0.5, k_neighbors=5) ==")
    smote = SMOTE(sampling_strategy=0.5, k_neighbors=5, random_state=seed, device=dev)
    X_res, y_res = step("SMOTE", lambda: smote.fit_resample(X_train, y_train))
    new_counts = torch.bincount(y_res).tolist()
    echo(f"training rows after SMOTE: class 0: {new_counts[0]}, class 1: {new_counts[1]}")
    w, b = step("train", lambda: train_logistic(X_res, y_res))
    results["smote"] = evaluate(w, b)
    echo(_report_text(*results["smote"]))

    before, after = results["raw"][0][1][2], results["smote"][0][1][2]
    echo(
        f"\nminority-class recall on the test rows: {before:.3f} without SMOTE "
        f"-> {after:.3f} with SMOTE"
    )
    if plot is not None:
        from ._plot import plot_resampling

        step("plot", lambda: plot_resampling(X_train, y_train, X_res, y_res, plot))
        echo(f"plot written to {plot}")
    return {name: {"report": r[0], "confusion": r[1].tolist()} for name, r in results.items()}
