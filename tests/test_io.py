"""gpusmote._io on its own: validation once, the output in the input's containers, and
the results a sampler's _fit_resample returns."""

import numpy as np
import pytest
import torch

from gpusmote._io import (
    Kept,
    LabelsOnly,
    NewRows,
    Passed,
    Replaced,
    SamplerData,
    Table,
    TableData,
    TableRows,
    as_feature_tensor,
    as_label_tensor,
    container_kind,
    take_rows,
)

pd = pytest.importorskip("pandas")
CPU = torch.device("cpu")


def test_feature_tensor_keeps_float_precision_and_widens_integers():
    X32 = np.arange(6, dtype=np.float32).reshape(3, 2)
    t = as_feature_tensor(X32, "X", CPU)
    assert t.dtype == torch.float32 and np.shares_memory(t.numpy(), X32)  # no copy
    assert as_feature_tensor(np.arange(6).reshape(3, 2), "X", CPU).dtype == torch.float64
    assert as_feature_tensor([[True, False]], "X", CPU).dtype == torch.float64
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    assert as_feature_tensor(frame, "X", CPU).tolist() == [[1.0, 0.5], [2.0, 1.5]]


def test_feature_tensor_never_writes_the_input():
    X = np.arange(6.0).reshape(3, 2)[::-1]  # negative strides: copied, not changed
    t = as_feature_tensor(X, "X", CPU)
    assert not np.shares_memory(t.numpy(), X) and t.tolist() == X.tolist()
    ro = np.arange(4.0).reshape(2, 2)
    ro.flags.writeable = False
    assert as_feature_tensor(ro, "X", CPU).tolist() == [[0.0, 1.0], [2.0, 3.0]]


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (np.zeros(3), ValueError, "2-D"),
        (np.zeros((0, 2)), ValueError, "at least one row"),
        (np.zeros((2, 0)), ValueError, "feature column"),
        (np.array([["a", "b"]]), TypeError, "numeric"),
        (torch.zeros((2, 2), dtype=torch.complex64), TypeError, "real numeric"),
    ],
)
def test_feature_tensor_errors_name_the_parameter(bad, error, words):
    with pytest.raises(error, match=f"`Xq` must be.*{words}"):
        as_feature_tensor(bad, "Xq", CPU)


def test_label_tensor():
    assert as_label_tensor(np.array([[1], [0]])).tolist() == [1, 0]
    with pytest.raises(TypeError, match="`y` must be integer or bool labels"):
        as_label_tensor(np.array([0.5, 1.0]))


