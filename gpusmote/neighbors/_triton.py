"""A fused Triton kernel for the torch engine's blocks: the scores of a (query tile,
database tile) block are computed in registers and only each query's minimum per group
of ``g`` columns is written, so the (r, w) block never reaches memory. The candidate
groups' scores are then recomputed (kc * g per query instead of w) and selected.

Opt-in for now (``GPUSMOTE_TRITON=1``), on CUDA where Triton is installed: it has been
checked only in Triton's interpreter, and becomes the default once a card has run
``scripts/gpu_check.sh`` (its ``fused`` step times it against the torch path). On the CPU
it runs only under the interpreter (``TRITON_INTERPRET=1`` too), as the tests use it.

The kernel's products (``GPUSMOTE_TRITON_PRECISION``):

- ``ieee`` (default): float32 products, float32 accumulation;
- ``tf32``: inputs truncated to TF32's 10-bit mantissa (then exact on the tensor cores),
  each product within ``2**-9`` of the true one, relative to ``|x||y|``;
- ``bf16x3``: each input split into two bfloat16 parts, ``x = hi + lo`` (truncated, so
  exact), and ``hi.hi + hi.lo + lo.hi`` on the tensor cores: within ``3 * 2**-14``.

Truncating in the kernel, rather than leaving the conversion to the hardware, makes the
bound hold whatever the card's rounding mode, and makes Triton's interpreter compute the
same products (there the bfloat16 products run as float32 ones: the parts are exact, so
their products are too).

Exactness: the group minima (the kernel's bound ``s_k``) and the recomputed candidate
scores (float32, ``s``) are two evaluations of the same products. Every non-candidate
then scores at least ``t - 2 s_k - s`` against the largest candidate score ``t`` (``t``
is at most the largest selected minimum plus ``s_k + s``; a row of an unselected group
scores at least that minimum less ``s_k``; a row of a selected group at least ``t - s``
and more), so the certificate's slack is ``2 s_k + s`` (`slack`).
"""

from __future__ import annotations

import os

import torch

__all__ = ["enabled", "disable", "block_candidates", "precision", "slack"]

# the kernel's products: mode code, (input rounding, accumulation unit) they add to the
# working coordinates' own
PRECISIONS = {"ieee": (0, 0.0, 1.0), "tf32": (1, 2.0**-10, 1.0), "bf16x3": (2, 1.5 * 2.0**-14, 3.0)}
_BM, _BN, _BK = 32, 64, 16  # tile of one program; _BN a multiple of every group size used

_kernel = None


_failed: list[str] = []  # why the kernel could not run in this process, once it failed


def disable(exc: Exception) -> None:
    """The kernel failed on its first block (a card or a Triton it cannot compile for):
    warn once; this process's searches keep the torch path."""
    import warnings

    _failed.append(f"{type(exc).__name__}: {exc}")
    warnings.warn(
        f"GPUSMOTE_TRITON=1: the fused kernel could not run ({_failed[0][:300]}); "
        "the neighbour searches use the torch path.",
        RuntimeWarning,
        stacklevel=2,
    )


def enabled(device: torch.device, g: int) -> bool:
    """Whether the engine's blocks on ``device`` with groups of ``g`` use the kernel."""
    if os.environ.get("GPUSMOTE_TRITON", "") != "1" or g <= 1 or _BN % g or _failed:
        return False
    if device.type == "cpu" and os.environ.get("TRITON_INTERPRET") != "1":
        return False
    if device.type not in ("cpu", "cuda"):
        return False
    return _load() is not None


def precision() -> str:
    """The kernel's products: ``GPUSMOTE_TRITON_PRECISION`` (ieee, tf32 or bf16x3)."""
    name = os.environ.get("GPUSMOTE_TRITON_PRECISION", "ieee")
    if name not in PRECISIONS:
        from .._validation import fmt_error

        raise ValueError(fmt_error("GPUSMOTE_TRITON_PRECISION", f"one of {list(PRECISIONS)}", name))
    return name


def slack(P, y_norm: torch.Tensor, x_max: float):
    """The certificate's slack for candidates from the kernel: ``2 s_k + s`` (see above),
    a function of the k-th distances as `Problem.slack_at` gives."""
    _, u_in, acc = PRECISIONS[precision()]
    kernel_units = (P.u_in + u_in, P.u_acc * acc)

    def bound(d2_k):
        s_k = P.slack(y_norm, x_max, d2_k, units=kernel_units)
        return 2.0 * s_k + P.slack(y_norm, x_max, d2_k)

    return bound


