"""Running out of device memory inside the engine: halve the tiles and retry."""

import logging

import numpy as np
import pytest
import torch

import gpusmote.neighbors._torch as engine
from gpusmote.neighbors import kneighbors

from .reference import naive_kneighbors


def _failing(monkeypatch, times):
    """Make the first ``times`` block selections raise a (CUDA-style) out-of-memory error;
    returns the list of the working memories the searches were planned for."""
    calls = {"n": 0}
    original = engine.select_block

    def select(scores, kc, g):
        calls["n"] += 1
        if calls["n"] <= times:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return original(scores, kc, g)

    monkeypatch.setattr(engine, "select_block", select)
    return calls


def test_injected_out_of_memory_halves_and_retries(monkeypatch, caplog):
    X = np.random.default_rng(0).normal(size=(900, 6)).astype(np.float32)
    calls = _failing(monkeypatch, times=2)
    with caplog.at_level(logging.DEBUG, logger="gpusmote.neighbors"):
        dist, ind = kneighbors(X, 4, device="cpu", backend="torch", max_memory="8MiB")
    messages = [r.getMessage() for r in caplog.records if "out of memory" in r.getMessage()]
    assert messages == [
        f"out of memory in a search with max_memory={8 << 20} bytes; retrying with {4 << 20}",
        f"out of memory in a search with max_memory={4 << 20} bytes; retrying with {2 << 20}",
    ]
    assert calls["n"] > 2
    ref_d, ref_i = naive_kneighbors(X.astype(np.float64), 4)
    np.testing.assert_array_equal(ind.numpy(), ref_i)
    np.testing.assert_allclose(dist.numpy(), ref_d, rtol=1e-6)


def test_out_of_memory_at_the_floor_is_raised(monkeypatch):
    X = np.random.default_rng(1).normal(size=(300, 4)).astype(np.float32)
    _failing(monkeypatch, times=10**9)
    with pytest.raises(torch.OutOfMemoryError, match="injected"):
        kneighbors(X, 3, device="cpu", backend="torch", max_memory="4MiB")


def test_too_small_after_halving_says_out_of_memory(monkeypatch):
    """When the halved memory cannot hold a tile, the error is still out-of-memory,
    not the max_memory message meant for the caller's own setting."""
    # the smallest step of 20,000 features (a query's candidates refined, slices of a
    # query and of 64 database rows) takes about 2 MB: it fits in 3 MiB, not in 1.5
    X = np.random.default_rng(2).normal(size=(60, 20_000)).astype(np.float32)
    _failing(monkeypatch, times=10**9)
    with pytest.raises(torch.OutOfMemoryError, match="too little for one tile"):
        kneighbors(X, 3, device="cpu", max_memory="3MiB", backend="torch")


def test_max_memory_too_small_for_one_tile_row_is_a_clear_error():
    X = np.random.default_rng(3).normal(size=(3000, 400)).astype(np.float32)
    with pytest.raises(ValueError, match=r"max_memory.*at least .* bytes for one tile row"):
        kneighbors(X, 3, device="cpu", max_memory=100_000, backend="torch")
