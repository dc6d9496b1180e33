import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from gpusmote import SMOTE
from gpusmote.data import ResampledDataset


def _data(seed=0, n=(300, 40, 25), d=6):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(i, 1, (m, d)) for i, m in enumerate(n)]).astype(np.float32)
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)]).astype(np.int64)
    return X, y


def _all(ds):
    X, y = ds.__getitems__(list(range(len(ds)))).tensors
    return X, y


def test_length_counts_and_originals_first():
    X, y = _data()
    ds = ResampledDataset(X, y, seed=0)
    assert len(ds) == 900
    Xa, ya = _all(ds)
    assert torch.bincount(ya).tolist() == [300, 300, 300]
    assert torch.equal(Xa[:365], torch.from_numpy(X))
    assert (ya[365:625] == 1).all() and (ya[625:] == 2).all()  # by class, sorted


def test_same_seed_and_epoch_same_rows_new_epoch_new_rows():
    X, y = _data()
    a, b = ResampledDataset(X, y, seed=3), ResampledDataset(X, y, seed=3)
    assert torch.equal(_all(a)[0], _all(b)[0])
    before = _all(a)[0]
    a.set_epoch(1)
    after = _all(a)[0]
    assert torch.equal(before[:365], after[:365]) and not torch.equal(before[365:], after[365:])
    a.set_epoch(0)
    assert torch.equal(_all(a)[0], before)
    assert not torch.equal(_all(ResampledDataset(X, y, seed=4))[0][365:], before[365:])


def test_synthetic_rows_lie_on_segments():
    """Two points per minority class, k=1: every synthetic row is on their segment."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(5, 1, (50, 2)), [[0, 0], [1, 2]]]).astype(np.float64)
    y = np.r_[np.zeros(50, int), 1, 1]
    ds = ResampledDataset(X, y, SMOTE(k_neighbors=1), seed=0)
    new = _all(ds)[0][52:].numpy()
    np.testing.assert_allclose(new[:, 1], 2 * new[:, 0], atol=1e-12)
    assert new[:, 0].min() >= 0 and new[:, 0].max() <= 1
    assert (new[:, 0] < 0.25).any() and (new[:, 0] > 0.75).any()


def test_getitems_equals_item_by_item():
    X, y = _data(2)
    ds = ResampledDataset(X, y, seed=5)
    idx = [0, 899, 400, 3, 700, 365, 364, 624, 625]
    batch = ds.__getitems__(idx)
    Xb, yb = batch.tensors
    for row, i in enumerate(idx):
        x_i, y_i = ds[i]
        assert torch.equal(Xb[row], x_i) and int(yb[row]) == int(y_i)
        assert torch.equal(batch[row][0], x_i)
    Xl, yl = ds[idx]  # a list of indices: the batch tensors
    assert torch.equal(Xl, Xb) and torch.equal(yl, yb)
    with pytest.raises(IndexError):
        ds[900]
    assert torch.equal(ds[-1][0], ds[899][0])


def test_memory_is_the_graph_not_the_synthetic_rows():
    X, y = _data(3, n=(2000, 50, 50), d=32)
    sampler = SMOTE(k_neighbors=4)
    ds = ResampledDataset(X, y, sampler)
    assert not hasattr(sampler, "sampling_strategy_")  # a clone was fitted, not the user's
    assert dict(ds.sampling_strategy_) == {1: 1950, 2: 1950}
    assert all(p.shape == (50, 4) and p.dtype == torch.int64 for _, _, p, _ in ds._graphs)
    graph_bytes = sum(m.nbytes + p.nbytes for _, m, p, _ in ds._graphs)
    synthetic_bytes = (len(ds) - len(X)) * X.shape[1] * X.itemsize
    assert graph_bytes * 10 < synthetic_bytes
    assert ds.X.data_ptr() == torch.from_numpy(X).data_ptr() or np.shares_memory(ds.X.numpy(), X)


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_with_workers(workers):
    X, y = _data(4)
    ds = ResampledDataset(X, y, seed=0)
    loader = DataLoader(ds, batch_size=64, shuffle=False, num_workers=workers)
    Xs, ys = zip(*loader, strict=True)
    assert torch.equal(torch.cat(Xs), _all(ds)[0]) and torch.equal(torch.cat(ys), _all(ds)[1])
    fast = DataLoader(ds, batch_size=64, num_workers=workers, collate_fn=ResampledDataset.collate)
    assert torch.equal(torch.cat([b[0] for b in fast]), _all(ds)[0])


def test_tensors_on_their_device(device):
    X, y = _data(5)
    ds = ResampledDataset(torch.from_numpy(X).to(device), torch.from_numpy(y).to(device), seed=0)
    xb, yb = ds.__getitems__([0, 800]).tensors
    assert xb.device.type == device.type and yb.device.type == device.type


def test_bad_arguments():
    X, y = _data()
    with pytest.raises(TypeError, match="`sampler` must be a gpusmote SMOTE"):
        ResampledDataset(X, y, sampler="smote")
    with pytest.raises(TypeError, match="`y` must be integer or bool labels"):
        ResampledDataset(X, y.astype(str))
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0"):
        ResampledDataset(X, y, seed=-1)
    with pytest.raises(ValueError, match="`epoch` must be an integer >= 0"):
        ResampledDataset(X, y).set_epoch(-2)


_LOADERS = {
    "main process": {"num_workers": 0},
    "2 workers": {"num_workers": 2},
    "2 persistent workers": {"num_workers": 2, "persistent_workers": True},
    "2 persistent spawned workers": {
        "num_workers": 2,
        "persistent_workers": True,
        "multiprocessing_context": "spawn",
    },
}


def test_set_epoch_reaches_every_kind_of_dataloader_worker():
    """Persistent workers hold a copy of the dataset made before `set_epoch`: the epoch
    must still reach them, so every loader gives each epoch's rows, and new rows for a
    new epoch."""
    X, y = _data(6)
    expected = {}
    reference = ResampledDataset(X, y, seed=2)
    for epoch in (0, 1, 2, 1):
        reference.set_epoch(epoch)
        expected[epoch] = _all(reference)[0]
    assert not torch.equal(expected[0][365:], expected[1][365:])
    assert not torch.equal(expected[1][365:], expected[2][365:])
    for name, options in _LOADERS.items():
        ds = ResampledDataset(X, y, seed=2)
        loader = DataLoader(ds, batch_size=128, collate_fn=ResampledDataset.collate, **options)
        for epoch in (0, 1, 2, 1):
            ds.set_epoch(epoch)
            got = torch.cat([b[0] for b in loader])
            assert torch.equal(got, expected[epoch]), f"{name}, epoch {epoch}"


def test_a_copied_dataset_keeps_its_own_epoch():
    import copy
    import pickle

    X, y = _data(7)
    ds = ResampledDataset(X, y, seed=1)
    twin = pickle.loads(pickle.dumps(ds))
    deep = copy.deepcopy(ds)
    ds.set_epoch(3)
    assert twin.epoch == 0 and deep.epoch == 0 and ds.epoch == 3
    twin.set_epoch(3)
    assert torch.equal(_all(twin)[0], _all(ds)[0])
    # the copy's epoch reaches persistent workers too
    loader = DataLoader(twin, batch_size=256, num_workers=1, persistent_workers=True)
    first = torch.cat([b[0] for b in loader])
    twin.set_epoch(4)
    second = torch.cat([b[0] for b in loader])
    assert torch.equal(first, _all(ds)[0]) and not torch.equal(first, second)
    assert torch.equal(second, _all(twin)[0])
