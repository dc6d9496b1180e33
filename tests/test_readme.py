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
