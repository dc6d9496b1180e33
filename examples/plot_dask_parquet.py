"""
A Parquet dataset on Dask
=========================

``gpusmote.dask.fit_resample`` balances a Dask DataFrame lazily: the class counts are
computed in one pass, each minority class is gathered once for its neighbour graph, and
the new rows are generated in parallel partitions. Here a small partitioned Parquet
dataset, read back and balanced with the default scheduler; the same code runs on a
``distributed.Client`` cluster.
"""

import tempfile
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gpusmote import SMOTE
from gpusmote.dask import fit_resample

rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(20_000, 8)), columns=[f"f{i}" for i in range(8)])
frame["label"] = (rng.random(20_000) < 0.02).astype("int64")

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "data.parquet"
    dd.from_pandas(frame, npartitions=8).to_parquet(path)
    ddf = dd.read_parquet(path)
    balanced = fit_resample(ddf, sampler=SMOTE(random_state=0), target="label")
    counts = balanced["label"].value_counts().compute().sort_index()
    print(f"before: {frame['label'].value_counts().sort_index().tolist()}")
    print(f"after:  {counts.tolist()} in {balanced.npartitions} partitions")
