"""gpusmote._random: every draw is imbalanced-learn's numpy call, call for call, or the
torch equivalent drawn from the caller's generator alone."""

import numpy as np
import pytest
import torch

from gpusmote._random import Draws, Stream, check_random_state


def test_numpy_draws_are_the_numpy_calls_in_order():
    draws = Draws(np.random.RandomState(3))
    ref = np.random.RandomState(3)
    np.testing.assert_array_equal(draws.integers(7, 50).numpy(), ref.randint(0, 7, size=50))
    np.testing.assert_array_equal(draws.choice(9, 20).numpy(), ref.choice(9, size=20))
    np.testing.assert_array_equal(
        draws.choice(9, 5, replace=False).numpy(), ref.choice(9, size=5, replace=False)
    )
    assert draws.integer(11) == ref.randint(11)
    np.testing.assert_array_equal(draws.uniform(30).numpy(), ref.uniform(size=30))
    np.testing.assert_array_equal(
        draws.uniform(30, high=0.5).numpy(), ref.uniform(low=0.0, high=0.5, size=30)
    )
    np.testing.assert_array_equal(draws.normal((4, 3)).numpy(), ref.randn(4, 3))
    np.testing.assert_array_equal(draws.permutation(12).numpy(), ref.permutation(12))
    assert draws.beta_10_10() == ref.beta(10, 10)
    flat, steps = draws.smote(40, 25)
    np.testing.assert_array_equal(flat.numpy(), ref.randint(0, 40, size=25))
    np.testing.assert_array_equal(steps.numpy(), ref.uniform(size=25))
    assert flat.dtype == torch.int64 and steps.dtype == torch.float64


def test_numpy_priorities_rank_by_permutation():
    """The item at permuted position p gets priority -p: the permutation's first item wins."""
    pr = Draws(np.random.RandomState(5)).priorities(10)
    perm = np.random.RandomState(5).permutation(10)
    np.testing.assert_array_equal(np.argsort(-pr.numpy(), kind="stable"), perm)


def test_generator_draws_ignore_the_global_seed_and_stay_in_range():
    out = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        d = Draws(torch.Generator().manual_seed(7))
        out.append(
            torch.cat(
                [
                    d.integers(5, 100).double(),
                    d.choice(6, 4, replace=False).double(),
                    d.uniform(50, high=0.5),
                    d.normal((3, 2)).reshape(-1),
                    d.permutation(8).double(),
                    d.priorities(6).double(),
                    torch.tensor([d.beta_10_10(), float(d.integer(3))]),
                ]
            )
        )
    assert torch.equal(out[0], out[1])
    d = Draws(torch.Generator().manual_seed(1))
    ints = d.integers(5, 1000)
    assert int(ints.min()) >= 0 and int(ints.max()) <= 4
    picks = d.choice(6, 6, replace=False)
    assert sorted(picks.tolist()) == list(range(6))
    u = d.uniform(1000, high=0.5)
    assert float(u.min()) >= 0 and float(u.max()) < 0.5


def test_beta_10_10_from_a_generator_has_its_moments():
    """Beta(10, 10) as sums of exponential draws: mean 1/2, variance 1/84, over 4,000
    draws (standard errors 0.0017 and about 0.0003)."""
    d = Draws(torch.Generator().manual_seed(0))
    draws = np.array([d.beta_10_10() for _ in range(4000)])
    assert ((draws > 0) & (draws < 1)).all()
    assert abs(draws.mean() - 0.5) < 0.006
    assert abs(draws.var() - 1 / 84) < 0.0012


def test_draws_land_on_the_requested_device():
    d = Draws(np.random.RandomState(0), device="meta")
    assert d.uniform(3).device.type == "meta"


def test_stream_int_seed_restarts_per_class_and_continues_once():
    s = Stream(4)
    a, b = s.for_class().uniform(5), s.for_class().uniform(5)
    assert torch.equal(a, b)  # a fresh RandomState(4) for each class, as imbalanced-learn
    c, d = s.continuing().uniform(5), s.continuing().uniform(5)
    assert torch.equal(c, a) and not torch.equal(c, d)  # one stream across calls


def test_stream_random_state_instance_is_shared_by_every_class():
    rs = np.random.RandomState(2)
    s = Stream(rs)
    first, second = s.for_class().uniform(3), s.for_class().uniform(3)
    ref = np.random.RandomState(2)
    np.testing.assert_array_equal(first.numpy(), ref.uniform(size=3))
    np.testing.assert_array_equal(second.numpy(), ref.uniform(size=3))


def test_stream_none_never_touches_numpys_global_state():
    np.random.seed(0)
    expected = np.random.RandomState(0).uniform(size=3)
    Stream(None).for_class().uniform(100)
    np.testing.assert_array_equal(np.random.uniform(size=3), expected)


def test_stream_generator_is_one_stream():
    gen = torch.Generator().manual_seed(0)
    s = Stream(gen)
    assert s.for_class().gen is gen and s.continuing().gen is gen


@pytest.mark.parametrize(
    "value, error", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_check_random_state_rejects_with_the_parameter_named(value, error):
    with pytest.raises(error, match="random_state"):
        check_random_state(value)
