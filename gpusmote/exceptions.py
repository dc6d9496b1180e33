"""The exceptions gpusmote raises where imbalanced-learn and scikit-learn raise theirs.

Once scikit-learn is imported they *are* scikit-learn's classes' subclasses, so
``except sklearn.exceptions.NotFittedError`` and
``except sklearn.utils._param_validation.InvalidParameterError`` catch gpusmote's
errors as they catch imbalanced-learn's; without scikit-learn they keep the same
builtin bases. gpusmote never imports scikit-learn for this (it weighs about 70 MiB,
in every Dask worker too): the classes take scikit-learn's as their bases when
gpusmote is imported after it, and otherwise as each error is made, so an ``except``
of code that has imported scikit-learn always matches.

- `InvalidParameterError`: a constructor parameter (or a keyword argument) of the
  wrong type or value. It is both a ``ValueError`` and a ``TypeError``, as
  scikit-learn's is, so ``except ValueError`` and ``except TypeError`` both catch it.
- `InvalidDataError`: ``X`` or ``y`` of a type gpusmote cannot read (text where numbers
  are needed, complex values, ...). A ``ValueError``, as scikit-learn's input checks
  raise, and a ``TypeError``.
- `NotFittedError`: a method that needs ``fit`` first. A ``ValueError`` and an
  ``AttributeError``, as scikit-learn's is.
"""

from __future__ import annotations

import sys

__all__ = ["InvalidParameterError", "InvalidDataError", "NotFittedError"]


class InvalidDataError(ValueError, TypeError):
    """``X`` or ``y`` of a type gpusmote cannot read (a ``ValueError`` and a ``TypeError``)."""


class _Linked:
    """Makes each instance's class take scikit-learn's base first, if it is imported."""

    def __new__(cls, *args, **kwargs):
        link_sklearn()
        return super().__new__(cls, *args, **kwargs)


# placeholders with the builtin bases of scikit-learn's classes: the same object layout,
# so `link_sklearn` may put scikit-learn's classes in their place
class _ParameterBase(ValueError, TypeError):
    pass


class _NotFittedBase(ValueError, AttributeError):
    pass


class InvalidParameterError(_Linked, _ParameterBase):
    """A parameter of the wrong type or value (a ``ValueError`` and a ``TypeError``)."""


class NotFittedError(_Linked, _NotFittedBase):
    """The estimator is used before ``fit`` (a ``ValueError`` and an ``AttributeError``)."""


def link_sklearn() -> bool:
    """Put scikit-learn's classes under gpusmote's, where scikit-learn is imported (it is
    never imported here). Returns whether they are linked."""
    if _ParameterBase not in InvalidParameterError.__bases__:
        return True
    exceptions = sys.modules.get("sklearn.exceptions")
    validation = sys.modules.get("sklearn.utils._param_validation")
    invalid = getattr(validation, "InvalidParameterError", None)
    not_fitted = getattr(exceptions, "NotFittedError", None)
    if invalid is None or not_fitted is None:
        return False
    InvalidParameterError.__bases__ = (_Linked, invalid)
    NotFittedError.__bases__ = (_Linked, not_fitted)
    return True


link_sklearn()
