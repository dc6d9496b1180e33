"""``gpusmote resample``'s files (issue #27): exclusive outputs under concurrent runs,
values kept as written, output formats checked before the work, unusual inputs, and
``--force`` over another user's file."""

import gzip
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gpusmote import SMOTE
from gpusmote.cli import main

from .test_cli import _fails  # one stderr line, exit code 2

pd = pytest.importorskip("pandas")
ROOT = Path(__file__).resolve().parents[1]


def _files(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def _table(n=60, minority=12, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "target": [0] * (n - minority) + [1] * minority,
        }
    )


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "in.csv"
    _table().to_csv(path, index=False)
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Resampling must not start: the checks come before it."""

    def refuse(self, X, y, **kwargs):
        raise AssertionError("resampled before the output format was checked")

    monkeypatch.setattr(SMOTE, "fit_resample", refuse)


# -- 1. concurrent runs to one output: exactly one wins --------------------------------

# Each run writes its output, then waits at the commit until every run has written (a
# file per run in the folder SYNC), or until the file GO exists: so all of them have
# passed the check made at the start before any of them commits.
_HELD_RUN = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import gpusmote.cli._files as files
    from gpusmote.cli import main

    sync, n = Path(sys.argv[1]), int(sys.argv[2])
    real = files.write_table

    def write_then_wait(*args):
        real(*args)
        (sync / f"ready.{os.getpid()}").touch()
        deadline = time.time() + 120
        while time.time() < deadline:
            if len(list(sync.glob("ready.*"))) >= n or (sync / "GO").exists():
                return
            time.sleep(0.02)

    files.write_table = write_then_wait
    sys.exit(main(sys.argv[3:]))
    """
)


def _held_runs(n, sync, argv, *, wait_for=None):
    """``n`` runs, each held at its commit until ``wait_for`` (default ``n``) have written."""
    return [
        subprocess.Popen(
            [sys.executable, "-c", _HELD_RUN, str(sync), str(wait_for or n), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]


def test_concurrent_runs_to_one_output_one_wins(tmp_path, src):
    sync = tmp_path / "sync"
    sync.mkdir()
    out = tmp_path / "out.csv"
    argv = ["resample", str(src), "-o", str(out), "--target", "target", "--seed", "0", "--quiet"]
    runs = _held_runs(4, sync, argv)
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2, 2, 2], results
    for code, err in results:
        if code:
            assert err.count("\n") == 1 and f"{out} exists; pass --force" in err, err
    assert len(pd.read_csv(out)) == 96
    assert _files(tmp_path) == ["in.csv", "out.csv", "sync"]  # no temporary file left


def test_a_file_created_during_the_run_is_not_replaced(tmp_path, src):
    sync = tmp_path / "sync"
    sync.mkdir()
    out = tmp_path / "out.csv"
    argv = ["resample", str(src), "-o", str(out), "--target", "target", "--seed", "0", "--quiet"]
    (run,) = _held_runs(1, sync, argv, wait_for=2)  # waits for a run that never comes...
    deadline = time.time() + 120
    while not list(sync.glob("ready.*")) and time.time() < deadline:
        time.sleep(0.02)
    out.write_text("someone else's file\n")  # ...while someone else writes the output
    (sync / "GO").touch()
    code, err = run.wait(timeout=120), run.communicate()[1]
    assert code == 2 and err.count("\n") == 1 and f"{out} exists" in err, err
    assert out.read_text() == "someone else's file\n"
    assert _files(tmp_path) == ["in.csv", "out.csv", "sync"]


def test_without_hard_links_the_final_step_is_still_exclusive(tmp_path, src, capsys, monkeypatch):
    import gpusmote.cli._files as files

    def no_links(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")  # as on FAT, some FUSE mounts

    monkeypatch.setattr(os, "link", no_links)
    out = tmp_path / "out.csv"
    argv = ["resample", str(src), "-o", str(out), "--target", "target", "--seed", "0", "--quiet"]
    assert main(argv) == 0 and len(pd.read_csv(out)) == 96
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    out.unlink()
    real = files.write_table

    def someone_else_meanwhile(table, X_res, y_res, path):
        real(table, X_res, y_res, path)
        out.write_text("theirs\n")

    monkeypatch.setattr(files, "write_table", someone_else_meanwhile)
    _fails(capsys, argv, f"{out} exists; pass --force")
    assert out.read_text() == "theirs\n"
    assert _files(tmp_path) == ["in.csv", "out.csv"]


def test_with_a_plot_a_lost_race_leaves_neither_file(tmp_path, src, capsys, monkeypatch):
    import gpusmote.cli._plot as plot

    pytest.importorskip("matplotlib")
    out, image = tmp_path / "out.csv", tmp_path / "p.png"
    real = plot.plot_resampling

    def someone_else_meanwhile(*args, **kwargs):
        real(*args, **kwargs)
        image.write_bytes(b"theirs")

    monkeypatch.setattr(plot, "plot_resampling", someone_else_meanwhile)
    argv = ["resample", str(src), "-o", str(out), "--target", "target", "--quiet"]
    _fails(capsys, [*argv, "--plot", str(image)], f"{image} exists")
    assert image.read_bytes() == b"theirs"
    assert _files(tmp_path) == ["in.csv", "p.png"]  # the output it had written is gone


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- 2. identifiers, labels and integers as written ------------------------------------


def test_ids_labels_and_large_integers_come_back_as_written(tmp_path, capsys):
    n = 40
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "customer": [f"{i:06d}" for i in range(n - 2)] + ["NA", ""],
            "a": rng.normal(size=n),
            "big": np.arange(n, dtype=np.int64) + 2**53 + 1,
            "note": ["x"] * n,
            "target": ["0"] * 24 + ["01"] * 8 + ["1"] * 8,
        }
    )
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    argv = ["resample", str(src), "-o", str(dst), "--target", "target", "--k-neighbors", "3"]
    assert main([*argv, "--id", "customer", "--drop", "note", "--seed", "0", "--quiet"]) == 0
    lines = dst.read_text().splitlines()
    # the input's rows, byte for byte (less the dropped column)
    expected = frame.drop(columns="note").to_csv(index=False).splitlines()
    assert lines[: n + 1] == expected
    out = pd.read_csv(dst, dtype=str, keep_default_na=False)
    assert out["target"].value_counts().to_dict() == {"0": 24, "01": 24, "1": 24}  # 3 classes
    assert (out["customer"].iloc[n:] == "").all()


