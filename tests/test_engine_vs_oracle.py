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
from absjax import delays, objectives, policies, staleness

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


def _numpy_weight(weight):
    if isinstance(weight, staleness.Inverse):
        return lambda s: 1.0 / max(s, 1)
    if isinstance(weight, staleness.Polynomial):
        return lambda s: (1.0 + s) ** -weight.a
    return lambda s: 1.0


def _compare(sim, seed=3):
    draw = sim.job_draws(seed)
    data = {k: np.asarray(v, np.float64) for k, v in sim.params.data.items()}
    obj = sim.objective

    def duration(r, slot, i):
        return float(draw(r, slot, i)[0])

    def batch(r, slot, i):
        return np.asarray(draw(r, slot, i)[1])

    if isinstance(obj, objectives.Quadratic):

        def grad(w, z):
            return data["h"] * w + data["noise"] * z
    else:

        def grad(w, idx):
            x, y = data["x"][idx], data["y"][idx]
            return x.T @ (x @ w - y) / len(idx)

    w0 = np.asarray(obj.init(sim.params.data), np.float64)
    k = None if sim.policy.name in ("sync", "async") else sim.policy.k
    records = simulate(
        sim.policy.name,
        N,
        k,
        sim.policy.tau,
        ROUNDS,
        duration,
        batch,
        grad,
        w0,
        sim.lr,
        _numpy_weight(sim.weight),
        sim.normalization,
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
