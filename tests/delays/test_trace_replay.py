"""In-order replay of a measured trace (``Trace(mode="replay")``).

The oracle (``tests/oracle.py``) replays the columns itself, event by event, from
each worker's own job count; the engine's numbers must agree round by round.
The async case is also checked against its closed form: the update times are
the merged per-worker cumulative sums of the columns.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from replay import ORACLE_ROUNDS, ORACLE_WORKERS
from replay import compare as _compare

import absjax
from absjax import cli, delays, policies
from absjax.delays import Trace
from absjax.engine.jobs import root_key, seed_keys

N = ORACLE_WORKERS
# Multiples of 1/8 with distinct partial sums: exact float clocks, no ties.
RNG = np.random.default_rng(7)
COLUMNS = [(RNG.integers(1, 40, size=9 + i) / 8.0).tolist() for i in range(N)]


def _offset(law, params, seed, seed_index=0):
    """The row a seed's replay starts at (the engine's draw, for the oracle)."""
    keys = seed_keys(root_key(seed), seed_index)
    return int(law.offset(keys.speed, params))


def _compare_replay(policy, law, seed=3, rounds=ORACLE_ROUNDS, **sim):
    with jax.enable_x64(True):
        s = absjax.Simulator(
            N,
            policy,
            law,
            "quadratic:dim=3,noise=0.3",
            lr=0.2,
            rounds=rounds,
            log_every=1,
            **sim,
        )
        offset = _offset(law, s.params.delay["compute"], seed)
        return _compare(s, seed=seed, replay=(law.durations, offset, law.end))


def test_async_update_times_are_merged_cumulative_sums():
    law = Trace(COLUMNS, mode="replay", end="stop", start=0)
    rounds = 20
    sim = absjax.Simulator(
        N, policies.asynchronous(), law, "timing", rounds=rounds, log_every=1
    )
    clock = sim.run(seeds=1).metrics["wall_clock"][0]
    merged = np.sort(np.concatenate([np.cumsum(c) for c in COLUMNS]))[:rounds]
    np.testing.assert_allclose(clock, merged, rtol=1e-6)


def test_k_async_replay_matches_oracle():
    law = Trace(COLUMNS, mode="replay")  # a random offset per seed, cycled
    records = _compare_replay(policies.k_async(2, tau=2), law)
    assert any(r.cancelled for r in records)  # cancelled jobs use up rows


@pytest.mark.slow
@pytest.mark.parametrize(
    "policy",
    [
        policies.k_batch_async(3),
        policies.k_sync(3),
        policies.local_sgd(2),
        policies.ssp(1),
    ],
    ids=["k_batch_async", "k_sync", "local_sgd_sum", "ssp"],
)
def test_replay_matches_oracle_slow(policy):
    _compare_replay(policy, Trace(COLUMNS, mode="replay", start=4), seed=5)


@pytest.mark.slow
def test_sync_stop_replay_matches_oracle():
    law = Trace([c[:9] for c in COLUMNS], mode="replay", end="stop", start=0)
    _compare_replay(policies.sync(), law, rounds=9)


def test_seeds_start_at_different_rows_and_start_sweeps_without_recompiling():
    law = Trace(COLUMNS, mode="replay")
    sim = absjax.Simulator(
        N, policies.asynchronous(), law, "timing", rounds=10, log_every=10
    )
    offsets = {_offset(law, sim.params.delay["compute"], 0, i) for i in range(8)}
    assert len(offsets) > 1 and all(0 <= o < 9 for o in offsets)
    clocks = sim.run(seeds=4, chunk=4).metrics["wall_clock"][:, -1]
    assert len(set(clocks.tolist())) > 1  # seeds differ
    result = sim.run(seeds=2, chunk=4, grid={"delay.compute.start": [0, 3]})
    sim.run(seeds=2, chunk=4, grid={"delay.compute.start": [1, 2]}, seed=4)
    assert sim.traces == 2  # one program per grid structure
    start3 = Trace(COLUMNS, mode="replay", start=3)
    alone = absjax.Simulator(
        N, policies.asynchronous(), start3, "timing", rounds=10, log_every=10
    ).run(seeds=2, chunk=4)
    np.testing.assert_array_equal(
        result.metrics["wall_clock"][1], alone.metrics["wall_clock"]
    )


def test_stop_refuses_runs_that_need_more_rows():
    law = Trace(COLUMNS, mode="replay", end="stop", start=2)
    with pytest.raises(ValueError, match=r"rounds=8 needs 8 rows from row 2"):
        absjax.Simulator(N, policies.sync(), law, "timing", rounds=8, log_every=1)
    total = sum(len(c) - 2 for c in COLUMNS)
    with pytest.raises(ValueError, match=rf"need {total + 1} jobs"):
        absjax.Simulator(
            N, policies.asynchronous(), law, "timing", rounds=total + 1, log_every=1
        )


def test_stop_reports_the_seeds_that_ran_out():
    law = Trace(COLUMNS, mode="replay", end="stop")  # random offsets
    total = sum(len(c) for c in COLUMNS)
    sim = absjax.Simulator(
        N, policies.asynchronous(), law, "timing", rounds=total - 2, log_every=1
    )
    with pytest.warns(RuntimeWarning, match=r"ran out \(end=stop\) in \d+ of 4"):
        clock = sim.run(seeds=4, chunk=4).metrics["wall_clock"]
    assert np.isinf(clock[:, -1]).any()
    assert not np.isnan(clock).any()  # inf stays inf


def test_bad_replay_options_are_one_line_errors():
    with pytest.raises(ValueError, match=r"start=9 must be an integer in \[0, 8\]"):
        Trace(COLUMNS, mode="replay", start=9)
    with pytest.raises(ValueError, match="needs one column per worker"):
        Trace([1.0, 2.0], mode="replay")
    with pytest.raises(ValueError, match="apply to mode='replay' only"):
        Trace(COLUMNS, end="stop")
    with pytest.raises(ValueError, match="mode='again' must be one of"):
        Trace(COLUMNS, mode="again")
    law = Trace(COLUMNS, mode="replay")
    sim = absjax.Simulator(
        N, policies.asynchronous(), law, "timing", rounds=2, log_every=1
    )
    with pytest.raises(ValueError, match=r"start=9 must be in \[0, 8\]"):
        sim.run(grid={"delay.compute.start": [9]})


def test_replay_spec_and_cli(tmp_path, capsys):
    path = tmp_path / "t.csv"
    lines = ["worker,duration"] + [
        f"{i},{x}" for x in range(1, 4) for i in range(2)
    ]  # long format: worker id per row
    path.write_text("\n".join(lines) + "\n")
    law = delays.parse_law(f"trace:path={path},mode=replay,end=stop,start=1")
    assert (law.mode, law.end, law.start) == ("replay", "stop", 1)
    assert law.durations == ((1.0, 2.0, 3.0), (1.0, 2.0, 3.0))
    assert delays.parse_law(law.spec()) == law
    assert delays.parse_law(f"trace:path={path},mode=replay").start is None
    with pytest.raises(ValueError, match="start=-1 must be an integer >= 0"):
        delays.parse_law(f"trace:path={path},mode=replay,start=-1")
    spec = f"trace:path={path},mode=replay,end=stop,start=0"
    argv = ["simulate", "--policy", "sync", "--workers", "2", "--delay", spec]
    code = cli.main([*argv, "--rounds", "4", "--seeds", "1"])
    assert code == 2
    assert "end=stop" in capsys.readouterr().err


def test_replay_reads_the_job_number_eagerly():
    law = Trace([[1.0, 2.0], [3.0, 4.0, 5.0]], mode="replay", end="stop", start=0)
    job = jnp.array([0, 1, 2])
    x = law.sample(None, law.params, (3,), worker=jnp.ones(3, int), job=job)
    assert x.tolist() == [3.0, 4.0, 5.0]
    x = law.sample(None, law.params, (3,), worker=jnp.zeros(3, int), job=job)
    assert x.tolist() == [1.0, 2.0, float("inf")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="needs each job's worker"):
            law.sample(None, law.params, (3,))
