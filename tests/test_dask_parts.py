"""The parts of gpusmote.dask, run as plain functions (no cluster): the method table
and its checks, the cleaning rules per partition, the under-sampling keys."""

import numpy as np
import pytest

from gpusmote import SMOTE, RandomOverSampler
from gpusmote.dask._clean import class_codes, enn_keep, knn_block, merge_knn, tomek_keep
from gpusmote.dask._input import common_float, label_counts
from gpusmote.dask._job import seed_of
from gpusmote.dask._methods import method_for
from gpusmote.dask._under import kept, merge_smallest, row_keys, smallest_keys
from gpusmote.neighbors import NearestNeighbors
from gpusmote.under_sampling import EditedNearestNeighbours, NearMiss, TomekLinks

SEARCH = {"device": "cpu", "backend": "auto", "max_memory": None}


def _data(seed=0, n=240):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 6, size=(n, 3)).astype(np.float64)  # duplicates and ties
    y = (rng.random(n) < 0.3).astype(np.int64) + (rng.random(n) < 0.1)
    return X, y


def _partitions(n, cuts):
    bounds = [0, *cuts, n]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _graph(X, k, parts):
    """Per partition: merge_knn of its knn_blocks against every partition."""
    points = [X[a:b] for a, b in parts]
    return [
        merge_knn(
            [knn_block(X[a:b], x, c, k, SEARCH) for x, (c, _) in zip(points, parts, strict=True)],
            a,
            k,
        )
        for a, b in parts
    ]


@pytest.mark.parametrize("kind_sel", ["all", "mode"])
def test_enn_rule_per_partition_keeps_the_in_process_rows(kind_sel):
    X, y = _data()
    ref = EditedNearestNeighbours(kind_sel=kind_sel, device="cpu")
    ref.fit_resample(X, y)
    parts = _partitions(len(y), [70, 71, 200])
    codes = class_codes([y[a:b] for a, b in parts], [0, 1, 2])
    cleaned = np.array([True, True, False])  # "auto": all but the minority (class 2)
    graph = _graph(X, 4, parts)
    masks = [
        enn_keep(g, a, codes, cleaned, kind_sel) for g, (a, _) in zip(graph, parts, strict=True)
    ]
    np.testing.assert_array_equal(
        np.flatnonzero(np.concatenate(masks)), np.sort(ref.sample_indices_)
    )


def test_tomek_rule_per_partition_keeps_the_in_process_rows():
    X, y = _data(1)
    ref = TomekLinks(device="cpu")
    ref.fit_resample(X, y)
    parts = _partitions(len(y), [1, 120])
    codes = class_codes([y[a:b] for a, b in parts], [0, 1, 2])
    cleaned = np.array([True, True, False])
    graph = _graph(X, 2, parts)
    nearest = np.concatenate([g[:, 0] for g in graph])
    masks = [
        tomek_keep(g, a, nearest, codes, cleaned) for g, (a, _) in zip(graph, parts, strict=True)
    ]
    np.testing.assert_array_equal(np.flatnonzero(np.concatenate(masks)), ref.sample_indices_)


def test_merged_blocks_are_the_engines_search():
    X, _ = _data(2, n=150)
    parts = _partitions(150, [50, 51])
    got = np.concatenate(_graph(X, 5, parts))
    from gpusmote.neighbors import kneighbors

    want = kneighbors(X, 4, device="cpu", return_distance=False).numpy()
    np.testing.assert_array_equal(got, want)


def test_method_checks_are_the_samplers_own_plus_dasks_limits():
    # the sampler's own checks, with its own messages
    for sampler in (
        EditedNearestNeighbours(kind_sel="some"),
        SMOTE(max_memory="lots"),
        SMOTE(k_neighbors=0),
    ):
        with pytest.raises(ValueError) as in_process:
            sampler._check_params()
        with pytest.raises(ValueError) as on_dask:
            method_for(sampler)
        assert str(on_dask.value) == str(in_process.value)
    # what dask adds
    with pytest.raises(TypeError, match="sampler"):
        method_for(NearMiss())
    with pytest.raises(TypeError, match="random_state"):
        method_for(SMOTE(random_state=np.random.RandomState(0)))
    with pytest.raises(TypeError, match="k_neighbors"):
        method_for(SMOTE(k_neighbors=NearestNeighbors(n_neighbors=3)))
    with pytest.raises(ValueError, match="shrinkage"):
        method_for(RandomOverSampler(shrinkage=1.0))
    assert method_for(SMOTE()).interpolates and not method_for(RandomOverSampler()).computes


