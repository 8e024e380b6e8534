"""Start-up times and a separate law for a worker's first job.

The oracle (``tests/oracle.py``) delays each worker's first arrival by its
start-up time; the engine must agree with it round by round.
"""

import jax
import numpy as np
import pytest
from replay import ORACLE_ROUNDS, ORACLE_WORKERS
from replay import compare as _compare

import absjax
from absjax import cli, delays, policies
from absjax.delays import Delay
from absjax.engine.jobs import root_key, seed_keys

N = ORACLE_WORKERS


def _startup(sim, seed, seed_index=0):
    """A seed's start-up times (the engine's draw, handed to the oracle)."""
    keys = seed_keys(root_key(seed), seed_index)
    times = sim.delay.startup_times(keys.speed, sim.params.delay, sim.num_workers)
    return np.asarray(times, np.float64).tolist()


def _compare_startup(policy, delay, seed=3):
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            N,
            policy,
            delay,
            "quadratic:dim=3,noise=0.3",
            lr=0.2,
            rounds=ORACLE_ROUNDS,
            log_every=1,
        )
        return _compare(sim, seed=seed, start_times=_startup(sim, seed))


def test_async_first_updates_wait_for_the_startup():
    delay = Delay(delays.constant(1.0), startup=(0.0, 0.5, 3.25))
    sim = absjax.Simulator(
        3, policies.asynchronous(), delay, "timing", rounds=6, log_every=1
    )
    result = sim.run(seeds=1, history=True)
    # worker 0 at 1, 2, 3, 4; worker 1 at 1.5, 2.5; worker 2 first at 4.25
    np.testing.assert_allclose(
        result.metrics["wall_clock"][0], [1, 1.5, 2, 2.5, 3, 3.5]
    )
    staleness = result.history[0].arrival_staleness[0, :, 0, 0]
    assert staleness.tolist() == [0, 1, 1, 1, 1, 1]


def test_k_async_startup_and_first_job_match_oracle():
    delay = Delay(
        delays.exponential(2.0),
        startup=delays.uniform(0.0, 2.0),
        first_job=delays.constant(1.5),
    )
    records = _compare_startup(policies.k_async(2), delay)
    assert max(max(r.staleness) for r in records) >= 3  # late workers are stale


@pytest.mark.slow
@pytest.mark.parametrize(
    "policy",
    [policies.sync(), policies.k_batch_async(3), policies.abs_(k0=1, t0=0.3)],
    ids=["sync", "k_batch_async", "abs"],
)
def test_startup_matches_oracle_slow(policy):
    delay = Delay(
        delays.shifted_exponential(0.2, 3.0), startup=(0.0, 0.4, 1.0, 2.5, 0.1)
    )
    _compare_startup(policy, delay, seed=5)


def test_first_job_law_changes_only_the_first_jobs():
    plain = absjax.Simulator(
        N, policies.sync(), "exp:rate=1", "timing", rounds=4, log_every=1
    )
    first = absjax.Simulator(
        N,
        policies.sync(),
        Delay(delays.exponential(1.0), first_job=delays.constant(9.0)),
        "timing",
        rounds=4,
        log_every=1,
    )
    a = plain.job_draws(0)
    b = first.job_draws(0)
    assert all(float(b(-1, 0, i)[0]) == 9.0 for i in range(N))
    assert all(
        float(a(r, 0, i)[0]) == float(b(r, 0, i)[0]) for r in range(3) for i in range(N)
    )


def test_startup_law_sweeps_without_recompiling_and_seeds_differ():
    delay = Delay(delays.exponential(1.0), startup=delays.uniform(0.0, 1.0))
    sim = absjax.Simulator(N, policies.asynchronous(), delay, "timing", rounds=10)
    assert len({tuple(_startup(sim, 0, i)) for i in range(3)}) == 3
    sim.run(seeds=2, chunk=2, grid={"delay.startup.high": [1.0, 5.0]})
    sim.run(seeds=2, chunk=2, grid={"delay.startup.high": [2.0, 3.0]}, seed=1)
    assert sim.traces == 1


def test_bad_startup_is_a_one_line_error(capsys):
    with pytest.raises(
        ValueError, match=r"startup\[1\]=-1.0 must be a finite time >= 0"
    ):
        Delay(delays.exponential(1.0), startup=(0.0, -1.0))
    with pytest.raises(ValueError, match=r"startup\[0\]=inf must be a finite"):
        Delay(delays.exponential(1.0), startup=(float("inf"),))
    with pytest.raises(ValueError, match="startup has 2 times; it needs one per"):
        absjax.Simulator(
            3, policies.sync(), Delay(delays.exponential(1.0), startup=(0, 1)), "timing"
        )
    with pytest.raises(ValueError, match="first_job=3 must be a delay law"):
        Delay(delays.exponential(1.0), first_job=3)
    replay = delays.Trace([[1.0], [2.0]], mode="replay")
    with pytest.raises(ValueError, match="first_job cannot be combined"):
        Delay(replay, first_job=delays.constant(1.0))
    argv = [
        "simulate",
        "--workers",
        "2",
        "--policy",
        "sync",
        "--rounds",
        "2",
        "--seeds",
        "1",
        "--startup",
        "0;x",
    ]
    assert cli.main(argv) == 2
    assert "startup='0;x' must be a delay law SPEC" in capsys.readouterr().err


def test_startup_spec():
    d = delays.parse_delay(
        "exp:rate=2", startup="uniform:low=0,high=8", first_job="constant:value=3"
    )
    assert d.startup == delays.uniform(0.0, 8.0) and d.first_job == delays.constant(3.0)
    assert delays.parse_delay("exp:rate=2", startup="0;2.5").startup == (0.0, 2.5)
