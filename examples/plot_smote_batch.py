"""
SMOTE inside a training step
============================

``smote_batch`` adds synthetic rows of a batch's under-represented classes to the
batch of embeddings the model just produced. The new rows are differentiable with
respect to the embeddings, so the encoder learns from them too.
"""

import torch

from gpusmote.data import smote_batch

torch.manual_seed(0)
encoder = torch.nn.Linear(16, 8)
head = torch.nn.Linear(8, 2)
opt = torch.optim.SGD([*encoder.parameters(), *head.parameters()], lr=0.1)
gen = torch.Generator().manual_seed(0)

for step in range(20):
    x = torch.randn(128, 16)
    y = (torch.rand(128) < 0.1).long()  # about 13 minority rows per batch
    x[y == 1] += 1.0
    z = encoder(x)
    z2, y2 = smote_batch(z, y, k_neighbors=3, generator=gen)
    loss = torch.nn.functional.cross_entropy(head(z2), y2)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 0:
        print(f"step {step}: batch {len(y)} -> {len(y2)} rows, loss {loss.item():.3f}")
assert encoder.weight.grad is not None  # gradients reached the encoder through the new rows
