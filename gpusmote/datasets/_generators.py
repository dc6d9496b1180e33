"""Named, seeded generators of tables shaped like real imbalanced data.

Real tables are not standard-normal draws: wide columns sit next to narrow ones
(seconds, amounts), features are integers, rows repeat, tails are heavy, a column
carries a large offset, and embeddings are thousands of features wide. Each generator
returns ``(X, y)``: ``X`` (n, d) float32 or float64, ``y`` (n,) int64 with ``1`` the
minority class. The benchmarks (``scripts/bench_real.py``) and the exactness tests run
on all of them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GENERATORS", "SPARSE_GENERATORS", "make_dataset"]

# Seconds in the two days of the public credit-card fraud table, and its largest Amount.
_CC_SECONDS = 172_792
_CC_MAX_AMOUNT = 25_691.16


def creditcard(n: int = 284_807, d: int = 30, *, seed: int = 0, minority: float = 0.00173):
    """Shaped like the credit-card fraud table of SMOTE tutorials: ``d - 2`` roughly
    unit-scale (PCA-like) columns, then ``Time`` (integer seconds over two days, busier by
    day) and ``Amount`` (log-normal, cents, up to 25,691.16); 0.17 % minority."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, d), dtype=np.float64)
    scales = np.linspace(2.0, 0.3, d - 2)
    X[:, : d - 2] = rng.standard_t(6, size=(n, d - 2)) * scales
    # two days, with nights quieter than days: a sorted draw of a bimodal mixture
    day = rng.integers(0, 2, n) * 86_400
    hour = np.clip(rng.normal(14 * 3600, 4 * 3600, n), 0, 86_399)
    X[:, d - 2] = np.sort(np.minimum(day + hour, _CC_SECONDS).astype(np.int64))
    X[:, d - 1] = np.minimum(np.round(rng.lognormal(3.0, 1.7, n), 2), _CC_MAX_AMOUNT)
    y = _labels(rng, n, minority)
    X[y == 1, : min(6, d - 2)] += rng.normal(-2.0, 1.5, (int(y.sum()), min(6, d - 2)))
    return X.astype(np.float32), y


def integers(n: int = 50_000, d: int = 12, *, seed: int = 0, minority: float = 0.05):
    """Integer-valued features (counts, codes, small ranges): exact distance ties
    everywhere."""
    rng = np.random.default_rng(seed)
    highs = rng.integers(3, 60, d)
    X = np.stack([rng.integers(0, h, n) for h in highs], axis=1).astype(np.float64)
    y = _labels(rng, n, minority)
    X[y == 1, 0] += 2
    return X.astype(np.float32), y


def duplicates(n: int = 50_000, d: int = 16, *, seed: int = 0, minority: float = 0.05):
    """40 % of the rows are exact copies of other rows (repeated records)."""
    rng = np.random.default_rng(seed)
    n_unique = n - int(0.4 * n)
    base = rng.normal(size=(n_unique, d))
    X = np.concatenate([base, base[rng.integers(0, n_unique, n - n_unique)]])
    X = X[rng.permutation(n)]
    y = _labels(rng, n, minority)
    return X.astype(np.float32), y


def heavy_tails(n: int = 50_000, d: int = 16, *, seed: int = 0, minority: float = 0.05):
    """Student-t (1.5 degrees of freedom) and log-normal columns: most rows near the
    centre, a few very far out."""
    rng = np.random.default_rng(seed)
    half = d // 2
    X = np.concatenate(
        [rng.standard_t(1.5, size=(n, half)), rng.lognormal(0.0, 2.0, size=(n, d - half))],
        axis=1,
    )
    y = _labels(rng, n, minority)
    return X.astype(np.float32), y


def offset(n: int = 50_000, d: int = 16, *, seed: int = 0, minority: float = 0.05):
    """Unit-scale columns, one of them offset by 1e6 (an identifier or a timestamp)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 0] += 1e6
    y = _labels(rng, n, minority)
    X[y == 1, 1] += 1.0
    return X.astype(np.float32), y


def wide(n: int = 5_000, d: int = 768, *, seed: int = 0, minority: float = 0.05):
    """Embedding-like rows: a low-rank signal plus noise, each row scaled to unit norm,
    d from 2 to 50,000 features."""
    rng = np.random.default_rng(seed)
    rank = max(1, min(d, 32))
    basis = rng.normal(size=(rank, d)).astype(np.float32)
    X = rng.normal(size=(n, rank)).astype(np.float32) @ basis
    X += 0.5 * rng.normal(size=(n, d)).astype(np.float32) * float(np.sqrt(rank / d))
    X /= np.linalg.norm(X, axis=1, keepdims=True) + np.float32(1e-12)
    y = _labels(rng, n, minority)
    return X.astype(np.float32), y


def tfidf(n: int = 100_000, d: int = 50_000, *, seed: int = 0, minority: float = 0.05):
    """A TF-IDF matrix of a text collection, as scikit-learn's ``TfidfVectorizer``
    (``sublinear_tf=True``) gives it: a scipy CSR matrix, float64, rows of unit norm,
    about 100 stored values per row. Words follow Zipf's law (exponent 1.1) over ``d``
    terms, with the 100 most frequent dropped as stop words; document lengths vary
    (60 to 200 words); the minority class draws a fifth of its words from 500 topic
    terms of its own. Returned as ``(X, y)`` like the dense generators."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    y = _labels(rng, n, minority)
    ranks = np.arange(101, d + 101, dtype=np.float64)  # the 100 stop words dropped
    cdf = np.cumsum(ranks**-1.1)
    cdf /= cdf[-1]
    lengths = rng.integers(60, 201, n)
    doc = np.repeat(np.arange(n), lengths)
    words = np.searchsorted(cdf, rng.random(doc.size)).astype(np.int64)
    topic = rng.choice(d, 500, replace=False)
    on_topic = (y[doc] == 1) & (rng.random(doc.size) < 0.2)
    words[on_topic] = topic[rng.integers(0, 500, int(on_topic.sum()))]
    counts = sp.csr_matrix((np.ones(doc.size), (doc, words)), shape=(n, d))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=d)
    idf = np.log((1 + n) / (1 + df)) + 1.0
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    counts.data /= np.repeat(norms, np.diff(counts.indptr))
    return counts, y


def _labels(rng, n: int, minority: float) -> np.ndarray:
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, max(2, int(round(minority * n))), replace=False)] = 1
    return y


GENERATORS = {
    "creditcard": creditcard,
    "integers": integers,
    "duplicates": duplicates,
    "heavy_tails": heavy_tails,
    "offset": offset,
    "wide": wide,
}


# Generators of scipy sparse matrices (text), apart from the dense tables above.
SPARSE_GENERATORS = {"tfidf": tfidf}


def make_dataset(name: str, n: int | None = None, d: int | None = None, *, seed: int = 0):
    """``(X, y)`` of generator ``name`` (`GENERATORS` or `SPARSE_GENERATORS`; default
    size when ``n`` / ``d`` are None)."""
    kwargs = {"seed": seed}
    if n is not None:
        kwargs["n"] = n
    if d is not None:
        kwargs["d"] = d
    if name in SPARSE_GENERATORS:
        return SPARSE_GENERATORS[name](**kwargs)
    return GENERATORS[name](**kwargs)
