"""`_strategy.resolve` against imbalanced-learn's `check_sampling_strategy`."""

import re

import numpy as np
import pytest

from gpusmote._strategy import resolve

validation = pytest.importorskip("imblearn.utils")

Y_BINARY = np.r_[np.zeros(50, int), np.ones(12, int)]
Y_MULTI = np.r_[np.zeros(50, int), np.ones(12, int), np.full(30, 2), np.full(7, 5)]
Y_STR = np.array(["b"] * 40 + ["a"] * 10 + ["c"] * 25)


def _counts(y):
    classes, counts = np.unique(y, return_counts=True)
    return {c.item(): int(n) for c, n in zip(classes, counts, strict=True)}


CASES = [
    ("auto", Y_MULTI),
    ("minority", Y_MULTI),
    ("not minority", Y_MULTI),
    ("not majority", Y_MULTI),
    ("all", Y_MULTI),
    ("all", Y_STR),
    ("majority", Y_MULTI),
    (0.5, Y_BINARY),
    (1.0, Y_BINARY),
    ({1: 40, 5: 7}, Y_MULTI),
    ({"a": 30}, Y_STR),
    (lambda y: {1: int((y == 1).sum()) * 3}, Y_MULTI),
]


@pytest.mark.parametrize("sampling_type", ["over-sampling", "under-sampling"])
@pytest.mark.parametrize("strategy,y", CASES)
def test_same_result_or_error_as_imbalanced_learn(strategy, y, sampling_type):
    try:
        expected = validation.check_sampling_strategy(strategy, y, sampling_type)
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc)[:40])):
            resolve(strategy, _counts(y), sampling_type, y=y)
        return
    got = resolve(strategy, _counts(y), sampling_type, y=y)
    assert list(got.items()) == [
        (k.item() if hasattr(k, "item") else k, v) for k, v in expected.items()
    ]


@pytest.mark.parametrize(
    "strategy,y",
    [
        (0.5, Y_MULTI),  # float on multiclass
        (0.1, Y_BINARY),  # would remove minority rows
        (1.5, Y_BINARY),
        ({7: 100}, Y_MULTI),  # unknown class
        ({1: 3}, Y_MULTI),  # fewer than present
        ({1: -1}, Y_MULTI),
        ("most", Y_MULTI),
    ],
)
def test_errors_match_imbalanced_learn(strategy, y):
    with pytest.raises(ValueError) as theirs:
        validation.check_sampling_strategy(strategy, y, "over-sampling")
    with pytest.raises(ValueError) as ours:
        resolve(strategy, _counts(y), "over-sampling", y=y)
    # same words; imbalanced-learn lists the string options as a dict of its functions,
    # gpusmote as a plain list, so the comparison stops before that list
    ours_text, theirs_text = (" ".join(str(e.value).split()) for e in (ours, theirs))
    n = min(60, theirs_text.find("one of") + 6 if "one of" in theirs_text else 60)
    assert ours_text[:n] == theirs_text[:n]


def test_single_class_and_bad_types():
    with pytest.raises(ValueError, match="needs to have more than 1 class. Got 1 class"):
        resolve("auto", {0: 10}, "over-sampling")
    with pytest.raises(TypeError, match="`sampling_strategy` must be"):
        resolve(object(), {0: 10, 1: 2}, "over-sampling")
