"""
Fraud-shaped data, end to end
=============================

A table shaped like the credit-card fraud data (28 unit-scale columns, a wide time
column and a heavy-tailed amount, 0.17 % fraud): a classifier trained on the raw rows
misses most of the fraud; the same classifier after SMOTE on the training rows finds
more of it. The test rows are never resampled.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from gpusmote import SMOTE
from gpusmote.datasets import make_dataset

X, y = make_dataset("creditcard", n=40_000, seed=0)
print(f"{len(y)} rows, {int(y.sum())} fraud ({100 * y.mean():.2f} %)")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
# Train on the raw rows, then on the rows SMOTE balanced to one fraud per ten others.
results = {}
sampler = SMOTE(sampling_strategy=0.1, random_state=0)
for name, (X_fit, y_fit) in {
    "raw": (X_train, y_train),
    "SMOTE": sampler.fit_resample(X_train, y_train),
}.items():
    model = LogisticRegression(max_iter=1000).fit(X_fit, y_fit)
    pred = model.predict(X_test)
    results[name] = (recall_score(y_test, pred), precision_score(y_test, pred, zero_division=0))
    print(f"{name:>5}: {len(y_fit)} training rows; fraud recall {results[name][0]:.2f}")

# %%
# Fraud recall and precision on the untouched test rows.
fig, ax = plt.subplots(figsize=(5, 3))
names = list(results)
ax.bar(np.arange(2) - 0.2, [results[n][0] for n in names], width=0.4, label="recall")
ax.bar(np.arange(2) + 0.2, [results[n][1] for n in names], width=0.4, label="precision")
ax.set_xticks(range(2), names)
ax.set_ylabel("fraud class")
ax.legend()
fig.tight_layout()
