"""The engine against the independent event-driven oracle, round by round.

Both are fed the same job draws (``Simulator.job_draws``); the oracle
(``tests/oracle.py``) is written from the spec alone in float64 Python/NumPy. The
engine runs in float64 here (``jax.enable_x64``) so that the comparison can be
tight: wall clocks to 1e-9 relative, model parameters to 1e-6.
"""

import jax
import pytest
from replay import ORACLE_ROUNDS, ORACLE_WORKERS, compare

import absjax
from absjax import delays, objectives, policies, rules, staleness

N = ORACLE_WORKERS
ROUNDS = ORACLE_ROUNDS

POLICIES = {
    "sync": policies.sync(),
    "k_sync": policies.k_sync(3),
    "k_batch_sync": policies.k_batch_sync(3),
    "k_async": policies.k_async(3),
    "k_async_tau1": policies.k_async(3, tau=1),
    "k_batch_async": policies.k_batch_async(3),
    "k_batch_async_tau1": policies.k_batch_async(3, tau=1),
    "async": policies.asynchronous(),
    "async_tau2": policies.asynchronous(tau=2),
}
ADAPTIVE = {
    "abs": policies.abs_(k0=1, t0=0.3),
    "abs_exact_local2": policies.abs_(
        k0=2, t0=0.3, kappa=0.5, local_steps=2, loss_estimate="exact"
    ),
    "abs_scaled_local3": policies.abs_(
        k0=1, t0=0.5, local_steps=3, local_duration="scaled", local_lr=0.1
    ),
    "adasync_k_sync": policies.adasync(k0=1, t0=0.5),
    "adasync_k_async": policies.adasync(k0=1, t0=0.3, base="k_async"),
    "sa_adasync": policies.sa_adasync(k0=2, t0=0.3),
    "local_sgd": policies.local_sgd(3),
    "local_sgd_k": policies.local_sgd(2, k=3, local_duration="scaled"),
    "ssp0": policies.ssp(0),
    "ssp1": policies.ssp(1),
    "rennala": policies.rennala(3),
    "ringmaster": policies.ringmaster(2),
    "ringmaster_stop": policies.ringmaster(2, variant="stop"),
}

# The readings of docs/concepts.md#concepts-readings, as options: (policy,
# Simulator keywords, whether K must change, whether some distance weight must
# be < 1 over the 30 rounds on shifted-exponential delays (checked, so that the
# case exercises its feature).
DISTANCE = staleness.distance(c=0.003)
READINGS = {
    "abs_loss_ratio": (
        policies.abs_(k0=1, t0=0.3, k_rule=rules.LossRatio(0.3)),
        {},
    ),
    "abs_exp_root": (
        policies.abs_(k0=2, t0=0.3, k_rule=rules.ExpDelayRoot(0.3)),
        {},
    ),
    "adasync_k_sync_exp_root": (
        policies.adasync(k0=2, t0=0.5, k_rule=rules.ExpDelayRoot(0.5)),
        {},
    ),
    "learned_table": (
        policies.LearnedRule(
            values=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
            t0=0.3,
            kappa=1.0,
            lr=0.1,
            num_workers=N,
        ).policy(),
        {},
    ),
    "sa_adasync_distance": (policies.sa_adasync(k0=2, t0=0.3, weight=DISTANCE), {}),
    "sa_adasync_distance_weight_sum": (
        policies.sa_adasync(k0=2, t0=0.3, weight=DISTANCE),
        dict(normalization="weight-sum"),
    ),
    "k_batch_async_distance_weight_sum": (  # the event loop's distances
        policies.k_batch_async(3),
        dict(weight=DISTANCE, normalization="weight-sum"),
    ),
}

DELAYS = {
    "shifted_exp": delays.Delay(delays.shifted_exponential(shift=0.2, rate=2.0)),
    "constant_ties": delays.Delay(delays.constant(1.0)),
    "pareto": delays.Delay(delays.pareto(scale=0.5, alpha=1.5)),
    "cluster": delays.Delay(
        delays.exponential(1.0),
        upload=delays.uniform(0.1, 0.2),
        speeds="sqrt",
        straggler_prob=0.2,
        straggler_factor=4.0,
    ),
    "random_speeds": delays.Delay(delays.gamma(2.0, 0.5), speeds="random"),
}

# By default every policy once and every delay model once; every other pairing
# with --runslow.
DEFAULT_PAIRS = {
    ("k_sync", "random_speeds"),
    ("k_async_tau1", "pareto"),
    ("k_batch_async", "cluster"),
    ("k_batch_sync", "constant_ties"),
} | {
    (p, "shifted_exp")
    for p in POLICIES
    if p not in ("k_sync", "k_async_tau1", "k_batch_async")
}


