"""
A sparse text classifier
========================

Short support messages, 3 % of them about fraud, turned into TF-IDF features (a scipy
sparse matrix) inside an imbalanced-learn ``Pipeline``: the vectorizer, gpusmote's SMOTE
and a logistic regression. SMOTE runs on the sparse rows as they are (an exact sparse
neighbour search, sparse interpolation) and hands the classifier a sparse matrix; it
only resamples the training rows, which is what ``imblearn.pipeline.Pipeline`` does
with samplers. The classifier trained without SMOTE finds less of the rare class.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from imblearn.pipeline import make_pipeline
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import train_test_split

from gpusmote import SMOTE

rng = np.random.default_rng(0)
common = [f"w{i}" for i in range(3000)]  # everyday words, Zipf-distributed
weights = 1.0 / np.arange(1, len(common) + 1) ** 1.1
weights /= weights.sum()
fraud_words = [
    "refund",
    "chargeback",
    "stolen",
    "unauthorised",
    "dispute",
    "card",
    "blocked",
    "suspicious",
]


def message(is_fraud: bool) -> str:
    words = list(rng.choice(common, size=rng.integers(8, 30), p=weights))
    if is_fraud:  # a few telling words among the everyday ones, not always the same
        words += list(rng.choice(fraud_words, size=rng.integers(1, 3)))
    elif rng.random() < 0.05:  # ordinary messages use them too, now and then
        words += [rng.choice(fraud_words)]
    rng.shuffle(words)
    return " ".join(words)


y = (rng.random(20_000) < 0.03).astype(int)
texts = [message(bool(label)) for label in y]
print(f"{len(y)} messages, {int(y.sum())} about fraud ({100 * y.mean():.1f} %)")
train_texts, test_texts, y_train, y_test = train_test_split(
    texts, y, test_size=0.3, stratify=y, random_state=0
)

# %%
# The same pipeline with and without SMOTE; the test messages are never resampled.
recalls = {}
for name, steps in {
    "raw": [TfidfVectorizer(), LogisticRegression(max_iter=1000)],
    "SMOTE": [
        TfidfVectorizer(),
        SMOTE(sampling_strategy=0.3, random_state=0),
        LogisticRegression(max_iter=1000),
    ],
}.items():
    model = make_pipeline(*steps).fit(train_texts, y_train)
    recalls[name] = recall_score(y_test, model.predict(test_texts))
    print(f"{name:>5}: fraud recall {recalls[name]:.2f}")

features = TfidfVectorizer().fit_transform(train_texts)
X_res, y_res = SMOTE(sampling_strategy=0.3, random_state=0).fit_resample(features, y_train)
print(
    f"SMOTE on the TF-IDF matrix: {type(X_res).__name__} {X_res.shape}, "
    f"{X_res.nnz / X_res.shape[0]:.1f} stored values per row"
)

# %%
# Recall of the fraud messages, with and without SMOTE.
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(list(recalls), list(recalls.values()), color=["grey", "tab:orange"])
ax.set_ylabel("fraud recall (test messages)")
ax.set_ylim(0, 1)
fig.tight_layout()