def test_seed_is_the_int_or_one_drawn_now():
    assert seed_of(7) == 7
    drawn = seed_of(None)
    assert isinstance(drawn, int) and 0 <= drawn < 2**32


def test_common_float():
    assert common_float([np.float32, np.float16]) is np.float32
    assert common_float([np.float32, np.int64]) is np.float64


@pytest.mark.parametrize("cuts", [[], [100], [1, 2, 250]])
def test_under_sampling_keys_keep_the_same_rows_whatever_the_partitioning(cuts):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=400)
    keep = {0: 20, 1: 0}
    parts = _partitions(400, cuts)
    smallest = [smallest_keys(labels[a:b], a, keep, 11) for a, b in parts]
    cut = merge_smallest(smallest, keep)
    mask = np.concatenate([kept(labels[a:b], a, cut, 11) for a, b in parts])
    assert (mask[labels == 0]).sum() == 20 and not mask[labels == 1].any()
    assert mask[labels == 2].all()
    whole = kept(labels, 0, merge_smallest([smallest_keys(labels, 0, keep, 11)], keep), 11)
    np.testing.assert_array_equal(mask, whole)


def test_row_keys_are_splitmix64_of_seed_and_row():
    """The under-samplers' per-row keys, now from `data._hash`'s finaliser, equal plain
    uint64 SplitMix64 of (seed, row) (the numpy formula they were computed with)."""

    def reference(seed, first, n):
        with np.errstate(over="ignore"):
            z = np.arange(first, first + n, dtype=np.uint64)
            z = z + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))

    for seed in (0, 1, 2**31 - 1, 2**32 + 5, 2**63 - 1, 2**64 - 1):
        for first in (0, 999, 2**40):
            keys = row_keys(seed, first, 500)
            assert keys.dtype == np.uint64
            np.testing.assert_array_equal(keys, reference(seed, first, 500))


@pytest.mark.parametrize("cuts", [[0, 100], [100, 100, 240]], ids=["first", "middle-and-last"])
def test_empty_partitions_give_the_search_and_rules_of_the_rows_that_remain(cuts):
    """An empty partition (as after a filter) is an empty block on either side of a
    search, an empty graph and an empty mask: it contributes nothing (issue #27)."""
    X, y = _data(4)
    parts = _partitions(len(y), cuts)
    assert any(a == b for a, b in parts)
    block = knn_block(X[:0], X, 0, 3, SEARCH)
    assert block[0].shape == block[1].shape == (0, 3)
    block = knn_block(X[:5], X[:0], 0, 3, SEARCH)
    assert block[0].shape == block[1].shape == (5, 0)
    graph = _graph(X, 5, parts)
    from gpusmote.neighbors import kneighbors

    want = kneighbors(X, 4, device="cpu", return_distance=False).numpy()
    np.testing.assert_array_equal(np.concatenate(graph), want)
    codes = class_codes([y[a:b] for a, b in parts], [0, 1, 2])
    cleaned = np.array([True, True, False])
    ref = EditedNearestNeighbours(n_neighbors=4, device="cpu")
    ref.fit_resample(X, y)
    masks = [enn_keep(g, a, codes, cleaned, "all") for g, (a, _) in zip(graph, parts, strict=True)]
    np.testing.assert_array_equal(
        np.flatnonzero(np.concatenate(masks)), np.sort(ref.sample_indices_)
    )
    ref = TomekLinks(device="cpu")
    ref.fit_resample(X, y)
    graph = _graph(X, 2, parts)
    nearest = np.concatenate([g[:, 0] for g in graph])
    masks = [
        tomek_keep(g, a, nearest, codes, cleaned) for g, (a, _) in zip(graph, parts, strict=True)
    ]
    np.testing.assert_array_equal(
        np.flatnonzero(np.concatenate(masks)), np.sort(ref.sample_indices_)
    )


def test_label_counts_leave_out_and_count_the_labels_that_are_no_class():
    pd = pytest.importorskip("pandas")
    assert label_counts(np.array([1, 0, 1])) == ({0: 1, 1: 2}, 0, 0)
    assert label_counts(np.array([1.0, np.nan, 0.5, 1.0])) == ({1.0: 2}, 1, 1)
    assert label_counts(pd.Series(["a", None, "b"], dtype=object)) == ({"a": 1, "b": 1}, 1, 0)
    assert label_counts(pd.Series([1, None, 1], dtype="Int64")) == ({1: 2}, 1, 0)
    assert label_counts(pd.Series([], dtype="string")) == ({}, 0, 0)
