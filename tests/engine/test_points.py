"""``Simulator.run(points=...)``: a list of parameter points in one program,
each point's numbers equal to a simulator built with them, bit for bit."""

import numpy as np
import pytest

import absjax
from absjax import policies

N = 6
DELAY = "shifted_exp:shift=0.5,rate=2"
OBJECTIVE = "linreg:dim=4,samples=64,batch=4"


def _build(policy, lr=0.05, rate=2.0, k_max=None):
    return absjax.Simulator(
        N,
        policy,
        f"shifted_exp:shift=0.5,rate={rate}",
        OBJECTIVE,
        lr=lr,
        rounds=20,
        log_every=10,
        k_max=k_max,
    )


# family -> (the batched simulator, its points, a builder of one point's run)
FAMILIES = {
    "k_async": (
        lambda: _build(policies.k_async(2, tau=3), k_max=3),
        [{"k": 1}, {"k": 3, "tau": 1, "lr": 0.02}, {"lr": 0.1}],
        lambda p: _build(
            policies.k_async(p.get("k", 2), tau=p.get("tau", 3)),
            lr=p.get("lr", 0.05),
            k_max=3,
        ),
    ),
    "abs": (
        lambda: _build(policies.abs_(2, 4.0)),
        [
            {"k": 1, "policy.k_rule.t0": 2.0},
            {"policy.tau_rule.kappa": 0.5, "lr": 0.1},
        ],
        lambda p: _build(
            policies.abs_(
                p.get("k", 2),
                p.get("policy.k_rule.t0", 4.0),
                kappa=p.get("policy.tau_rule.kappa", 1.0),
            ),
            lr=p.get("lr", 0.05),
        ),
    ),
    "adasync": (
        lambda: _build(policies.adasync(2, 4.0)),
        [{"k": 3, "policy.k_rule.t0": 8.0}, {"k": 1, "lr": 0.02}],
        lambda p: _build(
            policies.adasync(p.get("k", 2), p.get("policy.k_rule.t0", 4.0)),
            lr=p.get("lr", 0.05),
        ),
    ),
    "sync": (
        lambda: _build(policies.sync()),
        [{"lr": 0.1}, {"delay.compute.rate": 4.0}, {}],
        lambda p: _build(
            policies.sync(),
            lr=p.get("lr", 0.05),
            rate=p.get("delay.compute.rate", 2.0),
        ),
    ),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_points_equal_runs_built_with_them(family):
    batched, points, build = FAMILIES[family]
    result = batched().run(seeds=3, seed=5, points=points, chunk=4)
    assert list(result.grid) == ["point"]
    assert result.loss.shape[:2] == (len(points), 3)
    assert result.config["points"] == points
    for i, point in enumerate(points):
        alone = build(point).run(seeds=3, seed=5, chunk=4)
        for name, values in alone.metrics.items():
            np.testing.assert_array_equal(
                result.metrics[name][i], values, err_msg=f"{family} {i} {name}"
            )
        np.testing.assert_array_equal(result.diverged_round[i], alone.diverged_round)


def test_points_reach_the_dataframe_and_xarray_and_share_one_program():
    sim = _build(policies.k_async(2), k_max=3)
    result = sim.run(seeds=2, points=[{"k": 1}, {"k": 3}], chunk=2)
    df = result.to_dataframe()
    assert sorted(set(df["point"])) == [0, 1] and len(df) == 2 * 2 * 2
    ds = result.to_xarray()
    assert ds.loss.dims == ("point", "seed", "log")
    sim.run(seeds=2, points=[{"k": 3}, {"k": 2}], seed=4, chunk=2)
    sim.run(seeds=2, grid={"k": [1, 2]}, chunk=2)
    assert sim.traces == 1  # as many points over the same names: one program
    sim.run(seeds=2, points=[{"k": 2}, {"k": 1}, {"k": 3}], chunk=2)
    assert sim.traces == 2  # another number of points: another shape


@pytest.mark.parametrize(
    "points, message",
    [
        ([], "non-empty list"),
        ({"k": 1}, "non-empty list"),
        ([{"k": 1}, {"kk": 1}], r"points\[1\]: name 'kk' is not a parameter"),
        ([{}, {}, {"k": 9}], r"points\[2\]: k=9 must be"),
        ([{"k": 1.5}], r"points\[0\]\['k'\]=1.5 must be an integer"),
        ([{"lr": -1.0}], r"points\[0\]: lr"),
        ([{"lr": "fast"}], r"points\[0\]\['lr'\]='fast' must be a number"),
        ([{"data": 1}], r"points\[0\]: the objective's data"),
    ],
)
def test_bad_points_name_the_point_before_compiling(points, message):
    sim = _build(policies.k_async(2), k_max=3)
    with pytest.raises(ValueError, match=message):
        sim.run(points=points)
    with pytest.raises(ValueError, match="not both"):
        sim.run(points=[{"k": 1}], grid={"lr": [0.1]})
    assert sim.traces == 0
