"""SMOTENC: SMOTE for tables of continuous and categorical columns."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .._device import compute_dtype
from .._docs import fill_doc
from .._interpolate import interpolate_into
from .._io import Table, TableData, TableRows, host_numpy
from .._random import Stream
from .._typing import Backend, Device, Memory, Neighbours, RandomState, Strategy
from .._validation import check_finite, fmt_error
from ..base import _clone
from ._base import BaseSMOTE

__all__ = ["SMOTENC"]


_NUMPY = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}


class _TableSampler(BaseSMOTE):
    """What SMOTENC and SMOTEN share: a `Table` input (continuous and categorical
    columns, `gpusmote._io.Table`) and an optional encoder."""

    _all_categorical = False  # SMOTEN: every column is categorical

    def _prepare(self, X, y) -> TableData:
        self.device_ = self._resolve_device(X)
        categorical = None if self._all_categorical else self.categorical_features
        table = Table(
            X, categorical, all_categorical=self._all_categorical, check_columns=self._check_columns
        )
        data = TableData(table, y, self.device_)
        if table.cont.shape[1]:
            check_finite(table.cont, "X")
        self._resolve_strategy(data)
        self.n_features_in_ = table.d
        self.n_features_ = table.d  # imbalanced-learn's older name, still read
        if table.columns is not None:
            self.feature_names_in_ = np.asarray([str(c) for c in table.columns], dtype=object)
        self._apply_encoder(table)
        self.categories_ = list(table.categories)
        return data

    def _apply_encoder(self, table: Table) -> None:
        """A user's ``categorical_encoder``, cloned and fitted on the categorical columns,
        decides the categories and their order (codes follow it)."""
        self.categorical_encoder_ = None
        encoder = self.categorical_encoder
        if encoder is None:
            self.categorical_encoder_ = self._default_encoder(table)
            return
        if not (hasattr(encoder, "fit_transform") and hasattr(encoder, "inverse_transform")):
            raise TypeError(
                fmt_error(
                    "categorical_encoder",
                    "None or an encoder with fit_transform, inverse_transform and categories_",
                    encoder,
                )
            )
        if table.kind == "tensor":
            raise TypeError(
                fmt_error("categorical_encoder", "None for tensor input", type(encoder).__name__)
            )
        encoder = _clone(encoder)
        source = (
            table.X_in.iloc[:, table.cat_idx] if table.arr is None else table.arr[:, table.cat_idx]
        )
        encoded = encoder.fit_transform(source)
        categories = [np.asarray(c) for c in encoder.categories_]
        self._check_encoding(encoded, categories)
        codes = np.empty(tuple(table.codes.shape), dtype=np.int64)
        for pos, cats in enumerate(categories):
            lookup = {value: i for i, value in enumerate(cats.tolist())}
            values = table.categories[pos][table.codes[:, pos].numpy()]
            try:
                codes[:, pos] = [lookup[v] for v in values.tolist()]
            except KeyError as exc:
                raise ValueError(
                    fmt_error(
                        "categorical_encoder",
                        "an encoder whose categories_ hold every value of X",
                        f"missing {exc.args[0]!r}",
                    )
                ) from None
        table.codes = torch.from_numpy(codes)
        table.categories = categories
        self.categorical_encoder_ = encoder

    def _check_encoding(self, encoded, categories) -> None:
        pass

    def _default_encoder(self, table: Table):
        """imbalanced-learn's default ``categorical_encoder_`` (SMOTENC: a
        ``OneHotEncoder(handle_unknown="ignore")`` in the continuous columns' dtype;
        SMOTEN: an ``OrdinalEncoder(dtype=np.int32)``), fitted to the categories that
        gpusmote's own encoding found, for code that inspects it. gpusmote encodes on
        the device without it; None where scikit-learn is not installed."""
        try:
            from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
        except ImportError:
            return None
        if self._all_categorical:
            encoder = OrdinalEncoder(dtype=np.int32)
        else:
            dtype = _NUMPY.get(table.cont.dtype, np.float32)  # numpy has no bfloat16
            encoder = OneHotEncoder(handle_unknown="ignore", dtype=dtype)
        cats = [
            host_numpy(c) if isinstance(c, torch.Tensor) else np.asarray(c)  # bfloat16 too
            for c in table.categories
        ]
        if not cats:
            return None
        rows = max(len(c) for c in cats)
        # one row per category of the longest column; shorter columns repeat their first
        sample = np.empty((rows, len(cats)), dtype=object)
        for j, c in enumerate(cats):
            sample[:, j] = c[np.minimum(np.arange(rows), len(c) - 1)]
        try:
            return encoder.fit(sample)
        except (TypeError, ValueError):  # categories scikit-learn cannot order
            return None

    @staticmethod
    def _rows(table: Table, blocks: list, cont_new, new_codes: list) -> TableRows:
        """The new rows of ``blocks``: continuous values and per-block category codes."""
        width = table.codes.shape[1]
        codes = torch.cat(new_codes) if new_codes else torch.empty((0, width), dtype=torch.int64)
        return TableRows(blocks, cont_new, codes)

    def _check_columns(self, categorical: np.ndarray, n_features: int) -> None:
        pass


@fill_doc
class SMOTENC(_TableSampler):
    """SMOTE for Nominal and Continuous features, imbalanced-learn compatible.

    Continuous columns are interpolated as by SMOTE. Neighbours are searched (on the
    compute device) with each categorical column one-hot encoded at the median standard
    deviation of the class's continuous columns over sqrt(2), so that a differing
    category adds that median, squared, to the squared distance. Each categorical value
    of a new row is the most frequent among the base row's ``k_neighbors`` neighbours
    (ties broken at random, with imbalanced-learn's draws). With the same data,
    parameters and ``random_state`` the output equals
    ``imblearn.over_sampling.SMOTENC``'s (a median deviation below about 1e-8, which
    imbalanced-learn treats as tying every category, is the exception).

    Parameters
    ----------
    categorical_features : "auto", indices, boolean mask or column names
        The categorical columns; "auto": a DataFrame's ``category``-dtype columns.
        Their values can be numbers, strings or any sortable type.
    categorical_encoder : None or an encoder such as ``OneHotEncoder``
        Only its categories (and their order) are used: it must keep one output column
        per category. None: each column's sorted unique values.
    {sampling_strategy_over}
    {random_state}
    {k_neighbors}
    {device}
    {backend}
    {max_memory}

    Attributes
    ----------
    categorical_features_, continuous_features_ : ndarray of column indices
    categories_ : list of the categories of each categorical column
    median_std_ : dict ``{class: median standard deviation}``
    categorical_encoder_ : the fitted clone of ``categorical_encoder``, or None

    Examples
    --------
    >>> import numpy as np
    >>> from gpusmote import SMOTENC
    >>> rng = np.random.default_rng(0)
    >>> X = np.empty((60, 2), dtype=object)
    >>> X[:, 0] = rng.normal(size=60)
    >>> X[:, 1] = rng.choice(["a", "b", "c"], 60)
    >>> y = np.r_[np.zeros(50, int), np.ones(10, int)]
    >>> X_res, y_res = SMOTENC([1], random_state=0, device="cpu").fit_resample(X, y)
    >>> np.bincount(y_res).tolist(), sorted(set(X_res[:, 1]))
    ([50, 50], ['a', 'b', 'c'])
    """

    def __init__(
        self,
        categorical_features: str | Sequence,
        *,
        categorical_encoder: object | None = None,
        sampling_strategy: Strategy = "auto",
        random_state: RandomState = None,
        k_neighbors: Neighbours = 5,
        device: Device = "auto",
        backend: Backend = "auto",
        max_memory: Memory = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.device = device
        self.backend = backend
        self.max_memory = max_memory
        self.categorical_features = categorical_features
        self.categorical_encoder = categorical_encoder

    def _check_encoding(self, encoded, categories) -> None:
        n_categories = sum(c.size for c in categories)
        if encoded.shape[1] != n_categories:
            raise ValueError(
                fmt_error(
                    "categorical_encoder",
                    "a one-hot encoding with one column per category (no drop=, no "
                    "infrequent-category merging)",
                    f"{encoded.shape[1]} columns for {n_categories} categories",
                )
            )

    def _check_columns(self, categorical: np.ndarray, n_features: int) -> None:
        if categorical.size == n_features:
            raise ValueError(
                fmt_error(
                    "categorical_features",
                    "a strict subset of the columns: SMOTE-NC needs some continuous "
                    "features (use SMOTEN for categorical data only)",
                    f"all {n_features} columns",
                )
            )
        if categorical.size == 0:
            raise ValueError(
                fmt_error(
                    "categorical_features",
                    "at least one column: SMOTE-NC needs some categorical features (use "
                    "SMOTE for continuous data only)",
                    "no columns",
                )
            )

    def _fit_resample(self, data) -> TableRows:
        table = data.table
        self.categorical_features_ = table.cat_idx
        self.continuous_features_ = table.cont_idx
        dev = self.device_
        cont = table.cont
        cdtype = compute_dtype(cont.dtype)
        codes = table.codes
        stream = Stream(self.random_state, dev)
        self.median_std_ = {}
        self.backend_ = None
        new_cont, new_codes, blocks = [], [], []
        for label, n in self.sampling_strategy_.items():
            if n == 0:
                continue
            ci = data.classes.index(label)
            members = (data.codes == ci).nonzero().squeeze(1)
            Xc = cont[members].to(dev, cdtype)
            Cc = codes[members.to(codes.device)].to(dev)
            std = Xc.to(torch.float64).var(0, unbiased=False).sqrt().cpu().numpy()
            median = float(np.median(std))
            self.median_std_[label] = median
            _, nn = self._graph(_embed(Xc, Cc, median), label)
            k = nn.shape[1]
            flat, steps = stream.for_class().smote(nn.numel(), n)
            rows, partners = flat // k, nn.view(-1)[flat]
            dest = torch.empty((n, Xc.shape[1]), dtype=cdtype, device=dev)
            interpolate_into(Xc, rows, partners, steps, dest, self.max_memory)
            new_cont.append(dest)
            new_codes.append(_vote(Cc, nn[rows], stream.for_class(), dev))
            blocks.append((ci, n))
        cont_new = torch.cat(new_cont) if new_cont else torch.empty((0, cont.shape[1]))
        return self._rows(table, blocks, cont_new, new_codes)


def _embed(Xc: torch.Tensor, Cc: torch.Tensor, median: float) -> torch.Tensor:
    """Continuous columns, then each categorical column one-hot at ``median / sqrt(2)``.

    Only categories present in the class get a column: the others are zero for every
    row and change no distance.
    """
    value = median / math.sqrt(2)
    parts = [Xc]
    for f in range(Cc.shape[1]):
        _, local = torch.unique(Cc[:, f], return_inverse=True)
        onehot = torch.zeros((Xc.shape[0], int(local.max()) + 1), dtype=Xc.dtype, device=Xc.device)
        onehot[torch.arange(Xc.shape[0], device=Xc.device), local] = value
        parts.append(onehot)
    return torch.cat(parts, 1)


def _vote(Cc: torch.Tensor, neighbours: torch.Tensor, gen, dev) -> torch.Tensor:
    """(m, n_cat) codes: per new row and column, the most frequent category among the
    base row's neighbours ``neighbours`` (m, k); ties broken by imbalanced-learn's draw.

    imbalanced-learn permutes ``argwhere(is_max)`` (the tied (row, category) pairs in
    row-major order) with one ``permutation`` per column and keeps each row's first
    pair; the same pairs, in the same order, get the same permutation here.
    """
    m, k = neighbours.shape
    out = torch.empty((m, Cc.shape[1]), dtype=torch.int64, device=dev)
    for f in range(Cc.shape[1]):
        values = Cc[:, f][neighbours]  # (m, k) category codes of the neighbours
        values, _ = values.sort(1)
        counts = (values.unsqueeze(2) == values.unsqueeze(1)).sum(2)  # (m, k)
        top = counts.amax(1, keepdim=True)
        first = torch.ones_like(values, dtype=torch.bool)
        first[:, 1:] = values[:, 1:] != values[:, :-1]
        tied = first & (counts == top)  # each tied category once, ascending
        row_of = tied.nonzero()[:, 0]  # row-major: argwhere's order
        cats = values[tied]
        total = cats.numel()
        priority = gen.priorities(total)
        best = torch.full((m,), -float("inf"), dtype=priority.dtype, device=dev)
        best.scatter_reduce_(0, row_of, priority, reduce="amax")
        winner = priority == best[row_of]
        out[row_of[winner], f] = cats[winner]
    return out
