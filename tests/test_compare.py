"""absjax.compare: z-test tables of theory vs simulation."""

import matplotlib
import numpy as np
import pytest

import absjax
from absjax import compare, policies, theory

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def gridded():
    sim = absjax.Simulator(
        6,
        policies.k_sync(1),
        "exp:rate=2",
        "quadratic:dim=1",
        rounds=300,
        log_every=100,
        k_max=6,
    )
    return sim.run(seeds=32, grid={"k": [1, 3, 6]})


def test_agrees_with_right_theory_and_flags_wrong_theory(gridded):
    right = [
        theory.expected_round_time("k_sync", "exp:rate=2", 6, k) for k in (1, 3, 6)
    ]
    frame = compare.compare(right, gridded, "round_time")
    assert list(frame["k"]) == [1, 3, 6]
    assert (frame["verdict"] == "agrees").all()
    assert (frame["seeds"] == 32).all() and (frame["std_error"] > 0).all()
    np.testing.assert_allclose(
        frame["rel_error"], (frame["mean"] - frame["theory"]) / frame["theory"]
    )
    wrong = compare.compare(np.array(right) * 1.1, gridded, "round_time")
    assert (wrong["verdict"] == "disagrees").all() and (wrong["z"] < -4).all()
    assert frame.attrs["level"] == "|z| < 4"


def test_custom_statistic_and_plot(gridded):
    frame = compare.compare(0.0, gridded, lambda r: r.staleness_max.max(-1))
    assert (frame["verdict"] == "agrees").all()  # k_sync: always fresh
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    right = [
        theory.expected_round_time("k_sync", "exp:rate=2", 6, k) for k in (1, 3, 6)
    ]
    compare.plot_comparison(ax, compare.compare(right, gridded), "k", label="N=6")
    assert len(ax.lines) >= 1


@pytest.mark.parametrize(
    "args,match",
    [
        (dict(theory=1.0, quantity="nope"), "quantity"),
        (dict(theory=[1.0, 2.0], quantity="round_time"), "broadcast"),
        (dict(theory=1.0, quantity="round_time", z_max=0), "z_max"),
    ],
)
def test_invalid_arguments(gridded, args, match):
    with pytest.raises(ValueError, match=match):
        compare.compare(result=gridded, **args)
