"""Replays a simulator's job draws through the oracle and compares round by round.

Both are fed the same job draws (``Simulator.job_draws``); the oracle
(``tests/oracle.py``) is written from the spec alone in float64 Python/NumPy. The
engine runs in float64 (``jax.enable_x64``) so that the comparison can be
tight: wall clocks to 1e-9 relative, model parameters to 1e-6.
"""

import jax
import numpy as np
from oracle import simulate

from absjax import objectives, policies, rules, staleness

ORACLE_WORKERS = 5  # N of the round-by-round comparisons
ORACLE_ROUNDS = 30


def _numpy_weight(weight):
    if isinstance(weight, staleness.Inverse):
        return lambda s: 1.0 / max(s, 1)
    if isinstance(weight, staleness.Polynomial):
        return lambda s: (1.0 + s) ** -weight.a
    if isinstance(weight, staleness.DelayCapped):
        return lambda s: min(1.0, weight.c / (s + weight.offset)) if s else 1.0
    if isinstance(weight, staleness.DelayThreshold):
        return lambda s: 1.0 if s + weight.offset <= weight.c else 0.0
    if isinstance(weight, staleness.Distance):
        return None  # replaced by the oracle's distance_c (see _weight_options)
    return lambda s: 1.0


def _weight_options(weight):
    """The oracle's keyword arguments for a weight that is not omega(s)."""
    if isinstance(weight, staleness.Distance):
        return dict(distance_c=weight.c)  # Dutta et al.'s eq.-13 step
    return {}


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
    k_rules = {
        rules.AdaSync: "adasync",
        rules.LossRatio: "loss_ratio",
        rules.ExpDelayRoot: "exp_root",
    }
    if isinstance(policy.k_rule, policies.LossTable):
        rule = policy.k_rule
        options["k_rule"] = ("loss_table", policy.k, rule.t0, rule.knots, rule.values)
    elif type(policy.k_rule) in k_rules:
        name = k_rules[type(policy.k_rule)]
        options["k_rule"] = (name, policy.k, policy.k_rule.t0)
    if isinstance(policy.tau_rule, rules.StalenessBound):
        options["tau_rule"] = ("kappa", policy.tau_rule.kappa)
    return options


def compare(sim, seed=3, **oracle):
    """Runs ``sim`` (one seed, ``history=True``) and the oracle on the same job
    draws, asserts that they agree round by round and returns the oracle's
    records (for checks that a case exercises its feature). ``oracle``: more
    keyword arguments of the oracle (e.g. ``replay``)."""
    n, rounds = sim.num_workers, sim.rounds
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
        n,
        k,
        policy.tau,
        rounds,
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
        **_weight_options(sim.weight),
        **oracle,
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
            info.arrivals, np.bincount(rec.arrivals, minlength=n), err_msg=where
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
        assert info.jobs_started == rec.mid_restarts + len(rec.restarted), where
        assert info.uploads == rec.uploads and info.downloads == rec.downloads, where
        np.testing.assert_allclose(
            info.idle_time, rec.idle, rtol=1e-9, atol=1e-12, err_msg=where
        )
        np.testing.assert_allclose(
            w_hist[0, r], rec.w, rtol=1e-6, atol=1e-9, err_msg=where
        )
        assert info.k == rec.k, where
        tau = policies.UNBOUNDED if rec.tau is None else rec.tau
        assert info.tau == tau, where
        assert info.jobs_discarded == rec.discarded, where
        np.testing.assert_array_equal(
            np.flatnonzero(info.blocked), sorted(rec.blocked), err_msg=where
        )
        if sim.policy.needs_loss:
            np.testing.assert_allclose(
                info.loss_estimate, rec.loss_estimate, rtol=1e-9, err_msg=where
            )
    return records
