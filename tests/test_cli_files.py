"""``gpusmote resample``'s files (issue #27)."""

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from gpusmote import SMOTE
from gpusmote.cli import main

pd = pytest.importorskip("pandas")
ROOT = Path(__file__).resolve().parents[1]


def _fails(capsys, argv, *words, code=2):
    """``main(argv)`` fails with ``code`` and one stderr line holding ``words``."""
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


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
