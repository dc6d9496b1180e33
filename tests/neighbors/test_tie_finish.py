"""The tie finish does work in proportion to n * k, not to the tie sets.

Rows that fail the certificate (duplicates, integer grids) are finished exactly, ties
by lower index; a row at exactly the k-th distance loses to the k lower indices held,
so a tie set is never measured whole. `SearchStats.tie_candidates` counts the
(query, row) pairs the finish measured (or, on integer data, took from its exact
scores): at most a few times n * k here, where measuring every tied row costs n**2.
The neighbours are checked against the naive float64 reference.
"""

import numpy as np
import pytest
import torch

from gpusmote.neighbors import collect_stats, kneighbors

from .reference import chunked_kneighbors


def _search(X, k, **kwargs):
    with collect_stats() as stats:
        dist, ind = kneighbors(X, k, device="cpu", **kwargs)
    return dist.double().numpy(), ind.numpy(), stats[0]


def _check(X, k, dist, ind):
    dense = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
    ref_d, ref_i = chunked_kneighbors(dense, k)
    np.testing.assert_array_equal(ind, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-12, atol=0)


def _groups(n_groups, copies, d, seed, integers=False):
    """``n_groups`` distinct rows, each repeated ``copies`` times, interleaved (a row's
    duplicates spread over the index range)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(-3, 4, size=(n_groups, d)) if integers else rng.normal(size=(n_groups, d))
    return np.tile(rows.astype(np.float64), (copies, 1))


@pytest.mark.parametrize("budget", [None, 400_000])
def test_identical_rows_measure_k_per_row(budget):
    n, k = 3000, 5
    X = np.repeat(np.random.default_rng(0).normal(size=(1, 16)), n, axis=0)
    dist, ind, stats = _search(X, k, max_memory=budget)
    assert stats.rechecked == n
    # a quadratic finish measures n (n - 1) = 9 million pairs
    assert n * k <= stats.tie_candidates <= 2 * n * k
    _check(X, k, dist, ind)


@pytest.mark.parametrize("integers", [False, True], ids=["reals", "integers"])
@pytest.mark.parametrize("budget", [None, 400_000])
def test_ties_beyond_the_duplicates_are_decided_by_index(integers, budget):
    # 40 copies of 60 rows, k = 50: each row's 39 duplicates at distance 0, then 11 of
    # the 40 copies of its nearest other row, all at one distance
    X = _groups(60, 40, 6, seed=1, integers=integers)
    k = 50
    dist, ind, stats = _search(X, k, max_memory=budget)
    assert stats.rechecked > 0
    _check(X, k, dist, ind)


@pytest.mark.parametrize("budget", [None, 3_000_000])
def test_equidistant_integer_rows_take_k_per_row(budget):
    # the vertices of a simplex: every row at distance sqrt(2) from every other, one
    # tie set of n - 1 rows per query (n (n - 1) pairs measured by a quadratic finish)
    n, k = 800, 5
    X = np.eye(n)
    dist, ind, stats = _search(X, k, max_memory=budget)
    assert stats.rechecked == n
    assert n * k <= stats.tie_candidates <= 2 * n * k
    _check(X, k, dist, ind)


def test_integer_grid_takes_ties_from_exact_scores():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 2, size=(2500, 12)).astype(np.float64)  # 0/1: ties everywhere
    k = 7
    dist, ind, stats = _search(X, k)
    assert stats.rechecked > 1000
    assert stats.tie_candidates <= 2 * stats.rechecked * k  # k per tile of rows
    _check(X, k, dist, ind)


@pytest.mark.parametrize("values", ["reals", "integers"])
def test_sparse_ties_measure_k_per_row(values):
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    if values == "reals":  # one row, 2,000 times
        row = np.where(rng.random(40) < 0.2, rng.normal(size=40), 0.0)
        X = sparse.csr_matrix(np.repeat(row[None], 2000, axis=0))
    else:  # 0/1 rows: many tie at each distance
        X = sparse.csr_matrix((rng.random((2000, 40)) < 0.1).astype(np.float64))
    k = 5
    dist, ind, stats = _search(X, k)
    n = X.shape[0]
    assert stats.rechecked > n // 2
    assert stats.rechecked * k <= stats.tie_candidates <= 2 * n * k
    _check(X, k, dist, ind)


def test_finish_with_a_budget_a_quadratic_candidate_list_cannot_fit():
    # 20,000 identical rows: n (n - 1) int64 pairs are 6.4 GB; 32 MiB must do
    n, k = 20_000, 3
    X = torch.zeros((n, 4), dtype=torch.float64) + 0.5
    with collect_stats() as stats:
        dist, ind = kneighbors(X, k, device="cpu", max_memory="32MiB")
    assert stats[0].tie_candidates <= 2 * n * k
    assert not dist.any()
    expected = torch.tensor([0, 1, 2]).repeat(n, 1)  # ties by lower index, own excluded
    expected[:3] = torch.tensor([[1, 2, 3], [0, 2, 3], [0, 1, 3]])
    assert torch.equal(ind, expected)
