import os
import re
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gpusmote import smote_batch
from gpusmote.data import BalancedBatchSampler, ResampledDataset

LABELS = np.r_[np.zeros(900, int), np.ones(80, int), np.full(20, 2)]


def test_balanced_batches_and_epochs():
    sampler = BalancedBatchSampler(LABELS, batch_size=30, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 34
    for b in batches:
        assert len(b) == 30 and np.bincount(LABELS[b], minlength=3).tolist() == [10, 10, 10]
    assert batches == list(sampler)  # same epoch, same batches
    sampler.set_epoch(1)
    assert batches != list(sampler)


def test_class_weights_and_drop_last():
    sampler = BalancedBatchSampler(
        LABELS, batch_size=20, class_weights={0: 2, 1: 1, 2: 1}, drop_last=True
    )
    assert len(sampler) == 50
    assert all(np.bincount(LABELS[b], minlength=3).tolist() == [10, 5, 5] for b in sampler)
    with pytest.raises(ValueError, match="`class_weights` must be keys among the labels"):
        BalancedBatchSampler(LABELS, 10, class_weights={7: 1})
    with pytest.raises(ValueError, match="`rank` must be an integer in \\[0, 1\\]"):
        BalancedBatchSampler(LABELS, 10, num_replicas=2, rank=2)


def test_ranks_are_disjoint_and_cover_the_majority():
    seen = []
    for rank in range(3):
        s = BalancedBatchSampler(LABELS, batch_size=30, num_replicas=3, rank=rank, seed=0)
        seen.append({i for b in s for i in b})
        assert len(s) == 12
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    minority = set(np.flatnonzero(LABELS > 0))
    assert minority <= seen[0] | seen[1] | seen[2]  # minority rows are all used


def _ddp_worker(rank, world, port, X, y, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        ds = ResampledDataset(X, y, seed=11)
        ds.set_epoch(2)
        sampler = torch.utils.data.DistributedSampler(ds, shuffle=True, seed=5)
        sampler.set_epoch(2)
        idx = list(sampler)
        rows = ds.__getitems__(idx).tensors[0]
        batches = BalancedBatchSampler(y, batch_size=16, seed=3)  # reads rank/world from dist
        mine = sorted(i for b in batches for i in b)
        gathered = [None] * world
        dist.all_gather_object(gathered, (idx, rows, mine, batches.rank, batches.num_replicas))
        if rank == 0:
            torch.save(gathered, out)
    finally:
        dist.destroy_process_group()


def test_two_process_ddp(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(220, 4)).astype(np.float32)
    y = np.r_[np.zeros(200, int), np.ones(20, int)]
    out = tmp_path / "ddp.pt"
    port = 29500 + os.getpid() % 1000
    mp.spawn(_ddp_worker, args=(2, port, X, y, str(out)), nprocs=2, join=True)
    (i0, r0, m0, rank0, w0), (i1, r1, m1, rank1, w1) = torch.load(out, weights_only=False)
    assert (rank0, rank1, w0, w1) == (0, 1, 2, 2)
    assert not set(i0) & set(i1) and set(i0) | set(i1) == set(range(400))
    ds = ResampledDataset(X, y, seed=11)
    ds.set_epoch(2)
    assert torch.equal(r0, ds.__getitems__(i0).tensors[0])  # same synthetic rows everywhere
    assert torch.equal(r1, ds.__getitems__(i1).tensors[0])
    assert not set(m0) & set(m1)


def test_smote_batch_counts_segments_and_gradients(device):
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(60, 5, dtype=torch.float64, device=device, requires_grad=True)
    y = torch.tensor([0] * 40 + [1] * 12 + [2] * 8, device=device)
    x2, y2 = smote_batch(x, y, k_neighbors=3, generator=g)
    assert torch.bincount(y2).tolist() == [40, 40, 40]
    assert torch.equal(x2[:60], x)

    def f(inp):
        return smote_batch(
            inp, y, k_neighbors=3, generator=torch.Generator(device=device).manual_seed(1)
        )[0]

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-6)
    x2.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_smote_batch_leaves_tiny_classes_and_warns_once():
    import gpusmote.data._batch as batch_module

    batch_module._warned = False
    x = torch.randn(30, 3)
    y = torch.tensor([0] * 27 + [1] * 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x2, y2 = smote_batch(x, y, k_neighbors=5)
        smote_batch(x, y, k_neighbors=5)
    assert torch.equal(x2, x) and torch.equal(y2, y)
    assert sum("left as they are" in str(w.message) for w in caught) == 1
    with pytest.raises(TypeError, match="`x` must be a 2-D floating tensor"):
        smote_batch(torch.ones(4, 2, dtype=torch.long), torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_smote_batch_hostile_batches(dtype):
    """Half-precision embeddings work; NaN in an over-sampled class and an empty batch
    are errors naming ``x``; NaN in a class left alone passes through untouched."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=g).to(dtype)
    y = torch.tensor([0] * 30 + [1] * 10)
    x2, y2 = smote_batch(x, y, k_neighbors=3, generator=g)
    assert x2.dtype == dtype and torch.isfinite(x2.float()).all()
    assert torch.bincount(y2).tolist() == [30, 30]
    bad = x.clone()
    bad[35, 2] = float("nan")  # a minority row
    with pytest.raises(ValueError, match=re.escape("`x` must be finite")):
        smote_batch(bad, y, k_neighbors=3, generator=g)
    bad = x.clone()
    bad[3, 2] = float("nan")  # a majority row: kept as it is, never interpolated
    x3, _ = smote_batch(bad, y, k_neighbors=3, generator=g)
    assert torch.isfinite(x3[40:].float()).all() and x3[3, 2].isnan()
    with pytest.raises(ValueError, match=re.escape("`x` must be a batch with at least one row")):
        smote_batch(x[:0], y[:0])
