"""gpusmote.dask.fit_resample on a real distributed.LocalCluster (worker processes)."""

import math
import os

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from gpusmote import SMOTE, RandomOverSampler  # noqa: E402
from gpusmote.dask import fit_resample  # noqa: E402
from gpusmote.neighbors import kneighbors  # noqa: E402
from gpusmote.under_sampling import (  # noqa: E402
    EditedNearestNeighbours,
    NearMiss,
    RandomUnderSampler,
    TomekLinks,
)

pytestmark = pytest.mark.dask

N, D, N_MIN = 3000, 5, 150


def _cluster(n_workers):
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        memory_limit="2GiB",
    )


@pytest.fixture(scope="module")
def client():
    with _cluster(2) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)).astype(np.float32)
    y = np.zeros(N, dtype=np.int64)
    y[rng.choice(N, N_MIN, replace=False)] = 1
    X[y == 1] += 1.0
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(D)])
    df.insert(2, "label", y)  # the label column need not be last
    return df


def _smote(**kw):
    return SMOTE(random_state=7, k_neighbors=5, device="cpu", **kw)


def _on_segments(new, minority, k):
    """Each new row lies on a segment from a minority row to one of its k nearest
    minority rows, at u in [0, 1)."""
    nn = kneighbors(minority, k, return_distance=False, device="cpu").numpy()
    base = np.repeat(minority, k, axis=0)  # (n*k, d)
    direction = minority[nn.ravel()] - base
    diff = new[:, None, :] - base[None, :, :]  # (m, n*k, d)
    u = (diff * direction).sum(-1) / (direction**2).sum(-1)
    off = diff - u[..., None] * direction
    tol = 1e-4 * max(1.0, float(np.abs(minority).max()))  # float32 rounding at the data's scale
    ok = (np.linalg.norm(off, axis=-1) < tol) & (u >= -1e-6) & (u < 1 + 1e-6)
    return ok.any(1)