def test_numeric_labels_keep_their_numeric_order(tmp_path):
    """Labels written as plain numbers are numbers, as before: classes 9 and 10 in
    numeric order (not as text, "10" < "9"), so the draws are the library's on the same
    table."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=60),
            "b": rng.normal(size=60),
            "target": [1] * 40 + [9] * 10 + [10] * 10,
        }
    )
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    argv = ["resample", str(src), "-o", str(dst), "--target", "target", "--seed", "0", "--quiet"]
    assert main(argv) == 0
    out = pd.read_csv(dst)
    X_exp, y_exp = SMOTE(random_state=0).fit_resample(frame[["a", "b"]], frame["target"])
    np.testing.assert_array_equal(out["target"].to_numpy(), y_exp.to_numpy())
    np.testing.assert_allclose(out[["a", "b"]].to_numpy(), X_exp.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "columns",
    [
        {"f": np.linspace(0, 1, 30), "i": np.arange(30, dtype=np.int64) + 2**53 + 1},
        {"i": np.arange(30, dtype=np.int64) + 2**60 + 1},
        {"u": np.arange(30, dtype=np.uint64) + np.uint64(2**63 + 1), "f": np.ones(30)},
        {"f": np.linspace(0, 1, 30), "n": pd.array(np.arange(30) + 2**53 + 1, dtype="Int64")},
    ],
    ids=["float+int64", "int64", "uint64", "nullable"],
)
def test_a_frames_original_rows_keep_exact_integers(columns):
    """The library: a DataFrame's own rows come back exactly, above 2**53 too."""
    X = pd.DataFrame(columns)
    before = X.copy()
    y = np.array([0] * 22 + [1] * 8)
    X_res, y_res = SMOTE(k_neighbors=3, random_state=0).fit_resample(X, y)
    pd.testing.assert_frame_equal(X_res.iloc[:30], X, check_exact=True)
    assert list(X_res.dtypes) == list(X.dtypes) and len(X_res) == 44
    pd.testing.assert_frame_equal(X, before, check_exact=True)  # the input untouched


# -- 3. the output format is checked before the work -----------------------------------


