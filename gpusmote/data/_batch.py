"""``smote_batch``: SMOTE inside one batch, differentiable, on the batch's device."""

from __future__ import annotations

import warnings

import torch

from .._docs import fill_doc
from .._strategy import resolve
from .._validation import check_finite, check_int, fmt_error
from ..neighbors import kneighbors

__all__ = ["smote_batch"]

_warned = False


@fill_doc
def smote_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    k_neighbors: int = 5,
    sampling_strategy="auto",
    generator=None,
):
    """``(x_out, y_out)``: the batch, then synthetic rows of its under-represented classes.

    For embeddings produced in the forward pass: neighbours are found among the batch's
    own rows of each class (no gradient through the search), and each new row
    ``x_i + u * (x_nn - x_i)`` is differentiable with respect to ``x``. Classes with at
    most ``k_neighbors`` rows in the batch are left as they are (warned about once).

    Parameters
    ----------
    x : tensor (b, d), floating
    y : tensor (b,), integer labels, same device
    k_neighbors : int
    {sampling_strategy_over}
        The class counts are those of the batch.
    generator : torch.Generator, optional
        Draws on the batch's device; default: torch's default generator for that device.

    Examples
    --------
    >>> import torch
    >>> from gpusmote import smote_batch
    >>> x = torch.randn(40, 8, requires_grad=True)
    >>> y = torch.tensor([0] * 32 + [1] * 8)
    >>> x2, y2 = smote_batch(x, y, k_neighbors=3, generator=torch.Generator().manual_seed(0))
    >>> torch.bincount(y2).tolist()
    [32, 32]
    >>> x2.sum().backward()  # gradients reach x through the new rows too
    """
    global _warned
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim != 2:
        raise TypeError(
            fmt_error("x", "a 2-D floating tensor", getattr(x, "shape", type(x).__name__))
        )
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(
            fmt_error("y", f"a 1-D tensor with {x.shape[0]} labels", getattr(y, "shape", y))
        )
    if y.is_floating_point():
        raise TypeError(fmt_error("y", "integer labels", y.dtype))
    if x.shape[0] == 0:
        raise ValueError(fmt_error("x", "a batch with at least one row", tuple(x.shape)))
    k = check_int(k_neighbors, "k_neighbors", minimum=1)
    classes, counts = torch.unique(y, return_counts=True)
    strategy = resolve(
        sampling_strategy,
        dict(zip(classes.tolist(), counts.tolist(), strict=True)),
        "over-sampling",
    )
    new_x, new_y = [x], [y]
    skipped = []
    for label, n_new in strategy.items():
        if n_new == 0:
            continue
        rows = (y == label).nonzero().squeeze(1)
        if rows.numel() <= k:
            skipped.append((label, rows.numel()))
            continue
        xc = x[rows]
        check_finite(xc.detach(), "x")  # a diverged model's NaN must not become new rows
        nn = kneighbors(xc.detach(), k, return_distance=False)
        flat = torch.randint(0, nn.numel(), (n_new,), generator=generator, device=x.device)
        gap = torch.rand(n_new, 1, generator=generator, device=x.device, dtype=x.dtype)
        base = xc[flat // k]
        new_x.append(base + gap * (xc[nn.view(-1)[flat]] - base))
        new_y.append(torch.full((n_new,), label, dtype=y.dtype, device=y.device))
    if skipped and not _warned:
        _warned = True
        warnings.warn(
            f"smote_batch: classes with at most k_neighbors={k} rows in the batch are left "
            f"as they are: {skipped} (label, rows). Larger or balanced batches avoid this; "
            "this warning is shown once.",
            RuntimeWarning,
            stacklevel=2,
        )
    return torch.cat(new_x), torch.cat(new_y)
