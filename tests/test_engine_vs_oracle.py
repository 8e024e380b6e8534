"""The engine against the independent event-driven oracle, round by round.

Both are fed the same job draws (``Simulator.job_draws``); the oracle
(``tests/oracle.py``) is written from the spec alone in float64 Python/NumPy. The
engine runs in float64 here (``jax.enable_x64``) so that the comparison can be
tight: wall clocks to 1e-9 relative, model parameters to 1e-6.
"""

import jax
import numpy as np
import pytest
from oracle import simulate

import absjax
from absjax import delays, objectives, policies, rules, staleness

N = 5
ROUNDS = 30

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

CASES = [(p, "shifted_exp") for p in POLICIES] + [
    (p, "constant_ties") for p in POLICIES
]
CASES += [
    (p, d)
    for p in ("k_sync", "k_async_tau1", "k_batch_async", "async")
    for d in ("pareto", "cluster", "random_speeds")
]
ADAPTIVE_CASES = [(p, "shifted_exp") for p in ADAPTIVE] + [
    pytest.param(p, d, marks=pytest.mark.slow)  # more delay models: --runslow
    for p in ("abs", "ssp0", "rennala", "ringmaster")
    for d in ("cluster", "random_speeds")
]


def _numpy_weight(weight):
    if isinstance(weight, staleness.Inverse):
        return lambda s: 1.0 / max(s, 1)
    if isinstance(weight, staleness.Polynomial):
        return lambda s: (1.0 + s) ** -weight.a
    return lambda s: 1.0


def _policy_options(policy):
    """The oracle's keyword arguments for a policy's optional parts."""
    options = dict(
        local_steps=policy.local_steps,
        local_lr=policy.local_lr,
        loss_estimate=policy.loss_estimate,
        beta=policy.loss_decay,
        ssp=policy.ssp,
        discard=policy.discard,
    )
    if isinstance(policy.k_rule, rules.AdaSync):
        options["k_rule"] = ("adasync", policy.k, policy.k_rule.t0)
    if isinstance(policy.tau_rule, rules.StalenessBound):
        options["tau_rule"] = ("kappa", policy.tau_rule.kappa)
    return options


def _compare(sim, seed=3):
    draw = sim.job_draws(seed)
    data = {k: np.asarray(v, np.float64) for k, v in sim.params.data.items()}
    obj = sim.objective

    def duration(r, slot, i):
        return float(draw(r, slot, i)[0])

    def batch(r, slot, i):
        sample = np.asarray(draw(r, slot, i)[1])
        return list(sample) if sim.policy.local_steps > 1 else sample

    def exact_loss(w):
        return float(obj.loss(sim.params.data, w))

    if isinstance(obj, objectives.Quadratic):

        def grad(w, z):
            return data["h"] * w + data["noise"] * z

        def batch_loss(w, z):
            return 0.5 * np.sum(data["h"] * w**2) + data["noise"] * np.sum(z * w)
    else:

        def grad(w, idx):
            x, y = data["x"][idx], data["y"][idx]
            return x.T @ (x @ w - y) / len(idx)

        def batch_loss(w, idx):
            return 0.5 * np.mean((data["x"][idx] @ w - data["y"][idx]) ** 2)

    w0 = np.asarray(obj.init(sim.params.data), np.float64)
    policy = sim.policy
    k = None if policy.base in ("sync", "async") else policy.k
    records = simulate(
        policy.base,
        N,
        k,
        policy.tau,
        ROUNDS,
        duration,
        batch,
        grad,
        w0,
        sim.lr,
        _numpy_weight(sim.weight),
        sim.normalization,
        batch_loss=batch_loss,
        exact_loss=exact_loss,
        **_policy_options(policy),
    )
    result = sim.run(seeds=1, seed=seed, history=True, chunk=1)
    infos, w_hist = result.history
    for r, rec in enumerate(records):
        info = jax.tree.map(lambda a, r=r: a[0, r, 0], infos)
        where = f"round {r}"
        np.testing.assert_allclose(
            result.wall_clock[0, r], rec.wall_clock, rtol=1e-9, err_msg=where
        )
        np.testing.assert_array_equal(
            info.arrivals, np.bincount(rec.arrivals, minlength=N), err_msg=where
        )
        got = info.arrival_staleness[info.arrival_staleness >= 0].tolist()
        assert got == rec.staleness, where
        assert info.staleness_sum == sum(rec.staleness), where
        assert info.staleness_max == max(rec.staleness), where
        np.testing.assert_array_equal(
            np.flatnonzero(info.restarted), sorted(rec.restarted), err_msg=where
        )
        np.testing.assert_array_equal(
            np.flatnonzero(info.cancelled), sorted(rec.cancelled), err_msg=where
        )
        assert info.started == rec.mid_restarts + len(rec.restarted), where
        assert info.uploads == rec.uploads and info.downloads == rec.downloads, where
        np.testing.assert_allclose(
            info.idle, rec.idle, rtol=1e-9, atol=1e-12, err_msg=where
        )
        np.testing.assert_allclose(
            w_hist[0, r], rec.w, rtol=1e-6, atol=1e-9, err_msg=where
        )
        assert info.k == rec.k, where
        tau = policies.UNBOUNDED if rec.tau is None else rec.tau
        assert info.tau == tau, where
        assert info.discarded == rec.discarded, where
        np.testing.assert_array_equal(
            np.flatnonzero(info.blocked), sorted(rec.blocked), err_msg=where
        )
        if sim.policy.needs_loss:
            np.testing.assert_allclose(
                info.loss_estimate, rec.loss_estimate, rtol=1e-9, err_msg=where
            )


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
        _compare(sim)


@pytest.mark.parametrize("policy", ["k_async_tau1", "k_batch_sync", "async"])
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
        _compare(sim)


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
        _compare(sim)


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
        _compare(sim)