def _text_labels(tmp_path):
    frame = _table().assign(target=["legit"] * 48 + ["fraud"] * 12)
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_text_labels_in_npz_are_plain_unicode(tmp_path):
    path, frame = _text_labels(tmp_path)
    argv = ["--target", "target", "--seed", "0", "--quiet"]
    assert main(["resample", str(path), "-o", str(tmp_path / "o.npz"), *argv]) == 0
    with np.load(tmp_path / "o.npz", allow_pickle=False) as archive:
        labels = archive["target"]
        assert labels.dtype.kind == "U" and archive["X"].shape == (96, 2)
    assert labels[:60].tolist() == frame["target"].tolist()
    # and gpusmote reads its own file back
    assert main(["resample", str(tmp_path / "o.npz"), "-o", str(tmp_path / "back.csv"), *argv]) == 0
    assert set(pd.read_csv(tmp_path / "back.csv")["target"]) == {"legit", "fraud"}


@pytest.mark.parametrize("suffix", [".npy", ".pt"])
def test_text_labels_into_number_only_formats_fail_before_the_work(
    tmp_path, capsys, no_work, suffix
):
    path, _ = _text_labels(tmp_path)
    out = tmp_path / f"o{suffix}"
    _fails(
        capsys,
        ["resample", str(path), "-o", str(out), "--target", "target"],
        "text labels",
        suffix,
    )
    assert _files(tmp_path) == ["text.csv"]


def test_id_columns_into_array_formats_fail_before_the_work(tmp_path, capsys, no_work):
    frame = _table().assign(customer=range(60))
    frame.to_csv(tmp_path / "in.csv", index=False)
    argv = ["resample", str(tmp_path / "in.csv"), "--target", "target", "--id", "customer"]
    _fails(capsys, [*argv, "-o", str(tmp_path / "o.npz")], "--id", "CSV or Parquet output")
    assert _files(tmp_path) == ["in.csv"]