def _cases(pairs, default):
    return [
        (p, d) if (p, d) in default else pytest.param(p, d, marks=pytest.mark.slow)
        for p, d in pairs
    ]


CASES = _cases(
    [(p, "shifted_exp") for p in POLICIES]
    + [(p, "constant_ties") for p in POLICIES]
    + [
        (p, d)
        for p in ("k_sync", "k_async_tau1", "k_batch_async", "async")
        for d in ("pareto", "cluster", "random_speeds")
    ],
    DEFAULT_PAIRS,
)
# The variants abs_exact_local2, abs_scaled_local3 and local_sgd_k, and the
# other delay models: --runslow.
ADAPTIVE_CASES = _cases(
    [(p, "shifted_exp") for p in ADAPTIVE]
    + [
        (p, d)
        for p in ("abs", "ssp0", "rennala", "ringmaster")
        for d in ("cluster", "random_speeds")
    ],
    {
        (p, "shifted_exp")
        for p in ADAPTIVE
        if p not in ("abs_exact_local2", "abs_scaled_local3", "local_sgd_k")
    },
)
# Each K rule and each distance-weight form once by default (the repeated
# ExpDelayRoot and the counted distance weight: --runslow).
SLOW_READINGS = {"adasync_k_sync_exp_root", "sa_adasync_distance"}


@pytest.mark.parametrize("policy,delay", CASES)
def test_engine_matches_oracle(policy, delay):
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            N,
            POLICIES[policy],
            DELAYS[delay],
            objectives.quadratic(dim=4, noise=0.3),
            lr=0.2,
            rounds=ROUNDS,
            log_every=1,
        )
        compare(sim)


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param("k_async_tau1", marks=pytest.mark.slow),  # --runslow
        "k_batch_sync",
        pytest.param("async", marks=pytest.mark.slow),
    ],
)
def test_engine_matches_oracle_linreg_weighted(policy):
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            N,
            POLICIES[policy],
            DELAYS["shifted_exp"],
            objectives.linreg(dim=6, samples=64, batch=4),
            lr=0.1,
            rounds=ROUNDS,
            log_every=1,
            weight=staleness.inverse(),
            normalization="weight-sum",
        )
        compare(sim)


@pytest.mark.parametrize(
    "policy, weight",
    [
        ("async", staleness.delay_capped(c=2.0)),
        ("k_async", staleness.delay_threshold(c=1.0)),
    ],
)
def test_delay_adaptive_steps_match_oracle(policy, weight):
    """Mishchenko et al.'s and Koloskova et al.'s steps, round by round."""
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            N,
            POLICIES[policy],
            DELAYS["shifted_exp"],
            objectives.quadratic(dim=4, noise=0.3),
            lr=0.2,
            rounds=ROUNDS,
            log_every=1,
            weight=weight,
        )
        records = compare(sim)
    staleness_seen = [s for rec in records for s in rec.staleness]
    assert max(staleness_seen) > weight.c >= min(staleness_seen)  # some were cut


@pytest.mark.parametrize("policy,delay", ADAPTIVE_CASES)
def test_adaptive_policies_match_oracle(policy, delay):
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            N,
            ADAPTIVE[policy],
            DELAYS[delay],
            objectives.quadratic(dim=4, noise=0.3),
            lr=0.2,
            rounds=ROUNDS,
            log_every=1,
        )
        compare(sim)


def test_abs_matches_oracle_on_linreg():
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            N,
            policies.abs_(k0=1, t0=0.3, local_steps=2),
            DELAYS["shifted_exp"],
            objectives.linreg(dim=6, samples=64, batch=4),
            lr=0.1,
            rounds=ROUNDS,
            log_every=1,
            weight=staleness.inverse(),
            normalization="weight-sum",
        )
        compare(sim)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.slow) if c in SLOW_READINGS else c
        for c in READINGS
    ],
)
def test_readings_match_oracle(case):
    policy, kw = READINGS[case]
    lr = 0.2
    with jax.enable_x64(True):
        sim = absjax.Simulator(
            N,
            policy,
            DELAYS["shifted_exp"],
            objectives.quadratic(dim=4, noise=0.3),
            lr=lr,
            rounds=ROUNDS,
            log_every=1,
            **kw,
        )
        records = compare(sim)
    ks = [rec.k for rec in records]
    etas = [eta for rec in records for eta in rec.etas]
    if policy.k_rule is not None:
        assert ks[-1] > ks[0]  # the K rule acted
    if isinstance(sim.weight, staleness.Distance):
        assert min(etas) < 0.5 * lr and max(etas) == lr  # not all weights 1
