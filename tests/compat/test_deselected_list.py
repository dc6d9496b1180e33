"""`deselected.py` names tests that exist, in modules tests/compat runs."""

from pathlib import Path

from ._suite import load
from .deselected import DESELECTED

HERE = Path(__file__).parent


def _relative(module_file: str) -> str:
    text = (HERE / module_file).read_text()
    return text.split('load("', 1)[1].split('"', 1)[0]


def test_every_entry_names_an_existing_test():
    for key in DESELECTED:
        module_file, name = key.split("::")
        base = name.split("[", 1)[0]
        assert (HERE / module_file).exists(), key
        assert callable(load(_relative(module_file)).get(base)), key


def test_the_list_is_short():
    # private internals and message wording only: 3 + 10 of imbalanced-learn's 172
    assert len(DESELECTED) <= 13