def test_missing_pandas_or_pyarrow_is_found_before_the_work(tmp_path, capsys, monkeypatch):
    X, y = np.random.default_rng(0).normal(size=(60, 2)), np.array([0] * 48 + [1] * 12)
    np.savez(tmp_path / "in.npz", X=X, y=y)
    pd.DataFrame({"a": X[:, 0], "y": y}).to_csv(tmp_path / "in.csv", index=False)
    argv = ["resample", str(tmp_path / "in.npz"), "--target", "y", "--quiet"]
    monkeypatch.setattr(SMOTE, "fit_resample", lambda *a, **k: pytest.fail("resampled"))
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    _fails(capsys, [*argv, "-o", str(tmp_path / "o.parquet")], 'pip install "gpusmote[pandas]"')
    monkeypatch.setitem(sys.modules, "pandas", None)
    _fails(capsys, [*argv, "-o", str(tmp_path / "o.csv")], 'pip install "gpusmote[pandas]"')
    _fails(
        capsys,
        ["resample", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.npz"), "--target", "y"],
        'CSV and Parquet files need pandas: pip install "gpusmote[pandas]"',
    )
    assert _files(tmp_path) == ["in.csv", "in.npz"]


# -- 4. unusual inputs -----------------------------------------------------------------


def _tensors():
    g = torch.Generator().manual_seed(0)
    return torch.randn(60, 3, generator=g), torch.tensor([0] * 48 + [1] * 12)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("kind", ["requires_grad", "bfloat16", "sparse_coo", "sparse_csr"])
@pytest.mark.parametrize("suffix", [".pt", ".npz", ".csv"])
def test_pt_inputs_grad_bfloat16_and_sparse(tmp_path, capsys, kind, suffix):
    X, y = _tensors()
    X_in = {
        "requires_grad": X.clone().requires_grad_(),
        "bfloat16": X.bfloat16(),
        "sparse_coo": X.to_sparse(),
        "sparse_csr": X.to_sparse_csr(),
    }[kind]
    torch.save({"X": X_in, "y": y}, tmp_path / "in.pt")
    out = tmp_path / f"out{suffix}"
    argv = ["resample", str(tmp_path / "in.pt"), "-o", str(out), "--target", "y", "--seed", "0"]
    assert main([*argv, "--quiet"]) == 0, capsys.readouterr().err
    assert capsys.readouterr().err == ""  # no warning either
    if suffix == ".pt":
        back = torch.load(out, weights_only=True)
        X_out = back["X"]
        assert X_out.dtype == X_in.dtype and X_out.layout == X_in.layout
        assert not X_out.requires_grad
        X_out = X_out.to_dense().float()
    elif suffix == ".npz":
        with np.load(out, allow_pickle=False) as archive:
            X_out = torch.from_numpy(archive["X"]).float()
    else:
        X_out = torch.from_numpy(pd.read_csv(out)[["f0", "f1", "f2"]].to_numpy()).float()
    assert X_out.shape == (96, 3)
    torch.testing.assert_close(X_out[:60], X_in.detach().to_dense().float())


def test_non_finite_values_in_sparse_and_bfloat16_inputs_are_named(tmp_path, capsys):
    X, y = _tensors()
    X[5, 2] = float("nan")
    for X_in in (X.to_sparse(), X.bfloat16()):
        torch.save({"X": X_in, "y": y}, tmp_path / "in.pt")
        argv = ["resample", str(tmp_path / "in.pt"), "-o", str(tmp_path / "o.pt"), "--target", "y"]
        _fails(capsys, argv, "feature column 2", "data row 6")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    run = subprocess.run(
        [sys.executable, "-m", "gpusmote", "resample", str(fifo), "-o", str(tmp_path / "o.csv")]
        + ["--target", "target"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "named pipe" in run.stderr and "no such file" not in run.stderr
    assert _files(tmp_path) == ["in.csv"]


def _bomb(path, megabytes):
    row = b"0.5,0.25,0\n" * 1000
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b"a,b,target\n")
        for _ in range(megabytes * 1024 * 1024 // len(row)):
            f.write(row)


def test_a_compressed_csv_bomb_stops_at_the_limit(tmp_path, capsys, monkeypatch, no_work):
    import gpusmote.cli._files as files

    bomb = tmp_path / "in.csv.gz"
    _bomb(bomb, 8)
    assert bomb.stat().st_size < 200_000  # small on disk, 8 MiB decompressed
    out = tmp_path / "o.csv"
    argv = ["resample", str(bomb), "-o", str(out), "--target", "target"]
    _fails(capsys, [*argv, "--max-decompressed", "1MiB"], "more than 1.0 MiB", "--max-decompressed")
    # by default, the limit is the memory available
    monkeypatch.setattr(files, "available_memory", lambda: 2 * 1024 * 1024)
    _fails(capsys, argv, "more than 2.0 MiB", "memory available", "--max-decompressed")
    assert _files(tmp_path) == ["in.csv.gz"]


def test_max_decompressed_is_checked_and_a_raised_limit_reads(tmp_path, capsys, monkeypatch):
    import gpusmote.cli._files as files

    src = tmp_path / "in.csv.gz"
    _table().to_csv(src, index=False)
    out = tmp_path / "o.csv"
    argv = ["resample", str(src), "-o", str(out), "--target", "target", "--quiet", "--seed", "0"]
    _fails(capsys, [*argv, "--max-decompressed", "lots"], "--max-decompressed")
    monkeypatch.setattr(files, "available_memory", lambda: 100)
    assert main([*argv, "--max-decompressed", "1MB"]) == 0 and len(pd.read_csv(out)) == 96


# -- 5. --force over another user's file -----------------------------------------------


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("mode", [0o4755, 0o2775, 0o6750])
def test_force_over_another_users_file_drops_setuid_and_setgid(tmp_path, src, mode):
    dst = tmp_path / "out.csv"
    dst.write_text("theirs\n")
    os.chown(dst, 12345, 12345)
    os.chmod(dst, mode)
    argv = ["resample", str(src), "-o", str(dst), "--target", "target", "--quiet", "--force"]
    assert main(argv) == 0
    st = dst.stat()
    assert st.st_uid == os.geteuid()
    assert oct(stat.S_IMODE(st.st_mode)) == oct(mode & 0o777)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners")
def test_force_over_ones_own_file_keeps_its_mode(tmp_path, src):
    dst = tmp_path / "out.csv"
    dst.write_text("mine\n")
    os.chmod(dst, 0o640)
    argv = ["resample", str(src), "-o", str(dst), "--target", "target", "--quiet", "--force"]
    assert main(argv) == 0
    assert oct(stat.S_IMODE(dst.stat().st_mode)) == oct(0o640)


# -- 6. the README -----------------------------------------------------------------------


def test_readme_cli_section_names_the_pandas_extra():
    text = (ROOT / "README.md").read_text()
    start = text.index("## The command line")
    section = text[start : text.index("\n## ", start + 1)]
    assert 'pip install "gpusmote[pandas]"' in section
    assert "hard link" in section and "setuid" in section
    assert "--max-decompressed" in section
