"""The read order ``read="before"``: an arriver is handed the model as it was
when its update arrived (a server that dispatches before it applies).

The oracle (``tests/oracle.py``, ``read_before=True``) restarts the arrivers on
``w_t``; the engine must agree with it round by round.
"""

import jax
import numpy as np
import pytest
from replay import ORACLE_ROUNDS, ORACLE_WORKERS
from replay import compare as _compare

import absjax
from absjax import cli, policies

N = ORACLE_WORKERS


def _compare_before(policy, seed=3, delay="shifted_exp:shift=0.2,rate=3"):
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            N,
            policy,
            delay,
            "quadratic:dim=3,noise=0.3",
            lr=0.2,
            rounds=ORACLE_ROUNDS,
            log_every=1,
            read="before",
        )
        return _compare(sim, seed=seed, read_before=True)


def test_k_async_before_matches_oracle():
    records = _compare_before(policies.k_async(2, tau=3))
    assert any(r.cancelled for r in records)


@pytest.mark.slow
@pytest.mark.parametrize(
    "policy",
    [
        policies.sync(),
        policies.k_sync(3),
        policies.k_batch_async(3, tau=1),
        policies.ssp(1),
        policies.abs_(k0=1, t0=0.3),
    ],
    ids=["sync", "k_sync", "k_batch_async_tau1", "ssp", "abs"],
)
def test_before_matches_oracle_slow(policy):
    _compare_before(policy, seed=5)


def test_before_adds_one_to_the_staleness_of_async():
    # Constant durations: async arrivals in worker order, N - 1 stale after;
    # under "before" every arrival after the first round of N is one staler.
    runs = {}
    for read in ("after", "before"):
        sim = absjax.Simulator(
            4,
            policies.asynchronous(),
            "constant:value=1",
            "timing",
            rounds=12,
            log_every=12,
            read=read,
        )
        result = sim.run(seeds=1, history=True)
        runs[read] = result.history[0].arrival_staleness[0, 0, :, 0]
    assert runs["after"].tolist() == [0, 1, 2, 3] + [3] * 8
    assert runs["before"].tolist() == [0, 1, 2, 3] + [4] * 8


def test_read_is_validated_and_a_cli_flag(capsys):
    with pytest.raises(
        ValueError, match=r"read='later' must be one of \('after', 'before'\)"
    ):
        absjax.Simulator(2, policies.sync(), "exp:rate=1", "timing", read="later")
    argv = [
        "simulate",
        "--workers",
        "2",
        "--policy",
        "sync",
        "--rounds",
        "2",
        "--log-every",
        "1",
        "--seeds",
        "1",
        "--read",
        "later",
    ]
    assert cli.main(argv) == 2
    assert "read='later' must be one of" in capsys.readouterr().err
    sim = absjax.Simulator(2, policies.sync(), "exp:rate=1", "timing", read="before")
    assert sim.describe()["read"] == "before"
    np.testing.assert_equal(
        absjax.Simulator(2, policies.sync(), "exp:rate=1", "timing")
        .describe()
        .get("read"),
        None,
    )