def test_smote_counts_layout_and_segments(client, frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    out = fit_resample(ddf, sampler=_smote(), target="label", rows_per_partition=1000)
    n_new = (N - N_MIN) - N_MIN
    assert out.npartitions == 4 + math.ceil(n_new / 1000)
    res = out.compute()
    assert res["label"].value_counts().to_dict() == {0: N - N_MIN, 1: N - N_MIN}
    assert list(res.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(res.iloc[:N], frame)  # the originals, first, unchanged
    new = res.iloc[N:]
    assert (new["label"] == 1).all()
    assert new.index.tolist() == list(range(N, N + n_new))
    features = [c for c in frame.columns if c != "label"]
    assert new[features].dtypes.eq(np.float32).all()
    minority = frame.loc[frame["label"] == 1, features].to_numpy()
    assert _on_segments(new[features].to_numpy(), minority, 5).all()
    # the steps are spread over [0, 1), not stuck at an end
    assert np.isfinite(new[features].to_numpy()).all()


@pytest.mark.cuda
def test_workers_computing_on_the_gpu_give_the_cpu_rows(client, frame):
    """SMOTE and ENN with device="cuda": each worker searches and interpolates on the
    card; the rows are the CPU's (exact neighbours, the same arithmetic)."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU; none is available here")
    ddf = dd.from_pandas(frame, npartitions=4)
    gpu = fit_resample(ddf, sampler=SMOTE(random_state=7, device="cuda"), target="label").compute()
    cpu = fit_resample(ddf, sampler=_smote(), target="label").compute()
    features = [c for c in frame.columns if c != "label"]
    np.testing.assert_allclose(gpu[features].to_numpy(), cpu[features].to_numpy(), rtol=1e-6)
    assert gpu["label"].tolist() == cpu["label"].tolist()
    enn_gpu = fit_resample(ddf, sampler=EditedNearestNeighbours(device="cuda"), target="label")
    enn_cpu = fit_resample(ddf, sampler=EditedNearestNeighbours(device="cpu"), target="label")
    assert enn_gpu.compute().index.tolist() == enn_cpu.compute().index.tolist()


def test_same_output_for_one_or_two_workers_and_any_partitioning(client, frame):
    two = fit_resample(
        dd.from_pandas(frame, npartitions=4), sampler=_smote(), target="label"
    ).compute()
    with _cluster(1) as one_cluster, distributed.Client(one_cluster) as one:
        result = fit_resample(
            dd.from_pandas(frame, npartitions=7), sampler=_smote(), target="label"
        )
        one_worker = one.compute(result).result()
    pd.testing.assert_frame_equal(two, one_worker)
    # another seed gives other rows
    other = fit_resample(
        dd.from_pandas(frame, npartitions=4),
        sampler=SMOTE(random_state=8, device="cpu"),
        target="label",
    ).compute()
    assert not np.allclose(other.iloc[N:, 0].to_numpy(), two.iloc[N:, 0].to_numpy())


class _KillOnce(distributed.WorkerPlugin):
    """Kill the worker process the first time any worker starts a synthetic-rows task."""

    def __init__(self, marker):
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "gpusmote-synth" in str(key):
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.close(fd)
            os._exit(1)


def test_worker_killed_mid_run_gives_the_same_output(frame, tmp_path):
    ddf = dd.from_pandas(frame, npartitions=4)

    def run(c):
        job = fit_resample(ddf, sampler=_smote(), target="label", rows_per_partition=500)
        return c.compute(job).result()

    with _cluster(2) as cluster, distributed.Client(cluster) as c:
        expected = run(c)
        marker = tmp_path / "killed"
        c.register_plugin(_KillOnce(str(marker)), name="kill-once")
        got = run(c)
        assert marker.exists(), "no worker was killed"
    pd.testing.assert_frame_equal(got, expected)


def test_too_many_rows_to_gather_is_a_clear_error(client, frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    with pytest.raises(ValueError, match=r"max_gather.*3,000 bytes.*150 rows of class 1"):
        fit_resample(ddf, sampler=_smote(), target="label", max_gather=1000)


def test_arrays_in_and_out(client, frame):
    features = [c for c in frame.columns if c != "label"]
    X = da.from_array(frame[features].to_numpy(), chunks=(700, D))
    y = da.from_array(frame["label"].to_numpy(), chunks=700)
    X_res, y_res = fit_resample(X, y, sampler=_smote(), rows_per_partition=800)
    Xr, yr = X_res.compute(), y_res.compute()
    assert Xr.shape == (2 * (N - N_MIN), D) and np.bincount(yr).tolist() == [N - N_MIN] * 2
    np.testing.assert_array_equal(Xr[:N], frame[features].to_numpy())
    minority = frame.loc[frame["label"] == 1, features].to_numpy()
    assert _on_segments(Xr[N:], minority, 5).all()
    # RandomOverSampler copies minority rows
    X_ros, y_ros = fit_resample(X, y, sampler=RandomOverSampler(random_state=0))
    new = X_ros.compute()[N:]
    assert new.shape[0] == N - 2 * N_MIN
    assert {tuple(r) for r in new} <= {tuple(r) for r in minority}


def test_random_under_sampler_keeps_rows_in_order_whatever_the_partitioning(client, frame):
    outs = []
    for parts in (4, 7):
        ddf = dd.from_pandas(frame, npartitions=parts)
        outs.append(fit_resample(ddf, sampler=RandomUnderSampler(random_state=3), target="label"))
    a, b = (o.compute() for o in outs)
    pd.testing.assert_frame_equal(a, b)
    assert a["label"].value_counts().to_dict() == {0: N_MIN, 1: N_MIN}
    assert a.index.is_monotonic_increasing  # original order
    pd.testing.assert_frame_equal(a, frame.loc[a.index])
    other = fit_resample(
        dd.from_pandas(frame, npartitions=4),
        sampler=RandomUnderSampler(random_state=4),
        target="label",
    ).compute()
    assert not other.index.equals(a.index)


def test_unsupported_samplers_and_parameters(frame):
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(TypeError, match="NearMiss is not supported on dask"):
        fit_resample(ddf, sampler=NearMiss(), target="label")
    with pytest.raises(TypeError, match="random_state"):
        fit_resample(ddf, sampler=SMOTE(random_state=np.random.RandomState(0)), target="label")
    with pytest.raises(ValueError, match="target"):
        fit_resample(ddf, sampler=_smote(), target="nope")
    with pytest.raises(TypeError, match="X"):
        fit_resample(frame, sampler=_smote(), target="label")
    with pytest.raises(TypeError, match="sampling_strategy"):
        fit_resample(ddf, sampler=SMOTE(sampling_strategy=lambda y: {1: 10}), target="label")
    with pytest.raises(ValueError, match="rows_per_partition"):
        fit_resample(ddf, sampler=_smote(), target="label", rows_per_partition=0)


def test_partitioned_parquet_dataset(client, frame, tmp_path):
    """Read back from Parquet, where dask may partition a column alone differently."""
    path = tmp_path / "data.parquet"
    dd.from_pandas(frame, npartitions=6).to_parquet(path, write_index=False)
    ddf = dd.read_parquet(path)
    out = fit_resample(ddf, sampler=_smote(), target="label").compute()
    assert out["label"].value_counts().to_dict() == {0: N - N_MIN, 1: N - N_MIN}
    pd.testing.assert_frame_equal(out.iloc[:N].reset_index(drop=True), frame)
    under = fit_resample(ddf, sampler=RandomUnderSampler(random_state=0), target="label")
    assert under.compute()["label"].value_counts().to_dict() == {0: N_MIN, 1: N_MIN}


@pytest.mark.parametrize("kind_sel", ["all", "mode"])
def test_cleaning_keeps_the_in_process_rows(client, frame, kind_sel):
    """ENN and TomekLinks from the global neighbour graph (every partition against
    every partition): the rows imbalanced-learn keeps, in their original order."""
    imblearn = pytest.importorskip("imblearn.under_sampling")
    features = [c for c in frame.columns if c != "label"]
    X, y = frame[features].to_numpy(), frame["label"].to_numpy()
    cases = [
        (
            EditedNearestNeighbours(kind_sel=kind_sel),
            imblearn.EditedNearestNeighbours(kind_sel=kind_sel),
        ),
    ]
    if kind_sel == "all":
        cases.append((TomekLinks(), imblearn.TomekLinks()))
    for ours, theirs in cases:
        theirs.fit_resample(X, y)
        kept = np.sort(theirs.sample_indices_)
        for parts in (3, 5):
            out = fit_resample(
                dd.from_pandas(frame, npartitions=parts), sampler=ours, target="label"
            )
            res = out.compute()
            np.testing.assert_array_equal(res.index.to_numpy(), kept)
            pd.testing.assert_frame_equal(res, frame.loc[kept])
    # arrays too
    Xd = da.from_array(X, chunks=(1000, D))
    yd = da.from_array(y, chunks=1000)
    X_res, y_res = fit_resample(Xd, yd, sampler=cases[0][0])
    theirs = cases[0][1]
    np.testing.assert_array_equal(X_res.compute(), X[np.sort(theirs.sample_indices_)])


def test_non_finite_rows_as_in_one_process(client, frame):
    """SMOTE and the cleaning methods reject NaN/inf anywhere in X (as in one process,
    not only in the gathered class); the random samplers index such rows through."""
    df = frame.copy()
    majority_row = int(np.flatnonzero(df["label"].to_numpy() == 0)[10])
    df.loc[majority_row, "f0"] = np.nan
    ddf = dd.from_pandas(df, npartitions=3)
    for sampler in (_smote(), TomekLinks(device="cpu")):
        with pytest.raises(ValueError, match="`X` must be finite"):
            fit_resample(ddf, sampler=sampler, target="label").compute()
    out = fit_resample(ddf, sampler=RandomOverSampler(random_state=0), target="label").compute()
    assert out["label"].value_counts().tolist() == [N - N_MIN] * 2
    assert out["f0"].isna().sum() >= 1 and math.isnan(out["f0"].iloc[majority_row])
    out = fit_resample(ddf, sampler=RandomUnderSampler(random_state=0), target="label").compute()
    assert out["label"].value_counts().tolist() == [N_MIN] * 2


# jobs on other data never share results --------------------------------------------------
FEATURES = [f"f{i}" for i in range(D)]


def _moved(frame, shift=0.0, scale=1.0):
    df = frame.copy()
    df[FEATURES] = (df[FEATURES] * scale + shift).astype(np.float32)
    return df


def _own_rows(res, source, sampler):
    """The originals of ``source`` first, then new rows made from ``source``'s own
    minority rows: on its SMOTE segments, or copies of them."""
    pd.testing.assert_frame_equal(res.iloc[:N], source)
    new = res.iloc[N:][FEATURES].to_numpy()
    minority = source.loc[source["label"] == 1, FEATURES].to_numpy()
    assert new.shape[0] == N - 2 * N_MIN
    if isinstance(sampler, SMOTE):
        assert _on_segments(new, minority, 5).all()
    else:
        assert {tuple(r) for r in new} <= {tuple(r) for r in minority}


@pytest.mark.parametrize(
    "sampler", [_smote(), RandomOverSampler(random_state=7)], ids=["SMOTE", "ROS"]
)
def test_jobs_on_other_data_of_the_same_shape_keep_their_own_rows(client, frame, sampler):
    """Two datasets of one shape, class counts and seed: computed together, and one
    persisted on the cluster while the other runs (the keys once ignored the data)."""
    shifted, scaled = _moved(frame, shift=100.0), _moved(frame, scale=1000.0)

    def job(df):
        ddf = dd.from_pandas(df, npartitions=4)
        return fit_resample(ddf, sampler=sampler, target="label", rows_per_partition=1000)

    a, b = dask.compute(job(frame), job(shifted))
    _own_rows(a, frame, sampler)
    _own_rows(b, shifted, sampler)
    kept = client.persist(job(frame))  # a lazy result held, as in a notebook
    distributed.wait(kept)
    _own_rows(job(scaled).compute(), scaled, sampler)
    _own_rows(kept.compute(), frame, sampler)


def test_array_jobs_on_other_data_keep_their_own_rows(client, frame):
    shifted = _moved(frame, shift=100.0)
    outs = []
    for df in (frame, shifted):
        X = da.from_array(df[FEATURES].to_numpy(), chunks=(700, D))
        y = da.from_array(df["label"].to_numpy(), chunks=700)
        outs.append(fit_resample(X, y, sampler=_smote(), rows_per_partition=800)[0])
    Xa, Xb = dask.compute(*outs)
    for got, df in ((Xa, frame), (Xb, shifted)):
        np.testing.assert_array_equal(got[:N], df[FEATURES].to_numpy())
        minority = df.loc[df["label"] == 1, FEATURES].to_numpy()
        assert _on_segments(got[N:], minority, 5).all()


def test_jobs_with_other_parameters_on_the_same_data_keep_their_own_rows(client, frame):
    """Same data and seed, another sampling_strategy or k_neighbors: each job computed
    together with the others gives what it gives alone."""
    ddf = dd.from_pandas(frame, npartitions=4)
    samplers = [
        _smote(),
        _smote(sampling_strategy={1: N_MIN + 1500}),
        SMOTE(random_state=7, k_neighbors=3, device="cpu"),
    ]
    jobs = [fit_resample(ddf, sampler=s, target="label", rows_per_partition=1000) for s in samplers]
    together = dask.compute(*jobs)
    for s, got in zip(samplers, together, strict=True):
        alone = fit_resample(
            dd.from_pandas(frame, npartitions=4), sampler=s, target="label", rows_per_partition=1000
        ).compute()
        pd.testing.assert_frame_equal(got, alone)
    assert (together[1]["label"] == 1).sum() == N_MIN + 1500
    assert not together[0].iloc[N:].equals(together[2].iloc[N:])


def test_the_same_job_twice_gives_the_same_rows(client, frame):
    jobs = [
        fit_resample(dd.from_pandas(frame.copy(), npartitions=4), sampler=_smote(), target="label")
        for _ in range(2)
    ]
    first, second = dask.compute(*jobs)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, jobs[0].compute())


@pytest.mark.parametrize(
    "sampler",
    [RandomUnderSampler(random_state=0), EditedNearestNeighbours(), TomekLinks()],
    ids=["RUS", "ENN", "Tomek"],
)
def test_under_and_cleaning_jobs_on_other_data_keep_their_own_rows(client, frame, sampler):
    shifted = _moved(frame, shift=100.0)
    jobs = [
        fit_resample(dd.from_pandas(df, npartitions=3), sampler=sampler, target="label")
        for df in (frame, shifted)
    ]
    for got, df in zip(dask.compute(*jobs), (frame, shifted), strict=True):
        assert len(got) < N
        pd.testing.assert_frame_equal(got, df.loc[got.index])


@pytest.mark.parametrize("sampler", [SMOTE(random_state=0), TomekLinks()], ids=["SMOTE", "Tomek"])
def test_string_labels_and_nullable_columns_from_parquet(client, tmp_path, sampler):
    rng = np.random.default_rng(7)
    n = 1500
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "flag": rng.random(n) > 0.5,
            "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
            "label": pd.array(np.where(rng.random(n) < 0.1, "fraud", "ok"), dtype="string"),
        }
    )
    df.to_parquet(tmp_path / "in.parquet")
    out = fit_resample(dd.read_parquet(tmp_path / "in.parquet"), sampler=sampler, target="label")
    got = out.compute()
    assert got["label"].dtype == df["label"].dtype
    assert set(got["label"].unique()) == {"fraud", "ok"}
    if isinstance(sampler, SMOTE):  # balanced; interpolated integer columns as floats
        counts = got["label"].value_counts()
        assert counts["fraud"] == counts["ok"] == (df["label"] == "ok").sum()
    else:  # cleaning keeps the input's dtypes, as in one process
        assert got["flag"].dtype == bool and str(got["count"].dtype) == "Int64"
        local, _ = TomekLinks().fit_resample(df[["a", "flag", "count"]], df["label"])
        assert len(local) == len(got)


# empty partitions, labels that are no class (issue #27) ---------------------------------
def _with_empty_partitions(frame):
    """``frame`` in 4 partitions of which a filter leaves the 2nd and the 4th empty."""
    ddf = dd.from_pandas(frame, npartitions=4)
    row = ddf.index.to_series()
    out = ddf[(row < N // 4) | ((row >= N // 2) & (row < 3 * N // 4))]
    lengths = [len(p) for p in dask.compute(*out.to_delayed())]
    assert lengths[1] == lengths[3] == 0 and out.npartitions == 4
    return out


@pytest.mark.parametrize(
    "sampler",
    [
        TomekLinks(device="cpu"),
        EditedNearestNeighbours(device="cpu"),
        EditedNearestNeighbours(kind_sel="mode", device="cpu"),
    ],
    ids=["Tomek", "ENN", "ENN-mode"],
)
def test_cleaning_with_empty_partitions_keeps_the_in_process_rows(client, frame, sampler):
    """An empty partition (as after any filter) contributes no rows and no neighbours:
    the rows kept are the in-process sampler's on the rows that remain."""
    ddf = _with_empty_partitions(frame)
    rest = ddf.compute()
    features = [c for c in frame.columns if c != "label"]
    local = type(sampler)(**sampler.get_params())
    local.fit_resample(rest[features], rest["label"])
    want = rest.iloc[np.sort(local.sample_indices_)]
    got = fit_resample(ddf, sampler=sampler, target="label").compute()
    pd.testing.assert_frame_equal(got, want)
    # arrays: an empty chunk first and in the middle
    X, y = rest[features].to_numpy(), rest["label"].to_numpy()
    chunks = (0, 700, 0, len(y) - 700)
    X_res, y_res = fit_resample(
        da.from_array(X, chunks=(chunks, (D,))), da.from_array(y, chunks=(chunks,)), sampler=sampler
    )
    np.testing.assert_array_equal(X_res.compute(), X[np.sort(local.sample_indices_)])
    np.testing.assert_array_equal(y_res.compute(), y[np.sort(local.sample_indices_)])


@pytest.mark.parametrize(
    "sampler",
    [_smote(), RandomOverSampler(random_state=0), RandomUnderSampler(random_state=0)],
    ids=["SMOTE", "ROS", "RUS"],
)
def test_resampling_with_empty_partitions(client, frame, sampler):
    """The other methods on the same filtered input: balanced, the originals kept."""
    ddf = _with_empty_partitions(frame)
    rest = ddf.compute()
    got = fit_resample(ddf, sampler=sampler, target="label").compute()
    counts = got["label"].value_counts()
    assert counts[0] == counts[1]
    if isinstance(sampler, RandomUnderSampler):
        assert counts[1] == (rest["label"] == 1).sum()
        pd.testing.assert_frame_equal(got, rest.loc[got.index])
    else:
        assert counts[0] == (rest["label"] == 0).sum()
        pd.testing.assert_frame_equal(got.iloc[: len(rest)], rest, check_dtype=False)


@pytest.mark.parametrize(
    "sampler",
    [_smote(), RandomUnderSampler(random_state=0), TomekLinks(device="cpu")],
    ids=["SMOTE", "RUS", "Tomek"],
)
def test_labels_that_are_no_class_are_a_clear_error(client, frame, sampler):
    """A missing label (NaN, None, NA) or a continuous one is gpusmote's InvalidDataError
    (a ValueError) naming the label column, as in one process; not a traceback from a
    worker, nor a class of its own."""
    from gpusmote.exceptions import InvalidDataError

    labels = {
        "NaN": frame["label"].astype(np.float64).mask(frame.index == 17),
        "None": frame["label"].astype(object).mask(frame.index == 17, None),
        "NA": frame["label"].astype("Int64").mask(frame.index == 17),
    }
    for name, column in labels.items():
        df = frame.assign(label=column)
        with pytest.raises(InvalidDataError, match=r"`X\['label'\]` must be class labels") as e:
            fit_resample(dd.from_pandas(df, npartitions=3), sampler=sampler, target="label")
        assert "1 missing" in str(e.value), name
        assert isinstance(e.value, ValueError)
    df = frame.assign(label=frame["label"].astype(np.float64).mask(frame.index == 17, 0.5))
    with pytest.raises(InvalidDataError, match="1 not whole numbers"):
        fit_resample(dd.from_pandas(df, npartitions=3), sampler=sampler, target="label")
    features = [c for c in frame.columns if c != "label"]
    y = labels["NaN"].to_numpy()
    with pytest.raises(InvalidDataError, match=r"`y` must be class labels.*1 missing"):
        fit_resample(
            da.from_array(frame[features].to_numpy(), chunks=(1000, D)),
            da.from_array(y, chunks=1000),
            sampler=sampler,
        )
