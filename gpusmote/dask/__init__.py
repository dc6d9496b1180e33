"""Resampling a dataset larger than one machine, on Dask: `fit_resample`.

Imported on demand (``import gpusmote.dask``); needs the ``dask`` extra. The parts:
`_input` (a dask DataFrame or Array, and the tasks that read its partitions), `_job`
(class counts, the strategy, keys), `_methods` (which samplers run here and their
checks), and one module per kind of method: `_over` (SMOTE, RandomOverSampler), `_under`
(RandomUnderSampler), `_clean` (EditedNearestNeighbours, TomekLinks, with the
samplers' own rules).

The work is a Dask graph, run by whatever scheduler is active (a
``distributed.Client`` for a cluster):

- the class counts and the partitions' lengths are computed on the cluster, in one
  pass over the data;
- an over-sampler gathers the rows of each class it over-samples into one task (they
  must fit on one worker: ``max_gather``), computes that class's neighbour graph once,
  in query blocks spread over the workers (on their GPUs where they have one), and
  generates the new rows in parallel tasks, one output partition of at most
  ``rows_per_partition`` rows each;
- RandomUnderSampler keeps rows by a random key per row, without gathering anything;
- EditedNearestNeighbours and TomekLinks decide per row from the global neighbour
  graph of all rows, computed block by block (every partition's rows against every
  partition: P^2 tasks, so for clusters with many workers), with only the labels (and
  for TomekLinks each row's nearest row) gathered, 8 bytes per row each.

Every random draw depends on (``random_state``, class, output partition) or on
(``random_state``, global row number) only, never on the input's partitioning, the
number of workers or the order tasks run in, so the output is identical with 1 or N
workers, with any input partitioning, and after a worker dies and its tasks are
retried.
"""

from __future__ import annotations

from ._job import Job
from ._methods import SUPPORTED

__all__ = ["fit_resample", "SUPPORTED"]


def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.array  # noqa: F401
        import dask.dataframe  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            'gpusmote.dask needs Dask: pip install "gpusmote[dask]" (or resample in one '
            "process with the sampler's own fit_resample)"
        ) from exc


def fit_resample(
    X,
    y=None,
    *,
    sampler,
    target=None,
    rows_per_partition=None,
    max_gather="2GiB",
):
    """Resample a Dask DataFrame or Array with a gpusmote sampler, lazily.

    Parameters
    ----------
    X : dask.dataframe.DataFrame or dask.array.Array
        A DataFrame holds the features and the label column named by ``target``
        (numeric features: numbers or bools). An Array is (n, d) with the labels in
        ``y``.
    y : dask.array.Array, optional
        (n,) labels, partitioned like ``X``'s rows; only with an Array ``X``.
    sampler : gpusmote.SMOTE, gpusmote.RandomOverSampler, or
        gpusmote.under_sampling's RandomUnderSampler, EditedNearestNeighbours or
        TomekLinks
        Its parameters are used (``sampling_strategy``, ``random_state``,
        ``k_neighbors``/``n_neighbors`` as ints, ``kind_sel``, ``device``, ``backend``,
        ``max_memory``); it is not fitted. ``random_state`` must be an int or None
        (None: one seed drawn now). The other samplers raise a ``TypeError`` saying they
        are not supported on dask: their decisions need the whole set in one place, or
        a sequential pass over it.
    target : str, optional
        The label column of a DataFrame ``X``.
    rows_per_partition : int, optional
        Rows per output partition of synthetic rows (default 100,000). Part of the
        seed of each partition: the same value gives the same output.
    max_gather : int or str, default "2GiB"
        The most bytes of one class's rows an over-sampler may gather onto one worker
        (rows x features x 8 for the float64 copy, 4 for float32).

    Returns
    -------
    DataFrame input: one dask DataFrame, the original partitions followed by the
    synthetic ones (a fresh integer index continues after the input's row count).
    Array input: ``(X_res, y_res)`` dask Arrays, likewise.

    Under-samplers and cleaning methods keep each partition's rows in their order
    (imbalanced-learn groups them by class). EditedNearestNeighbours and TomekLinks keep
    the in-process samplers' rows. RandomUnderSampler draws a key per row, so which rows
    it keeps differs from the in-process sampler's choice while the class counts are
    the same. SMOTE's and
    RandomOverSampler's draws are per output partition, so the new rows differ from
    the in-process samplers' (which draw one stream) and follow the same distribution.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dask.dataframe as dd
    >>> from gpusmote import SMOTE
    >>> from gpusmote.dask import fit_resample
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    >>> frame["label"] = (np.arange(100) < 10).astype(int)
    >>> ddf = dd.from_pandas(frame, npartitions=4)
    >>> out = fit_resample(ddf, sampler=SMOTE(random_state=0), target="label")
    >>> out["label"].value_counts().compute().sort_index().tolist()
    [90, 90]
    """
    _require_dask()
    return Job(X, y, sampler, target, rows_per_partition, max_gather).run()