def test_sampler_data_classes_codes_and_counts():
    X = np.arange(10.0).reshape(5, 2)
    data = SamplerData(X, np.array(["b", "a", "b", "c", "b"]), CPU)
    assert data.classes == ["a", "b", "c"] and data.counts == [1, 3, 1]
    assert data.codes.tolist() == [1, 0, 1, 2, 1]
    assert data.class_rows(1).tolist() == [[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]
    with pytest.raises(ValueError, match="one label per row of X"):
        SamplerData(X, np.array([0, 1]), CPU)
    with pytest.raises(ValueError, match="continuous or NaN"):
        SamplerData(X, np.array([0.5, 1, 1, 0, 0]), CPU)


def test_labels_only_counts_rows_without_converting_them():
    X = np.array([["x", None], ["y", 1.5], ["z", np.nan]], dtype=object)
    data = LabelsOnly(X, [0, 1, 1], CPU)
    assert data.n == 3 and data.n_features == 2 and data.counts == [1, 2]
    with pytest.raises(ValueError, match="2-D"):
        LabelsOnly([1, 2, 3], [0, 1, 1], CPU)


@pytest.mark.parametrize("kind", ["ndarray", "dataframe", "list", "tensor"])
def test_new_rows_follow_the_input_rows_in_the_inputs_container(kind):
    X = np.arange(8, dtype=np.float32).reshape(4, 2)
    y = np.array([0, 0, 0, 1])
    Xin = {
        "ndarray": X,
        "dataframe": pd.DataFrame(X, columns=["p", "q"]),
        "list": X.tolist(),
        "tensor": torch.from_numpy(X),
    }[kind]
    yin = pd.Series(y, name="t") if kind == "dataframe" else y
    data = SamplerData(Xin, yin, CPU)
    order = []

    def fill(value):
        return lambda dest: (order.append(value), dest.fill_(value))

    X_out, y_out = NewRows([(1, 2, fill(7.0)), (0, 0, fill(9.0)), (1, 1, fill(8.0))]).output(data)
    assert order == [7.0, 8.0]  # fills run in block order; empty blocks are not called
    assert container_kind(X_out) == container_kind(Xin)
    values = np.asarray(X_out.values if kind == "dataframe" else X_out, dtype=np.float64)
    np.testing.assert_array_equal(values[:4], X)
    np.testing.assert_array_equal(values[4:], [[7, 7], [7, 7], [8, 8]])
    assert list(np.asarray(y_out)) == [0, 0, 0, 1, 1, 1, 1]
    if kind == "dataframe":
        assert list(X_out.columns) == ["p", "q"] and y_out.name == "t"
        assert (y_out.index == X_out.index).all()
    if kind == "tensor":
        assert X_out.dtype == torch.float32


def test_kept_takes_rows_from_the_users_containers():
    frame = pd.DataFrame({"a": [1, 2, 3]}, index=[10, 20, 30])
    labels = pd.Series([0, 1, 1], index=[10, 20, 30])
    data = SamplerData(frame, labels, CPU)
    X_out, y_out = Kept([2, 0]).output(data)
    assert X_out["a"].tolist() == [3, 1] and list(X_out.index) == [0, 1]
    X_out, _ = Kept([2, 0], reset_index=False).output(data)
    assert list(X_out.index) == [30, 10]
    rows = [[1, "a"], [2, "b"]]
    out = take_rows(rows, np.array([1]))
    assert out == [[2, "b"]] and out[0] is not rows[1]  # copies, never aliases


def test_replaced_gives_float_rows_for_integer_input():
    data = SamplerData(np.arange(6).reshape(3, 2), np.array([0, 0, 1]), CPU)
    rows = torch.tensor([[0.5, 1.5], [4.0, 5.0]], dtype=torch.float64)
    X_out, y_out = Replaced(rows, [(0, 1), (1, 1)]).output(data)
    assert X_out.dtype == np.float64 and X_out.tolist() == [[0.5, 1.5], [4.0, 5.0]]
    assert y_out.tolist() == [0, 1]


def test_passed_and_table_rows():
    data = SamplerData(np.zeros((2, 1)), np.array([0, 1]), CPU)
    assert Passed("X", "y").output(data) == ("X", "y")
    X = np.array([[0.5, "a"], [1.5, "b"], [2.5, "a"]], dtype=object)
    table = Table(X, [1])
    tdata = TableData(table, np.array([0, 0, 1]), CPU)
    b = table.categories[0].tolist().index("b")
    cont = torch.tensor([[9.0]], dtype=table.cont.dtype)
    X_out, y_out = TableRows([(1, 1)], cont, torch.tensor([[b]])).output(tdata)
    assert X_out[:3].tolist() == X.tolist() and X_out[3].tolist() == [9.0, "b"]
    assert y_out.tolist() == [0, 0, 1, 1]


def test_release_keeps_what_the_output_needs():
    """After release (fit), buffers for sample() still come out in the input's types."""
    frame = pd.DataFrame({"a": np.arange(3, dtype=np.float32)})
    data = SamplerData(frame, pd.Series([0, 1, 1], name="lab"), CPU)
    data.release()
    assert data.X is None and data.X_in is None
    X_buf, dest = data.x_buffer(2, with_input=False)
    dest.fill_(1.0)
    X_out, y_out = data.finish(X_buf, data.y_buffer([(1, 2)], with_input=False))
    assert X_out["a"].dtype == np.float32 and X_out["a"].tolist() == [1.0, 1.0]
    assert y_out.name == "lab" and y_out.tolist() == [1, 1]


@pytest.mark.parametrize(
    "call",
    [
        "SMOTENC(['colour', 'size'], random_state=0, device='cpu').fit_resample(df, y)",
        "ResampledDataset(X, pd.Series(y))",
        "SMOTE(random_state=0, device='cpu').fit_resample(pd.DataFrame(X), pd.Series(y))",
    ],
)
def test_read_only_pandas_memory_gives_no_torch_warning(call):
    """pandas 3 hands out read-only arrays (copy-on-write); torch warns, once per process,
    when it wraps one. gpusmote only reads them: no warning reaches the user."""
    import subprocess
    import sys

    code = f"""
import numpy as np, pandas as pd
from gpusmote import SMOTE, SMOTENC
from gpusmote.data import ResampledDataset
rng = np.random.default_rng(0)
df = pd.DataFrame({{"x": rng.normal(size=60), "colour": rng.choice(["r", "g"], 60),
                   "size": rng.choice(["s", "l"], 60)}})
y = np.r_[np.zeros(50, int), np.ones(10, int)]
X = rng.normal(size=(60, 3)).astype(np.float32)
{call}
"""
    run = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