def _load():
    global _kernel
    if _kernel is not None:
        return _kernel
    try:
        import triton
        import triton.language as tl
    except ModuleNotFoundError:
        return None

    @triton.jit
    def group_minima(
        Y, C, OUT, r, w, k, q0, d0, n_groups,
        stride_y, stride_c, stride_o,
        EXCLUDE: tl.constexpr, G: tl.constexpr, PREC: tl.constexpr, EMULATE: tl.constexpr,
        BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
    ):  # fmt: skip
        pm = tl.program_id(0)
        pn = tl.program_id(1)
        rm = pm * BM + tl.arange(0, BM)
        rn = pn * BN + tl.arange(0, BN)
        acc = tl.zeros((BM, BN), dtype=tl.float32)
        for k0 in range(0, k, BK):
            rk = k0 + tl.arange(0, BK)
            a = tl.load(
                Y + rm[:, None] * stride_y + rk[None, :],
                mask=(rm[:, None] < r) & (rk[None, :] < k),
                other=0.0,
            )
            b = tl.load(
                C + rk[:, None] * stride_c + rn[None, :],
                mask=(rk[:, None] < k) & (rn[None, :] < w),
                other=0.0,
            )
            # padding columns carry +inf norms: finite here, so that the zero rows of
            # a partial query tile give 0, not NaN (0 * inf); they stay unselectable
            b = tl.minimum(b, 3.0e38)
            if PREC == 0:
                acc += tl.dot(a, b, input_precision="ieee")
            elif PREC == 1:  # TF32: 1 + 10 mantissa bits, truncated (exact on the cores)
                at = (a.to(tl.uint32, bitcast=True) & 0xFFFFE000).to(tl.float32, bitcast=True)
                bt = (b.to(tl.uint32, bitcast=True) & 0xFFFFE000).to(tl.float32, bitcast=True)
                if EMULATE:  # products of 11-bit mantissas are exact in float32
                    acc += tl.dot(at, bt, input_precision="ieee")
                else:
                    acc += tl.dot(at, bt, input_precision="tf32")
            else:  # bfloat16 x 3: x = hi + lo, both exact bfloat16 values
                ah = (a.to(tl.uint32, bitcast=True) & 0xFFFF0000).to(tl.float32, bitcast=True)
                bh = (b.to(tl.uint32, bitcast=True) & 0xFFFF0000).to(tl.float32, bitcast=True)
                al = a - ah
                bl = b - bh
                al = (al.to(tl.uint32, bitcast=True) & 0xFFFF0000).to(tl.float32, bitcast=True)
                bl = (bl.to(tl.uint32, bitcast=True) & 0xFFFF0000).to(tl.float32, bitcast=True)
                if EMULATE:  # products of 8-bit mantissas are exact in float32
                    acc += tl.dot(ah, bh, input_precision="ieee")
                    acc += tl.dot(ah, bl, input_precision="ieee")
                    acc += tl.dot(al, bh, input_precision="ieee")
                else:
                    ahb, bhb = ah.to(tl.bfloat16), bh.to(tl.bfloat16)
                    acc += tl.dot(ahb, bhb)
                    acc += tl.dot(ahb, bl.to(tl.bfloat16))
                    acc += tl.dot(al.to(tl.bfloat16), bhb)
        big = float("inf")
        acc = tl.where(rn[None, :] < w, acc, big)
        if EXCLUDE:
            acc = tl.where((rm[:, None] + q0) == (rn[None, :] + d0), big, acc)
        mins = tl.min(tl.reshape(acc, (BM, BN // G, G)), axis=2)
        rg = pn * (BN // G) + tl.arange(0, BN // G)
        tl.store(
            OUT + rm[:, None] * stride_o + rg[None, :],
            mins,
            mask=(rm[:, None] < r) & (rg[None, :] < n_groups),
        )

    _kernel = (triton, group_minima)
    return _kernel


def group_minima(yw: torch.Tensor, cols: torch.Tensor, g: int, q0: int, d0: int, exclude: bool):
    """(r, w // g) float32: each query's smallest score ``yw @ cols`` per group of g
    columns, its own row (``exclude``: query ``q0 + i`` is row ``d0 + j``) left out."""
    triton, kernel = _load()
    r, k = yw.shape
    w = cols.shape[1]
    n_groups = w // g
    yw, cols = yw.contiguous(), cols.contiguous()
    out = torch.empty((r, n_groups), dtype=torch.float32, device=yw.device)
    grid = (triton.cdiv(r, _BM), triton.cdiv(w, _BN))
    kernel[grid](
        yw, cols, out, r, w, k, q0, d0, n_groups,
        yw.stride(0), cols.stride(0), out.stride(0),
        EXCLUDE=exclude, G=g, PREC=PRECISIONS[precision()][0],
        EMULATE=os.environ.get("TRITON_INTERPRET") == "1", BM=_BM, BN=_BN, BK=_BK,
    )  # fmt: skip
    return out


def block_candidates(
    yw: torch.Tensor, cols: torch.Tensor, q0: int, d0: int, kc: int, g: int, exclude: bool
):
    """The kc smallest scores of each query in this block and their columns (as
    `_exact.select_block` gives them), from the kernel's group minima: the kc groups
    with the smallest minima, their scores recomputed, the kc smallest kept."""
    r, w = yw.shape[0], cols.shape[1]
    mins = group_minima(yw, cols, g, q0, d0, exclude)
    kg = min(kc, mins.shape[1])
    _, gi = mins.topk(kg, dim=1, largest=False, sorted=False)  # (r, kg)
    groups = cols.view(cols.shape[0], w // g, g).permute(1, 0, 2)  # (w // g, k, g)
    values = torch.empty((r, kg * g), dtype=cols.dtype, device=cols.device)
    step = max(1, (1 << 24) // max(1, kg * g * cols.shape[0]))  # ~64 MiB of gathered groups
    for a in range(0, r, step):
        b = min(r, a + step)
        sel = groups[gi[a:b]]  # (c, kg, k, g)
        values[a:b] = torch.einsum("ck,cjkg->cjg", yw[a:b], sel).reshape(b - a, kg * g)
    columns = (gi.unsqueeze(2) * g + torch.arange(g, device=cols.device)).view(r, kg * g)
    if exclude:
        own = (torch.arange(q0, q0 + r, device=cols.device) - d0).unsqueeze(1)
        values.masked_fill_(columns == own, float("inf"))
    v, j = values.topk(min(kc, kg * g), dim=1, largest=False, sorted=False)
    return v, columns.gather(1, j) + d0
