"""Load one of imbalanced-learn's installed test modules with gpusmote's samplers in it.

Each module is executed afresh from imbalanced-learn's installed file, under a
name of its own. While it executes, imbalanced-learn's sampler packages
(``imblearn.over_sampling``, ``imblearn.under_sampling``, ``imblearn.combine``)
hand out gpusmote's class for every sampler gpusmote has, so the module's own
imports, and the instances it builds at import time (in ``parametrize``), are
gpusmote's; the packages are restored afterwards. Nothing else in the module
changes: its data, fixtures, expected rows and helpers are imbalanced-learn's.
"""

from __future__ import annotations

import importlib.util
import inspect
from contextlib import contextmanager
from pathlib import Path

import gpusmote.combine
import gpusmote.over_sampling
import gpusmote.under_sampling

_GPUSMOTE = {
    name: getattr(package, name)
    for package in (gpusmote.over_sampling, gpusmote.under_sampling, gpusmote.combine)
    for name in package.__all__
}


def imblearn_root() -> Path:
    import imblearn

    return Path(imblearn.__file__).parent


def load(relative: str) -> dict:
    """The namespace of imbalanced-learn's test module ``relative``, substituted.

    ``relative`` is the module's path under the installed ``imblearn`` package,
    e.g. ``"over_sampling/_smote/tests/test_smote.py"``.
    """
    path = imblearn_root() / relative
    name = "gpusmote_compat." + relative.removesuffix(".py").replace("/", ".")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    with _gpusmote_in_imblearn():
        spec.loader.exec_module(module)
    ours = {id(cls) for cls in _GPUSMOTE.values()}
    substituted = sorted(key for key, value in vars(module).items() if id(value) in ours)
    left = [
        key
        for key, value in vars(module).items()
        if inspect.isclass(value)
        and value.__module__.startswith("imblearn.")
        and value.__name__ in _GPUSMOTE
    ]
    if left or not substituted:
        raise AssertionError(f"{relative}: imbalanced-learn's samplers left: {left}")
    namespace = {k: v for k, v in vars(module).items() if not k.startswith("__")}
    namespace["SUBSTITUTED"] = substituted
    return namespace


@contextmanager
def _gpusmote_in_imblearn():
    import imblearn.combine
    import imblearn.over_sampling
    import imblearn.under_sampling

    saved = []
    for package in (imblearn.over_sampling, imblearn.under_sampling, imblearn.combine):
        for name in package.__all__:
            if name in _GPUSMOTE:
                saved.append((package, name, getattr(package, name)))
                setattr(package, name, _GPUSMOTE[name])
    try:
        yield
    finally:
        for package, name, value in saved:
            setattr(package, name, value)
