"""The exceptions gpusmote raises where imbalanced-learn and scikit-learn raise theirs.

With scikit-learn installed they *are* scikit-learn's classes' subclasses, so
``except sklearn.exceptions.NotFittedError`` and
``except sklearn.utils._param_validation.InvalidParameterError`` catch gpusmote's
errors as they catch imbalanced-learn's; without scikit-learn they keep the same
builtin bases.

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

__all__ = ["InvalidParameterError", "InvalidDataError", "NotFittedError"]


class InvalidDataError(ValueError, TypeError):
    """``X`` or ``y`` of a type gpusmote cannot read (a ``ValueError`` and a ``TypeError``)."""


try:  # scikit-learn is optional: its classes are the bases when it is there
    from sklearn.exceptions import NotFittedError as _SkNotFitted
    from sklearn.utils._param_validation import InvalidParameterError as _SkInvalid
except ImportError:  # pragma: no cover - exercised in the no-scikit-learn CI job
    _SkInvalid = _SkNotFitted = None


if _SkInvalid is not None:

    class InvalidParameterError(_SkInvalid):
        """A parameter of the wrong type or value (a ``ValueError`` and a ``TypeError``)."""

    class NotFittedError(_SkNotFitted):
        """The estimator is used before ``fit`` (a ``ValueError`` and an ``AttributeError``)."""

else:  # pragma: no cover

    class InvalidParameterError(ValueError, TypeError):
        """A parameter of the wrong type or value (a ``ValueError`` and a ``TypeError``)."""

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before ``fit`` (a ``ValueError`` and an ``AttributeError``)."""
