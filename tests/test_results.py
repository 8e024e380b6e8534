"""Result.concat (blocks of seeds joined) and Result.config (the run's
description, from Simulator.describe). Hand-made Results: nothing compiles."""

import json

import numpy as np
import optax
import pytest

import absjax
from absjax import policies, rules


def _block(first, count, *, seed=0, config=None, logs=2, grid=None):
    """A hand-made Result of seeds ``first .. first + count - 1``."""
    grid = {"lr": np.array([0.1, 0.2])} if grid is None else grid
    shape = (*(len(v) for v in grid.values()), count, logs)
    seeds = np.arange(first, first + count)
    loss = seeds[:, None] + np.arange(logs) / 10 + np.zeros(shape)
    return absjax.Result(
        metrics={
            "round": np.broadcast_to(np.arange(1, logs + 1), shape).copy(),
            "loss": loss,
            "tau": np.full(shape, np.inf),
        },
        diverged_round=np.full(shape[:-1], -1, np.int32),
        seeds=seeds,
        grid=grid,
        num_workers=4,
        policy="k_async",
        seed=seed,
        config={"seed": seed, "seed_offset": first, "chunk": 2} | (config or {}),
    )


def test_concat_joins_blocks_along_the_seeds_in_order():
    whole = _block(0, 5)
    joined = absjax.Result.concat([_block(0, 2), _block(2, 1), _block(3, 2)])
    assert joined.seeds.tolist() == [0, 1, 2, 3, 4]
    for name, values in whole.metrics.items():
        assert joined.metrics[name].dtype == values.dtype
        np.testing.assert_array_equal(joined.metrics[name], values)
    np.testing.assert_array_equal(joined.diverged_round, whole.diverged_round)
    assert joined.config == whole.config and joined.history is None
    assert list(joined.grid) == ["lr"]
    assert absjax.Result.concat([whole]).seeds.tolist() == whole.seeds.tolist()


@pytest.mark.parametrize(
    "other, match",
    [
        (_block(1, 2), "results repeat seed indices"),
        (_block(2, 2, seed=1), r"seed, config\['seed'\] differ"),
        (_block(2, 2, config={"chunk": 4}), r"config\['chunk'\] differ"),
        (_block(2, 2, logs=3), r"metrics\['round'\] shape"),
        (_block(2, 2, grid={"lr": np.array([0.1, 0.3])}), "grid differ"),
        (_block(2, 2, grid={}), "grid"),
    ],
)
def test_concat_refuses_blocks_of_other_runs(other, match):
    with pytest.raises(ValueError, match=match):
        absjax.Result.concat([_block(0, 2), other])


@pytest.mark.parametrize("results", [[], [1, 2], None])
def test_concat_needs_results(results):
    with pytest.raises(ValueError, match="non-empty sequence of Results"):
        absjax.Result.concat(results or [])


def test_results_built_by_hand_have_an_empty_config():
    result = _block(0, 1)
    result = absjax.Result(**{**vars(result), "config": {}})
    fields = dict(vars(result))
    del fields["config"]
    assert absjax.Result(**fields).config == {}


def test_describe_is_json_and_names_the_run():
    rule = rules.function(lambda view, p: view.k, numbers={"a": 1.0})  # user code
    sim = absjax.Simulator(
        4,
        policies.Policy("custom", k=2, base="k_async", k_rule=rule),
        absjax.delays.Delay(
            absjax.delays.exponential(2.0), upload=absjax.delays.constant(0.5)
        ),
        "quadratic:dim=3",
        lr=0.05,
        rounds=20,
        log_every=5,
        optimizer=optax.scale_by_adam(),
    )
    config = sim.describe(seed=7, seed_offset=3, chunk=8, params=sim.params)
    text = json.dumps(config, allow_nan=False)  # strict JSON: no inf, no nan
    assert " at 0x" not in text  # no memory addresses: processes describe alike
    assert config["num_workers"] == 4 and config["lr"] == 0.05
    assert config["rounds"] == 20 and config["log_every"] == 5
    assert config["seed"] == 7 and config["seed_offset"] == 3 and config["chunk"] == 8
    assert config["policy"]["name"] == "custom" and config["policy"]["k"] == 2
    assert config["policy"]["base"] == "k_async" and config["policy"]["tau"] is None
    assert "lambda" in config["policy"]["repr"]
    assert config["delay"]["compute"] == "exp:rate=2.0"
    assert config["delay"]["upload"].startswith("constant:")
    assert config["objective"]["type"] == "Quadratic"
    assert config["objective"]["dim"] == 3
    assert config["weight"] == {"type": "Constant"}
    assert config["normalization"] == "count" and config["k_max"] is None
    assert "scale_by_adam" in config["optimizer"]
    assert config["params"]["k"] == 2 and "data" not in config["params"]
    assert config["params"]["delay"]["compute"]["rate"] == 2.0
    assert config["absjax_version"] == absjax.__version__
    assert config["jax_version"]
    assert sim.describe(seed=7, seed_offset=3, chunk=8, params=sim.params) == config
