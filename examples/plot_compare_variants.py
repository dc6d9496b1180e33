"""
Choosing between SMOTE variants
===============================

The same two-class toy data resampled by SMOTE and four of its variants. SMOTE
interpolates between any minority row and its neighbours; BorderlineSMOTE only from
rows near the other class; ADASYN more where the other class crowds in; SVMSMOTE
around an SVM's support vectors; KMeansSMOTE inside the clusters where the minority is
dense. The new rows are drawn as crosses.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gpusmote import ADASYN, SMOTE, SVMSMOTE, BorderlineSMOTE, KMeansSMOTE

rng = np.random.default_rng(0)
X = np.r_[rng.normal(0, 1, (300, 2)), rng.normal((1.8, 1.2), 0.7, (40, 2))]
y = np.r_[np.zeros(300, int), np.ones(40, int)]

samplers = {
    "SMOTE": SMOTE(random_state=0),
    "BorderlineSMOTE": BorderlineSMOTE(random_state=0),
    "ADASYN": ADASYN(random_state=0),
    "SVMSMOTE": SVMSMOTE(random_state=0),
    "KMeansSMOTE": KMeansSMOTE(random_state=0, cluster_balance_threshold=0.1),
}
fig, axes = plt.subplots(1, len(samplers), figsize=(4 * len(samplers), 4), sharex=True, sharey=True)
for ax, (name, sampler) in zip(axes, samplers.items(), strict=True):
    X_res, y_res = sampler.fit_resample(X, y)
    new = X_res[len(X) :]
    ax.scatter(*X[y == 0].T, s=5, alpha=0.4, label="majority")
    ax.scatter(*X[y == 1].T, s=10, label="minority")
    ax.scatter(*new.T, s=10, marker="x", alpha=0.7, label="synthetic")
    ax.set_title(f"{name}: {len(new)} new rows")
    print(f"{name}: {len(new)} new rows")
axes[0].legend(loc="lower left")
fig.tight_layout()
