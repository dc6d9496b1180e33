"""A naive float64 k-NN kept in the tests: the contract the engine must meet."""

import numpy as np


def naive_kneighbors(X, k, Y=None, exclude_self=None):
    """Brute force in float64 by direct differences; ties by lower index."""
    X = np.asarray(X, dtype=np.float64)
    same = Y is None
    Y = X if same else np.asarray(Y, dtype=np.float64)
    if exclude_self is None:
        exclude_self = same
    d2 = ((Y[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    # lexsort: last key is primary -> distance first, then index
    cols = np.arange(X.shape[0])
    order = np.array([np.lexsort((cols, row))[:k] for row in d2])
    return np.sqrt(np.take_along_axis(d2, order, 1)), order
