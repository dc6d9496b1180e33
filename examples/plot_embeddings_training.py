"""
Training on embeddings: ResampledDataset and BalancedBatchSampler
=================================================================

Embeddings of images (here drawn from class clusters in 64 dimensions, 3 % minority)
trained with a small classifier, two ways that keep the data where it is:

* ``ResampledDataset``: SMOTE rows computed on access, fresh each epoch
  (``set_epoch``), never stored;
* ``BalancedBatchSampler``: batches with equal class shares, the original rows only.
"""

import numpy as np
import torch
from torch.utils.data import DataLoader

from gpusmote.data import BalancedBatchSampler, ResampledDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
centres = rng.normal(0, 1, (2, 64)) * 0.35
y = (rng.random(6000) < 0.03).astype(np.int64)
X = (centres[y] + rng.normal(0, 1, (6000, 64))).astype(np.float32)
X_test = (
    centres[np.r_[np.zeros(970, int), np.ones(30, int)]] + rng.normal(0, 1, (1000, 64))
).astype(np.float32)
y_test = np.r_[np.zeros(970, int), np.ones(30, int)]


def train(loader, epochs, dataset=None):
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(epochs):
        if dataset is not None:
            dataset.set_epoch(epoch)  # fresh synthetic rows each epoch
        for xb, yb in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    pred = model(torch.from_numpy(X_test)).argmax(1).numpy()
    return (pred[y_test == 1] == 1).mean()


# %%
# SMOTE rows computed on access, as many as the majority.
dataset = ResampledDataset(X, y, seed=0)
loader = DataLoader(dataset, batch_size=256, shuffle=True, collate_fn=dataset.collate)
recall = train(loader, 3, dataset)
print(f"ResampledDataset: {len(dataset)} rows per epoch; minority recall {recall:.2f}")

# %%
# Class-balanced batches of the original rows.
sampler = BalancedBatchSampler(y, batch_size=256, seed=0)
loader = DataLoader(
    list(zip(torch.from_numpy(X), torch.from_numpy(y), strict=True)), batch_sampler=sampler
)
recall = train(loader, 3)
print(f"BalancedBatchSampler: {len(sampler)} batches per epoch; minority recall {recall:.2f}")
