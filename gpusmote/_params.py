"""scikit-learn's parameter protocol without scikit-learn: get_params, set_params, repr,
clone. Everything with constructor parameters uses it (samplers, KMeans, the neighbour
estimator and the faiss index specs)."""

from __future__ import annotations

import copy
import inspect

__all__ = ["ParamsMixin", "clone"]

_NAMES: dict = {}  # __init__ -> its parameter names


def clone(estimator):
    """A fresh unfitted copy: scikit-learn's ``clone`` without needing scikit-learn."""
    if hasattr(estimator, "get_params"):
        return type(estimator)(**estimator.get_params(deep=False))
    return copy.deepcopy(estimator)


class ParamsMixin:
    """``get_params`` / ``set_params`` / ``repr`` from the ``__init__`` signature.

    ``__init__`` only stores its arguments under the same names, so that
    ``sklearn.base.clone`` works without scikit-learn being a dependency.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        names = _NAMES.get(init)
        if names is None:  # inspect.signature costs ~10 us; each call checks parameters
            params = inspect.signature(init).parameters.values()
            names = sorted(p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD)
            _NAMES[init] = names
        return list(names)

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters, as scikit-learn's ``get_params``.

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of estimators given as parameters, as ``name__param``.

        Returns
        -------
        dict
        """
        out = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{key}", val) for key, val in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set constructor parameters, as scikit-learn's ``set_params`` (``name__param``
        reaches an estimator given as a parameter).

        Parameters
        ----------
        **params
            New values by parameter name.

        Returns
        -------
        self
        """
        if not params:
            return self
        valid = self._param_names()
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters are {valid}."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        parts = []
        for name in self._param_names():
            value = getattr(self, name)
            default = defaults.get(name, inspect.Parameter.empty)
            if default is inspect.Parameter.empty or not _same(value, default):
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _same(a, b) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:  # arrays and tensors compare elementwise
        return False
