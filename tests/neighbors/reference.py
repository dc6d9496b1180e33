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


def chunked_kneighbors(X, k, Y=None, exclude_self=None, rows=64):
    """`naive_kneighbors` in query chunks, for data too large to difference at once:
    the same float64 direct differences, the same (distance, index) order."""
    X = np.asarray(X, dtype=np.float64)
    same = Y is None
    Y = X if same else np.asarray(Y, dtype=np.float64)
    if exclude_self is None:
        exclude_self = same
    dist = np.empty((Y.shape[0], k))
    ind = np.empty((Y.shape[0], k), dtype=np.int64)
    for a in range(0, Y.shape[0], rows):
        d2 = ((Y[a : a + rows, None, :] - X[None, :, :]) ** 2).sum(-1)
        if exclude_self:
            d2[np.arange(d2.shape[0]), np.arange(a, a + d2.shape[0])] = np.inf
        # a stable sort keeps equal distances in index order: ties by lower index
        order = np.argsort(d2, axis=1, kind="stable")[:, :k]
        dist[a : a + rows] = np.sqrt(np.take_along_axis(d2, order, 1))
        ind[a : a + rows] = order
    return dist, ind
