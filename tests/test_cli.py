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
    return load("abalone19", as_frame=True)


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
    out = capsys.readouterr().out
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
