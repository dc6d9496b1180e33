import subprocess
import sys

from gpusmote.cli import main


def test_info_lists_backends(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "gpusmote" in out and "neighbour backends: torch (exact)" in out


def test_bench_small_prints_one_table(capsys):
    assert main(["bench", "--size", "small", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Machine: ")
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 2  # header + n in {2000, 5000}
    assert all("100.00 %" in line for line in table[1:])  # same neighbours as scikit-learn


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "gpusmote", "info"], capture_output=True, text=True)
    assert out.returncode == 0 and "torch" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "gpusmote", "frobnicate"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
