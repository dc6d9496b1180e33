"""Chained float32 products (issue #28): on the CPU, products over more than
`CHAIN_DEPTH` features are summed from slices, each computed alone and then added, so
that their rounding bound is CHAIN_DEPTH + slices float32 units, not d; wide rows of
heavy tails then certify in float32 where they needed float64 scores."""

import numpy as np
import pytest
import torch

from gpusmote.datasets import make_dataset as make
from gpusmote.neighbors import collect_stats, kneighbors
from gpusmote.neighbors._exact import Problem, chained_units, unit_roundoffs
from gpusmote.neighbors._memory import CHAIN_BLOCK, CHAIN_DEPTH
from gpusmote.neighbors._precision import score_precision
from gpusmote.neighbors._torch import product

from .reference import chunked_kneighbors


@pytest.mark.parametrize("shape", [(700, 1617, 530), (64, 300, 1100), (513, 257, 513)])
def test_a_chained_product_stays_within_its_bound(shape):
    """Every entry within (CHAIN_DEPTH + slices) float32 units of the sum of its terms'
    magnitudes (the bound `chained_units` gives the certificate), on heavy tails whose
    terms cancel, in blocks that do not divide the output evenly."""
    r, inner, w = shape
    g = torch.Generator().manual_seed(0)
    a = torch.randn(r, inner, generator=g) * torch.rand(r, inner, generator=g) ** -2
    b = torch.randn(inner, w, generator=g)
    out = torch.full((r, w), float("nan"))
    part = torch.empty(CHAIN_BLOCK * CHAIN_BLOCK)
    product(a, b, out, CHAIN_DEPTH, part)
    exact = a.double() @ b.double()
    terms = a.double().abs() @ b.double().abs()
    slices = -(-inner // CHAIN_DEPTH)
    bound = (CHAIN_DEPTH + slices) * 2.0**-24 * terms
    assert torch.isfinite(out).all()
    assert ((out.double() - exact).abs() <= bound).all()
    # the bound the certificate uses is no looser than this one
    _u_in, u_acc = chained_units(inner - 2, CHAIN_DEPTH)
    assert u_acc * (inner - 2 + 6) >= (CHAIN_DEPTH + slices) * 2.0**-24


def test_narrow_products_are_one_product():
    a, b = torch.randn(40, CHAIN_DEPTH), torch.randn(CHAIN_DEPTH, 30)
    out = torch.empty(40, 30)
    assert torch.equal(product(a, b, out, CHAIN_DEPTH), a @ b)
    # and the plain bound is kept where a chain would not be tighter
    assert chained_units(10, CHAIN_DEPTH) == (0.0, unit_roundoffs(torch.float32)[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_wide_heavy_tails_certify_in_chained_float32(dtype):
    """1,500 x 1,617 heavy tails: one float32 product's bound (d units) is too coarse
    to certify them, the chain's (CHAIN_DEPTH + 7) is not; exact, few rows rechecked."""
    X, _ = make("heavy_tails", 1500, 1617)
    Xt = torch.as_tensor(X, dtype=dtype)
    P = Problem(Xt, Xt, 4, True, 1 << 28, 8)
    assert score_precision(P, 0) == "chained"
    with collect_stats() as stats:
        dist, ind = kneighbors(Xt, 3, device="cpu", backend="torch")
    assert stats[-1].score_dtype == "chained"
    assert stats[-1].rechecked <= 0.01 * len(X)
    ref_d, ref_i = chunked_kneighbors(X.astype(np.float64), 3)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    rtol = 1e-12 if dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(dist.double().numpy(), ref_d, rtol=rtol, atol=0)


def test_a_wide_self_search_chains_its_symmetric_blocks(monkeypatch):
    """3,100 x 300 heavy tails, a row in seven a duplicate (exact ties at distance 0):
    the symmetric path for wide rows, on chained float32 scores, with the reference's
    neighbours."""
    import gpusmote.neighbors._api as api

    X, _ = make("heavy_tails", 3100, 300)
    X[1::7] = X[::7][: len(X[1::7])]
    ran = []
    real = api.symmetric_candidates
    monkeypatch.setattr(api, "symmetric_candidates", lambda *a: ran.append(1) or real(*a))
    with collect_stats() as stats:
        dist, ind = kneighbors(X, 2, device="cpu", backend="torch")
    assert ran and stats[-1].score_dtype == "chained"
    ref_d, ref_i = chunked_kneighbors(X.astype(np.float64), 2, rows=256)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.double().numpy(), ref_d, rtol=1e-6, atol=0)
