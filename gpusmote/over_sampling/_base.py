"""What the SMOTE family shares: ``k_neighbors`` and each class's neighbour graph."""

from __future__ import annotations

import numbers

import torch

from .._validation import check_neighbours, fmt_error
from ..base import BaseSampler
from ..neighbors import collect_stats

__all__ = ["BaseSMOTE", "require_more_rows"]


class BaseSMOTE(BaseSampler):
    """The SMOTE family's base: ``k_neighbors`` (an int or a neighbours object) checked,
    and `_graph`, a class's k nearest rows of the class. Children write
    ``_fit_resample``; the ones that keep a fitted state for more rows (`SMOTE`'s
    ``sample`` / ``iter_samples``) opt in with ``_fit``."""

    def _check_params(self) -> None:
        super()._check_params()
        check_neighbours(self.k_neighbors, "k_neighbors")

    def _graph(self, Xc: torch.Tensor, label):
        """``(Xc, nn)``: the class's rows (in their own dtype: the search and
        `interpolate_into` convert tiles and chunks) and (n_c, k) neighbour indices;
        ``nn_k_`` is the neighbours estimator, fitted on the class (imbalanced-learn's)."""
        n_c = Xc.shape[0]
        k = self.k_neighbors
        if isinstance(k, numbers.Integral):
            require_more_rows(n_c, k, label)
        else:
            wanted = getattr(k, "n_neighbors", None)
            if isinstance(wanted, numbers.Integral) and wanted > n_c:
                raise ValueError(
                    fmt_error(
                        "k_neighbors",
                        f"an estimator asking for at most {n_c} neighbours (the rows of class "
                        f"{label!r}; its first neighbour is the row itself)",
                        k,
                    )
                )
        with collect_stats() as stats:
            nn = self._neighbours("k_neighbors", k, Xc, attr="nn_k_")
        self.backend_ = stats[-1].backend if isinstance(k, numbers.Integral) else "estimator"
        return Xc, nn


def require_more_rows(n_c: int, k: int, label) -> None:
    """A class searched for ``k`` neighbours besides each row needs more than k rows."""
    if n_c <= k:
        raise ValueError(
            fmt_error(
                "k_neighbors",
                f"smaller than the number of rows of class {label!r}, which has "
                f"{n_c} (SMOTE needs k_neighbors + 1 rows in each class it over-samples)",
                k,
            )
        )
