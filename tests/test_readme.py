"""The README's set-up commands are the ones CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    first_screen = text[: text.index("\n## ", text.index("## Quick start") + 1)]
    return re.findall(r"```(?:bash|sh)\n(.*?)```", first_screen, flags=re.S)


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = _readme_commands()
    test_block = next(b for b in blocks if "pytest" in b)
    command = [line for line in test_block.splitlines() if "pytest" in line][0].strip()
    assert command in ci.splitlines()


def test_first_screen_has_the_main_job_command():
    blocks = _readme_commands()
    assert any("gpusmote " in b and "pytest" not in b for b in blocks)


def test_main_job_installs_only_what_the_demo_needs():
    """The main-job command installs the package without extras, and the demo runs with
    none of them importable (pandas, scikit-learn, scipy, matplotlib, faiss, dask)."""
    import subprocess
    import sys

    block = next(b for b in _readme_commands() if "gpusmote demo" in b)
    assert "pip install -e . " in block and "[" not in block
    code = (
        "import sys\n"
        "for m in ('pandas', 'sklearn', 'scipy', 'matplotlib', 'faiss', 'dask', 'imblearn'):\n"
        "    sys.modules[m] = None\n"
        "from gpusmote.cli import main\n"
        "sys.exit(main(['demo', '--dataset', 'abalone19', '--device', 'cpu']))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "minority-class recall" in run.stdout
