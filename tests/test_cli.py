"""The ``gpusmote`` command, run as a subprocess on real files."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from gpusmote import SMOTE
from gpusmote.cli import main
from gpusmote.datasets import load

pd = pytest.importorskip("pandas")


def gpusmote(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "gpusmote", *args], capture_output=True, text=True, cwd=cwd
    )


def resample_ok(src, dst, target, *extra):
    """``gpusmote resample SRC -o DST --target TARGET --seed 0 ...``, which must succeed."""
    run = gpusmote("resample", str(src), "-o", str(dst), "--target", target, "--seed", "0", *extra)
    assert run.returncode == 0, run.stderr
    return run


@pytest.fixture(scope="module")
def frame():
    return load("abalone19", as_frame=True).frame


def _expected(frame):
    X, y = frame.drop(columns=["target"]), frame["target"]
    return SMOTE(random_state=0, device="cpu").fit_resample(X, y)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_tabular_formats_round_trip(tmp_path, frame, suffix):
    src, dst = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(src, index=False)
    else:
        frame.to_csv(src, index=False)
    run = resample_ok(src, dst, "target", "--device", "cpu")
    out = pd.read_parquet(dst) if suffix == ".parquet" else pd.read_csv(dst)
    assert list(out.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(out.iloc[: len(frame)], frame, check_dtype=False)
    X_exp, y_exp = _expected(frame)
    np.testing.assert_allclose(out.drop(columns=["target"]).to_numpy(), X_exp.to_numpy(), rtol=1e-9)
    np.testing.assert_array_equal(out["target"].to_numpy(), y_exp.to_numpy())
    assert out["target"].value_counts().tolist() == [1590, 1590]
    assert f"wrote {dst}" in run.stderr


def test_array_formats_round_trip(tmp_path, frame):
    X = frame.drop(columns=["target"]).to_numpy().copy()  # writable, for torch.from_numpy
    y = frame["target"].to_numpy().copy()
    X_exp, y_exp = SMOTE(random_state=0, device="cpu").fit_resample(X, y)
    # .npy: the label is a column (here the first)
    np.save(tmp_path / "in.npy", np.column_stack([y, X]))
    resample_ok(tmp_path / "in.npy", tmp_path / "out.npy", "0", "--quiet")
    out = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(out[:, 0], y_exp)
    np.testing.assert_allclose(out[:, 1:], X_exp, rtol=1e-12)
    # .npz: separate arrays, the features under "X"
    np.savez(tmp_path / "in.npz", X=X, label=y)
    resample_ok(tmp_path / "in.npz", tmp_path / "out.npz", "label")
    with np.load(tmp_path / "out.npz") as out:
        np.testing.assert_allclose(out["X"], X_exp, rtol=1e-12)
        np.testing.assert_array_equal(out["label"], y_exp)
    # .pt: a dict of tensors; dtypes survive
    torch.save({"X": torch.from_numpy(X).float(), "y": torch.from_numpy(y)}, tmp_path / "in.pt")
    resample_ok(tmp_path / "in.pt", tmp_path / "out.pt", "y")
    out = torch.load(tmp_path / "out.pt", weights_only=True)
    assert out["X"].dtype == torch.float32 and out["y"].dtype == torch.int64
    assert torch.bincount(out["y"]).tolist() == [1590, 1590]
    # and across formats: .npz in, .csv out
    resample_ok(tmp_path / "in.npz", tmp_path / "x.csv", "label")
    assert list(pd.read_csv(tmp_path / "x.csv").columns)[-1] == "label"


def _no_leftovers(folder, allowed):
    assert sorted(p.name for p in folder.iterdir()) == sorted(allowed)


def test_failures_leave_no_partial_file(tmp_path, frame):
    out = tmp_path / "out.csv"

    def fails(src, target, message):
        run = gpusmote("resample", str(src), "-o", str(out), "--target", target)
        assert run.returncode == 2 and message in run.stderr, run.stderr

    frame.to_csv(tmp_path / "in.csv", index=False)
    fails(tmp_path / "in.csv", "label", "target column 'label' not found")
    fails(tmp_path / "nope.csv", "target", "no such file")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    fails(tmp_path / "junk.parquet", "target", "cannot read it as parquet")
    small = pd.concat([frame[frame["target"] == 0].head(100), frame[frame["target"] == 1].head(3)])
    small.to_csv(tmp_path / "small.csv", index=False)
    fails(tmp_path / "small.csv", "target", "class 1, which has 3")
    frame.assign(name="x").to_csv(tmp_path / "text.csv", index=False)
    fails(tmp_path / "text.csv", "target", "non-numeric feature columns ['name']")
    _no_leftovers(tmp_path, ["in.csv", "junk.parquet", "small.csv", "text.csv"])


def test_existing_output_is_kept_unless_force(tmp_path, frame):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    dst.write_text("precious")
    kept = gpusmote("resample", str(src), "-o", str(dst), "--target", "target")
    assert kept.returncode == 2 and "exists; pass --force" in kept.stderr
    assert dst.read_text() == "precious"
    assert (
        gpusmote("resample", str(src), "-o", str(dst), "--target", "target", "--force").returncode
        == 0
    )
    assert len(pd.read_csv(dst)) == 3180
    assert oct(dst.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    _no_leftovers(tmp_path, ["in.csv", "out.csv"])


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_interrupted_write_leaves_nothing(tmp_path, frame, monkeypatch, capsys):
    import gpusmote.cli._files as files

    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)

    def half_then_fail(table, X_res, y_res, path):
        path.write_text("f0,f1\n1,2\n")  # a partial file on disk...
        raise KeyboardInterrupt  # ...then the write is interrupted

    monkeypatch.setattr(files, "write_table", half_then_fail)
    assert main(["resample", str(src), "-o", str(dst), "--target", "target", "--quiet"]) == 130
    assert capsys.readouterr().err == "gpusmote resample: interrupted\n"
    _no_leftovers(tmp_path, ["in.csv"])


def test_plot_and_missing_matplotlib(tmp_path, frame, monkeypatch, capsys):
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    assert (
        main(
            [
                "resample",
                str(src),
                "-o",
                str(tmp_path / "o.csv"),
                "--target",
                "target",
                "--plot",
                str(tmp_path / "p.png"),
                "--quiet",
            ]
        )
        == 0
    )
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["demo", "--dataset", "abalone19", "--plot", str(tmp_path / "q.png")]) == 2
    assert 'pip install "gpusmote[plot]"' in capsys.readouterr().err


def test_demo_reports_minority_recall_before_and_after():
    run = gpusmote("demo")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "class distribution: class 0: 4913 rows (89.78 %), class 1: 559 rows (10.22 %)" in out
    assert out.count("1 (minority)") == 2 and out.count("confusion matrix") == 2
    line = next(line for line in out.splitlines() if line.startswith("minority-class recall"))
    before, after = (float(w) for w in line.replace("->", " ").split() if w[0].isdigit())
    assert 0.0 <= before < after <= 1.0


def test_info_lists_backends(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "gpusmote" in out and "neighbour backends: torch (exact)" in out


def test_bench_small_prints_both_tables(capsys):
    assert main(["bench", "--size", "small", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "{" not in captured.err and "{" not in out  # tables, not Python dicts
    assert out.startswith("Machine: ")
    neighbour_rows = [
        line
        for line in out.splitlines()
        if line.startswith("| 2,000") or line.startswith("| 5,000")
    ]
    assert len(neighbour_rows) == 2 and all("100.00 %" in line for line in neighbour_rows)
    smote_row = next(line for line in out.splitlines() if line.startswith("| a |"))
    assert smote_row.rstrip().endswith("| yes |")  # same rows as imbalanced-learn


def test_module_entry_point_and_usage_errors():
    out = gpusmote("info")
    assert out.returncode == 0 and "torch" in out.stdout
    bad = gpusmote("frobnicate")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    strategy = gpusmote(
        "resample", "a.csv", "-o", "b.csv", "--target", "t", "--sampling-strategy", "lots"
    )
    assert strategy.returncode == 2 and "a float in (0, 1]" in strategy.stderr


# -- every failure: one line on stderr, exit code 2, nothing left behind --------------


def _fails(capsys, argv, *words, code=2):
    """``main(argv)`` fails with ``code`` and one stderr line holding ``words``."""
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture
def src(tmp_path, frame):
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    return path


def test_unwritable_outputs_are_one_line(tmp_path, src, capsys):
    base = [str(src), "--target", "target", "--quiet"]
    if os.path.isdir("/sys"):  # sysfs takes no new files, even from root
        _fails(capsys, ["resample", *base, "-o", "/sys/o.csv"], "/sys/o.csv", "cannot write")
    (tmp_path / "dir.csv").mkdir()
    _fails(capsys, ["resample", *base, "-o", str(tmp_path / "dir.csv"), "--force"], "is a folder")
    _fails(capsys, ["resample", *base, "-o", str(tmp_path / "no" / "o.csv")], "no such folder")
    _no_leftovers(tmp_path, ["in.csv", "dir.csv"])


@pytest.mark.parametrize(
    "error, words",
    [
        (OSError(28, "No space left on device"), "No space left on device"),
        (OSError(30, "Read-only file system"), "Read-only file system"),
    ],
)
def test_os_errors_while_writing_name_the_output(tmp_path, src, capsys, monkeypatch, error, words):
    import gpusmote.cli._files as files

    def fail(table, X_res, y_res, path):
        path.write_text("partial")
        raise error

    monkeypatch.setattr(files, "write_table", fail)
    dst = tmp_path / "out.csv"
    _fails(capsys, ["resample", str(src), "-o", str(dst), "--target", "target"], str(dst), words)
    _no_leftovers(tmp_path, ["in.csv"])


def test_read_only_folder_is_one_line(tmp_path, src, capsys, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    dst = tmp_path / "out.csv"
    _fails(
        capsys,
        ["resample", str(src), "-o", str(dst), "--target", "target"],
        f"{dst}: cannot write there (Read-only file system)",
    )


@pytest.mark.parametrize(
    "signum, code, word", [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")]
)
def test_signals_during_the_write_clean_up(tmp_path, src, capsys, monkeypatch, signum, code, word):
    import signal
    import time

    import gpusmote.cli._files as files

    def write_then_get_killed(table, X_res, y_res, path):
        path.write_text("f0,f1\n1,2\n")
        os.kill(os.getpid(), getattr(signal, signum))
        time.sleep(5)  # the handler interrupts this

    monkeypatch.setattr(files, "write_table", write_then_get_killed)
    dst = tmp_path / "out.csv"
    _fails(capsys, ["resample", str(src), "-o", str(dst), "--target", "target"], word, code=code)
    _no_leftovers(tmp_path, ["in.csv"])
    assert signal.getsignal(signal.SIGTERM) is not None  # the handler was put back


def test_sigterm_from_outside_leaves_nothing(tmp_path, frame):
    """A real `kill -TERM` on the command, while it works on a large table."""
    import signal
    import time

    big = pd.concat([frame] * 40, ignore_index=True)
    src, dst = tmp_path / "big.csv", tmp_path / "out.csv"
    big.to_csv(src, index=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpusmote", "resample", str(src), "-o", str(dst)]
        + ["--target", "target", "--seed", "0", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not any(
        p.name.startswith(".out.csv") for p in tmp_path.iterdir()
    ):
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    if proc.returncode == 0:  # it finished first: then the output is whole
        assert len(pd.read_csv(dst)) > len(big)
    else:
        assert proc.returncode == 143 and err == "gpusmote resample: terminated\n", err
        _no_leftovers(tmp_path, ["big.csv"])


def test_a_killed_runs_partial_file_is_removed_next_time(tmp_path, src, capsys):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    stale = tmp_path / f".out.csv.{pid}.abcd1234.part.csv"
    stale.write_text("half a file")
    alive = tmp_path / f".out.csv.{os.getpid()}.zzzz.part.csv"  # a live run's: kept
    alive.write_text("busy")
    assert (
        main(
            [
                "resample",
                str(src),
                "-o",
                str(tmp_path / "out.csv"),
                "--target",
                "target",
                "--seed",
                "0",
            ]
        )
        == 0
    )
    assert f"removed {stale}" in capsys.readouterr().err
    _no_leftovers(tmp_path, ["in.csv", "out.csv", alive.name])


def test_closed_pipe_is_silent():
    for command in (["info"], ["demo", "--dataset", "abalone19"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "gpusmote", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        proc.stdout.readline()
        proc.stdout.close()  # as `| head -1` does
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
        assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_force_keeps_the_mode_and_symlinks_are_followed(tmp_path, src, capsys):
    private = tmp_path / "private.csv"
    private.write_text("secret")
    private.chmod(0o600)
    argv = ["resample", str(src), "--target", "target", "--seed", "0", "--quiet", "--force"]
    assert main([*argv, "-o", str(private)]) == 0
    assert oct(private.stat().st_mode & 0o777) == oct(0o600)
    link = tmp_path / "link.csv"
    link.symlink_to(private)
    assert main([*argv, "-o", str(link)]) == 0
    assert link.is_symlink() and len(pd.read_csv(private)) == 3180
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    _fails(capsys, [*argv, "-o", str(dangling)], "symbolic link", "does not exist")
    assert dangling.is_symlink() and not (tmp_path / "nowhere.csv").exists()


def test_output_is_fsynced_before_the_rename(tmp_path, src, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    assert (
        main(
            [
                "resample",
                str(src),
                "-o",
                str(tmp_path / "o.csv"),
                "--target",
                "target",
                "--seed",
                "0",
                "--quiet",
            ]
        )
        == 0
    )
    assert len(synced) >= 1


def test_plot_problems_are_found_before_the_work(tmp_path, src, capsys, monkeypatch):
    out = tmp_path / "o.csv"
    base = ["resample", str(src), "-o", str(out), "--target", "target", "--quiet"]
    _fails(capsys, [*base, "--plot", str(tmp_path / "nodir" / "p.png")], "no such folder")
    victim = tmp_path / "victim.csv"
    victim.write_text("keep me")
    _fails(capsys, [*base, "--plot", str(victim)], "image")
    assert victim.read_text() == "keep me"
    _fails(capsys, [*base, "--plot", str(out)], "image")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    _fails(capsys, [*base, "--plot", str(tmp_path / "p.png")], 'pip install "gpusmote[plot]"')
    _fails(capsys, ["demo", "--plot", str(tmp_path / "q.png")], 'pip install "gpusmote[plot]"')
    _no_leftovers(tmp_path, ["in.csv", "victim.csv"])  # the output was never written


@pytest.mark.parametrize(
    "content, words",
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("amount,age,target\n", "header but no rows"),
        ("amount,age,target\n1,2,0\n3,4,0\n", "target 'target' holds one class (0)"),
        ("amount,age,target\n1,2,0\n3,,1\n5,6,0\n", "column 'age' has 1 missing"),
        ("amount,age,target\n1,2,0\n3,inf,1\n5,6,0\n", "data row 2"),
    ],
)
def test_bad_input_files_say_what_is_wrong(tmp_path, capsys, content, words):
    path = tmp_path / "in.csv"
    path.write_text(content)
    _fails(
        capsys, ["resample", str(path), "-o", str(tmp_path / "o.csv"), "--target", "target"], words
    )
    _no_leftovers(tmp_path, ["in.csv"])


def test_hints_use_the_flags(tmp_path, src, capsys):
    if not torch.cuda.is_available():
        err = _fails(
            capsys,
            [
                "resample",
                str(src),
                "-o",
                str(tmp_path / "o.csv"),
                "--target",
                "target",
                "--device",
                "cuda",
            ],
            "--device cpu",
        )
        assert 'device="cpu"' not in err
    three = pd.DataFrame({"a": np.arange(30.0), "target": ["x"] * 20 + ["y"] * 6 + ["z"] * 4})
    three.to_csv(tmp_path / "three.csv", index=False)
    argv = [
        "resample",
        str(tmp_path / "three.csv"),
        "-o",
        str(tmp_path / "o.csv"),
        "--target",
        "target",
        "--k-neighbors",
        "2",
    ]
    err = _fails(capsys, [*argv, "--sampling-strategy", "0.5"], "--sampling-strategy LABEL=N")
    assert "dict" not in err
    _fails(capsys, [*argv, "--sampling-strategy", "w=20"], "class 'w'", "['x', 'y', 'z']")
    assert main([*argv, "--sampling-strategy", "y=12,z=8", "--seed", "0", "--quiet"]) == 0
    assert pd.read_csv(tmp_path / "o.csv")["target"].value_counts().to_dict() == {
        "x": 20,
        "y": 12,
        "z": 8,
    }


def test_drop_and_id_columns(tmp_path, frame, capsys):
    data = frame.copy()
    data.insert(0, "customer", np.arange(100_000, 100_000 + len(data)))
    data["note"] = "free text"
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    data.to_csv(src, index=False)
    base = ["resample", str(src), "-o", str(dst), "--target", "target", "--seed", "0", "--quiet"]
    assert main([*base, "--id", "customer", "--drop", "note"]) == 0
    out = pd.read_csv(dst)
    assert list(out.columns) == ["customer", *frame.columns]
    n = len(frame)
    assert out["customer"].iloc[:n].tolist() == data["customer"].tolist()
    assert out["customer"].iloc[n:].isna().all()  # synthetic rows have no identifier
    X_exp, _ = _expected(frame)  # the id column was not a feature
    np.testing.assert_allclose(
        out[frame.columns.drop("target")].to_numpy(), X_exp.to_numpy(), rtol=1e-9
    )
    _fails(capsys, [*base, "--force", "--id", "nope"], "--id column(s) ['nope'] not found")
    _fails(capsys, [*base, "--force"], "non-numeric feature columns ['note']", "--drop")


def test_version_defaults_and_the_drawn_seed(tmp_path, src, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("gpusmote ")
    with pytest.raises(SystemExit):
        main(["resample", "--help"])
    assert "(default: 5)" in capsys.readouterr().out
    assert main(["resample", str(src), "-o", str(tmp_path / "o.csv"), "--target", "target"]) == 0
    err = capsys.readouterr().err
    seed = int(err.split("seed: ")[1].split()[0])
    assert (
        main(
            [
                "resample",
                str(src),
                "-o",
                str(tmp_path / "p.csv"),
                "--target",
                "target",
                "--seed",
                str(seed),
                "--quiet",
            ]
        )
        == 0
    )
    assert (tmp_path / "o.csv").read_text() == (tmp_path / "p.csv").read_text()


def test_plot_legend_names_the_classes(frame):
    from gpusmote.cli._commands import _plot_inputs
    from gpusmote.cli._files import Table

    labelled = frame.assign(target=frame["target"].map({0: "legit", 1: "fraud"}))
    table = Table(
        labelled.drop(columns="target"),
        labelled["target"],
        "target",
        list(labelled.columns),
        "frame",
    )
    y_res = pd.concat([labelled["target"], pd.Series(["fraud"] * 3)], ignore_index=True)
    X_res = pd.concat([table.X, table.X.iloc[:3]], ignore_index=True)
    X, codes, _, codes_res, names = _plot_inputs(table, X_res, y_res)
    assert names == ["fraud", "legit"] and codes_res[-3:].tolist() == [0, 0, 0]
    assert (np.asarray(names)[codes] == labelled["target"].to_numpy()).all()
