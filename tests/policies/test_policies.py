"""Policies and rules: invariants over many seeds, user rules, ensembles, input.

Round-by-round agreement with the oracle is in ``test_engine_vs_oracle.py``;
here each policy's defining property is checked on every round of many seeds
(``history=True``), so a violation anywhere fails the test.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import absjax
from absjax import delays, objectives, policies, rules, staleness

N = 6
SEEDS = 32
ROUNDS = 60
DELAY = delays.Delay(delays.exponential(1.0), speeds="random", speed_spread=0.5)
OBJECTIVE = objectives.quadratic(dim=4, noise=0.5)


def _history(policy, objective=OBJECTIVE, delay=DELAY, lr=0.1, **kw):
    sim = absjax.Simulator(
        N, policy, delay, objective, lr=lr, rounds=ROUNDS, log_every=1, **kw
    )
    result = sim.run(seeds=SEEDS, history=True, chunk=SEEDS)
    infos, _ = result.history
    return result, infos


def _staleness_and_bound(infos):
    """Per arrival: its staleness and the bound in force in its round."""
    s = infos.arrival_staleness  # (seeds, logs, 1, capacity)
    tau = np.broadcast_to(infos.tau[..., None], s.shape)
    mask = s >= 0
    return s[mask], tau[mask]


@pytest.mark.parametrize(
    "policy",
    [
        policies.abs_(k0=1, t0=0.5),
        pytest.param(
            policies.abs_(k0=2, t0=0.5, kappa=0.5, local_steps=2),
            marks=pytest.mark.slow,
        ),
        policies.k_async(2, tau=1),
        pytest.param(policies.k_batch_async(3, tau=2), marks=pytest.mark.slow),
        policies.ringmaster(2, variant="stop"),
    ],
    ids=["abs", "abs_kappa_local", "k_async_tau", "k_batch_async_tau", "ring_stop"],
)
def test_no_aggregated_update_is_staler_than_its_bound(policy):
    _, infos = _history(policy)
    s, tau = _staleness_and_bound(infos)
    assert s.size > SEEDS * ROUNDS * 0.9
    assert np.all(s <= tau)
    assert np.any(s > 0)  # the bound is exercised, not vacuous


def test_abs_k_never_decreases_and_tau_follows_the_rule():
    _, infos = _history(policies.abs_(k0=1, t0=0.5, kappa=1.0))
    k, tau = infos.k[..., 0], infos.tau[..., 0]  # (seeds, rounds)
    assert np.all(np.diff(k, axis=1) >= 0)
    assert np.all(tau == np.ceil((N - k) / k))
    assert np.all(k[:, -1] > 1)  # K grew in every seed


def test_rennala_aggregates_only_fresh_updates():
    result, infos = _history(policies.rennala(3))
    s, _ = _staleness_and_bound(infos)
    assert np.all(s == 0)
    assert result.jobs_discarded.sum() > 0  # stale arrivals did occur


@pytest.mark.parametrize("r", [1, pytest.param(3, marks=pytest.mark.slow)])
def test_ringmaster_never_applies_staleness_r(r):
    result, infos = _history(policies.ringmaster(r))
    s, _ = _staleness_and_bound(infos)
    assert np.all(s < r)
    assert result.jobs_discarded.sum() > 0


@pytest.mark.parametrize("s", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_ssp_never_lets_a_worker_run_more_than_s_ahead(s):
    _, infos = _history(policies.ssp(s))
    pushes = np.cumsum(infos.arrivals[:, :, 0], axis=1)  # (seeds, rounds, N)
    lead = pushes - pushes.min(axis=2, keepdims=True)
    blocked = infos.blocked[:, :, 0]
    # A worker that computes (not blocked) after a round is at most s ahead;
    # one that just pushed may be s + 1 ahead, and then it is blocked.
    assert np.all(lead[~blocked] <= s)
    assert np.all(lead <= s + 1)
    assert blocked.any()


def test_adasync_k_grows_when_the_loss_falls_and_only_then():
    # Exact loss (oracle mode) so that "the loss falls" is unambiguous.
    falling, _ = _history(
        policies.adasync(1, t0=0.5, base="k_async", loss_estimate="exact"), lr=0.3
    )
    flat = absjax.Simulator(
        N,
        policies.adasync(1, t0=0.5, base="k_async", loss_estimate="exact"),
        DELAY,
        objectives.quadratic(dim=4, noise=0.0, hmin=1e-9, hmax=1e-9),
        lr=0.1,
        rounds=ROUNDS,
        log_every=1,
    ).run(seeds=SEEDS, chunk=SEEDS)
    assert np.all(np.diff(falling.k, axis=-1) >= 0)
    assert np.all(falling.k[:, -1] > 1)
    assert np.all(flat.loss == flat.loss[0, 0])  # float32: lr * h * w is lost
    assert np.all(flat.k == 1)  # a flat loss never raises K


def test_minibatch_estimate_tracks_the_exact_loss():
    # Fresh updates only (K = N, never adapted), started at the optimum so
    # that F(w_t) is stationary: the running average of the aggregated
    # minibatch losses is then an unbiased estimate of it.
    fresh = absjax.Simulator(
        N,
        policies.adasync(N, t0=1e9),
        DELAY,
        objectives.quadratic(dim=4, noise=0.5, init_scale=0.0),
        rounds=200,  # F(w_t) settles in ~1 / (2 lr h_min) = 50 rounds
        log_every=1,
    ).run(seeds=SEEDS, chunk=SEEDS)
    est, exact = fresh.loss_estimate[:, 100:].mean(), fresh.loss[:, 100:].mean()
    assert abs(est - exact) < 0.2 * exact
    late = slice(ROUNDS // 2, None)
    # Under ABS stale updates carry the losses of older models: biased up,
    # but of the same size and falling with the loss.
    stale, _ = _history(policies.abs_(k0=1, t0=0.5))
    ratio = stale.loss_estimate[:, late].mean() / stale.loss[:, late].mean()
    assert 1.0 < ratio < 4.0
    early = stale.loss_estimate[:, 2].mean()
    assert stale.loss_estimate[:, late].mean() < 0.5 * early


def _view(n, k0, loss0, loss, k=None, clock=1.5, last_clock=0.0):
    """A ServerView after a round that crossed ``t0 = 1`` (by default)."""
    return rules.ServerView.initial(n, k0, 0)._replace(
        k=jnp.int32(k0 if k is None else k),
        clock=jnp.asarray(clock),
        last_clock=jnp.asarray(last_clock),
        loss0=jnp.asarray(loss0),
        loss=jnp.asarray(loss),
    )


def _k(rule, view):
    return int(rule(view, rule.params))


LOSS_RULES = [rules.AdaSync(1.0), rules.LossRatio(1.0), rules.ExpDelayRoot(1.0)]


@pytest.mark.parametrize("rule", LOSS_RULES, ids=lambda r: r.name)
def test_loss_rules_share_boundaries_floor_and_nan(rule):
    assert rule.needs_loss and float(rule.params["t0"]) == 1.0
    # No multiple of t0 passed (1.2 -> 1.9): K unchanged even if the loss fell.
    assert _k(rule, _view(8, 2, 100.0, 1.0, clock=1.9, last_clock=1.2)) == 2
    # Loss estimate <= 0: N.
    assert _k(rule, _view(8, 2, 4.0, 0.0)) == 8
    assert _k(rule, _view(8, 2, 4.0, -1.0)) == 8
    # Never decreasing: a loss that rose gives a target below K = 5.
    assert _k(rule, _view(8, 2, 1.0, 4.0, k=5)) == 5
    # A nan target (no first loss yet) leaves K unchanged.
    assert _k(rule, _view(8, 2, float("nan"), 1.0, k=3)) == 3
    # r = 1 gives K0; K0 = N gives N (from K = 1, so that K shows the target).
    assert _k(rule, _view(8, 3, 2.0, 2.0, k=1)) == 3
    assert _k(rule, _view(8, 8, 2.0, 1.0, k=1)) == 8


def test_loss_ratio_hand_values():
    rule = rules.loss_ratio(t0=1.0)
    # min(N, floor(K0 r)): floor(2 * 60 / 16) = floor(7.5) = 7; AdaSync: 4.
    assert _k(rule, _view(8, 2, 60.0, 16.0)) == 7
    assert _k(rules.adasync(1.0), _view(8, 2, 60.0, 16.0)) == 4
    # floor(2 * 2.5) = 5; floor(1 * 1.99) = 1; min(8, floor(2 * 100)) = 8.
    assert _k(rule, _view(8, 2, 5.0, 2.0)) == 5
    assert _k(rule, _view(8, 1, 1.99, 1.0)) == 1
    assert _k(rule, _view(8, 2, 100.0, 1.0)) == 8
    # F_0 <= 0 with F_t > 0: r = 0, target 0 < K.
    assert _k(rule, _view(8, 2, -1.0, 1.0)) == 2


def test_exp_delay_root_hand_values():
    rule = rules.exp_delay_root(t0=1.0)
    # N = 5, K0 = 2: smallest K with 3 K^2 >= 4 (5 - K) r, i.e. the root of
    # K^2 + c K - 5c = 0, c = 4r/3, rounded up:
    # r = 3: root -2 + sqrt(24) = 2.90 -> 3; r = 6: -4 + sqrt(56) = 3.48 -> 4;
    # r = 12: -8 + sqrt(144) = 4 exactly -> 4; r = 30: 4.49 -> 5.
    for r, expected in [(3.0, 3), (6.0, 4), (12.0, 4), (30.0, 5)]:
        assert _k(rule, _view(5, 2, r, 1.0)) == expected, r
    # r = 1 gives K0 exactly for every K0 <= N (the rule has no division).
    for n in (2, 5, 16, 100):
        for k0 in range(1, n + 1):
            assert _k(rule, _view(n, k0, 3.0, 3.0, k=1)) == k0, (n, k0)
    # r = inf: N; K0 = N: N for any r > 0 (the root of K^2 / (N - K) = inf).
    assert _k(rule, _view(5, 2, float("inf"), 1.0, k=1)) == 5
    assert _k(rule, _view(5, 5, 1.0, 2.0, k=1)) == 5
    # Against the quadratic formula in float64 on a grid of ratios (no root
    # within 1e-6 of an integer there).
    n, k0 = 10, 3
    c0 = k0**2 / (n - k0)
    for r in np.linspace(0.05, 40.0, 97):
        c = c0 * r
        root = (-c + np.sqrt(c * c + 4 * c * n)) / 2
        assert _k(rule, _view(n, k0, r, 1.0)) == max(k0, int(np.ceil(root))), r


def test_adasync_hand_values():
    rule = rules.adasync(t0=1.0)
    # min(N, ceil(K0 sqrt(r))): ceil(2 * sqrt(2.25)) = 3; ceil(1 * sqrt(4)) = 2.
    assert _k(rule, _view(8, 2, 2.25, 1.0)) == 3
    assert _k(rule, _view(8, 1, 4.0, 1.0)) == 2
    assert _k(rule, _view(8, 2, 100.0, 1.0)) == 8


def test_policies_take_the_readings():
    p = policies.adasync(2, 1.0, k_rule=rules.ExpDelayRoot(1.0))
    assert p.base == "k_sync" and isinstance(p.k_rule, rules.ExpDelayRoot)
    assert isinstance(policies.adasync(2, 1.0).k_rule, rules.AdaSync)
    p = policies.abs_(1, 1.0, k_rule=rules.LossRatio(1.0))
    assert isinstance(p.k_rule, rules.LossRatio)
    p = policies.sa_adasync(2, 1.0, weight=staleness.distance(c=0.01))
    assert p.weight == staleness.Distance(0.01)
    assert policies.sa_adasync(2, 1.0).weight == staleness.Inverse()


def k_without_slow_workers(view, params):
    """K = N minus the workers whose last job took > factor x the median."""
    median = jnp.nanmedian(view.job_time)
    slow = jnp.sum(view.job_time > params["factor"] * median)
    return view.num_workers - slow


def test_user_defined_k_rule_from_the_docs():
    rule = rules.Function(k_without_slow_workers, {"factor": 2.0})
    policy = policies.custom("k_async", k=N, k_rule=rule)
    # Worker 5 is ten times slower: once seen, it is not waited for.
    slow_cluster = delays.Delay(
        delays.shifted_exponential(0.5, 4.0), speeds=(1, 1, 1, 1, 1, 10)
    )
    _, infos = _history(policy, delay=slow_cluster)
    k = infos.k[:, 1:, 0]
    assert np.all((k >= N - 2) & (k <= N))  # a fast worker is rarely slow too
    assert np.mean(k == N - 1) > 0.8
    _, even = _history(policy, delay=delays.constant(1.0))
    assert np.all(even.k == N)


def test_user_defined_tau_schedule():
    policy = policies.custom(
        "k_async", k=2, tau_rule=rules.Schedule((20.0,), (5, 0), by="round")
    )
    _, infos = _history(policy)
    tau = infos.tau[..., 0]
    assert np.all(tau[:, :20] == 5) and np.all(tau[:, 20:] == 0)
    s = infos.arrival_staleness[:, 20:]
    assert np.all(s[s >= 0] == 0)


def test_ensemble_is_one_program_with_each_members_numbers():
    sims = [
        absjax.Simulator(N, p, DELAY, OBJECTIVE, lr=0.1, rounds=20, log_every=5)
        for p in (policies.sync(), policies.rennala(2))
    ]
    ensemble = absjax.Ensemble(sims)
    together = ensemble.run(seeds=5, seed=7, chunk=4, grids=[{"lr": [0.05, 0.1]}, None])
    assert ensemble.traces == 1
    assert all(sim.traces == 0 for sim in sims)  # no separate programs
    alone = [sims[0].run(seeds=5, seed=7, chunk=4, grid={"lr": [0.05, 0.1]})]
    alone.append(sims[1].run(seeds=5, seed=7, chunk=4))
    for got, want in zip(together, alone, strict=True):
        assert got.policy == want.policy
        for name in ("loss", "wall_clock", "k", "jobs_wasted"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def test_policy_numbers_sweep_without_recompiling():
    sim = absjax.Simulator(
        N, policies.abs_(1, 0.5), DELAY, OBJECTIVE, rounds=20, log_every=5
    )
    grid = {"policy.k_rule.t0": [0.2, 5.0], "policy.tau_rule.kappa": [0.5, 2.0]}
    result = sim.run(seeds=4, grid=grid, chunk=4)
    other = {"policy.k_rule.t0": [1.0, 2.0], "policy.tau_rule.kappa": [1.0, 3.0]}
    sim.run(seeds=4, grid=other, chunk=4)
    assert sim.traces == 1  # one per grid structure, none per value
    k_end = result.k[..., -1].mean(axis=-1)  # (t0, kappa)
    assert np.all(k_end[0] >= k_end[1])  # K is raised more often
    assert np.all(result.tau[:, 0] <= result.tau[:, 1])


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: policies.abs_(k0=0, t0=1.0), "k=0"),
        (lambda: policies.abs_(k0=1, t0=0.0), "t0"),
        (lambda: policies.abs_(k0=1, t0=1.0, kappa=-1.0), "kappa"),
        (lambda: policies.abs_(k0=1, t0=1.0, local_steps=0), "local_steps"),
        (lambda: policies.abs_(1, 1.0, local_duration="max"), "local_duration"),
        (lambda: policies.abs_(1, 1.0, local_lr=0.0), "local_lr"),
        (lambda: policies.abs_(1, 1.0, loss_estimate="true"), "loss_estimate"),
        (lambda: policies.abs_(1, 1.0, loss_decay=0.0), "loss_decay"),
        (lambda: policies.abs_(1, 1.0, loss_decay=1.5), "loss_decay"),
        (lambda: policies.abs_(1, 1.0, tau=-1), "tau"),
        (lambda: policies.adasync(1, 1.0, base="sync"), "base"),
        (lambda: policies.adasync(1, -2.0), "t0"),
        (lambda: policies.sa_adasync(0, 1.0), "k=0"),
        (lambda: policies.local_sgd(0), "local_steps"),
        (lambda: policies.local_sgd(2, k=0), "k=0"),
        (lambda: policies.ssp(-1), "ssp"),
        (lambda: policies.rennala(0), "k=0"),
        (lambda: policies.ringmaster(0), "r=0"),
        (lambda: policies.ringmaster(2, variant="drop"), "variant"),
        (lambda: policies.custom("k_sync", k=2, tau_rule=rules.Fixed()), None),
        (
            lambda: policies.custom("k_sync", k=2, tau_rule=rules.StalenessBound()),
            "synchronous",
        ),
        (lambda: policies.custom("sync", k_rule=rules.AdaSync(1.0)), "fixes K"),
        (lambda: policies.custom("k_async", k=1, ssp=1), "ssp"),
        (lambda: policies.custom("k_async", k=1, discard=1), "discard"),
        (lambda: policies.custom("nope", k=1), "base"),
        (lambda: policies.custom("k_async", k=1, k_rule=len), "Rule"),
        (lambda: policies.custom("k_async", k=1, weight=2.0), "weight"),
        (lambda: rules.Schedule((2.0, 1.0), (1, 2, 3)), "boundaries"),
        (lambda: rules.Schedule((1.0,), (1, 2, 3)), "values"),
        (lambda: rules.Schedule((1.0,), (1, 2), by="time"), "by"),
        (lambda: rules.Function(3), "fn"),
        (lambda: rules.Function(len, {"a": "x"}), "numbers"),
    ],
)
def test_bad_policy_input_is_a_value_error(build, match):
    if match is None:  # accepted: Fixed is the default
        build()
        return
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize(
    "policy,kw,match",
    [
        (policies.abs_(k0=7, t0=1.0), {}, "num_workers"),
        (policies.sa_adasync(1, 1.0), {"weight": staleness.Constant()}, "conflicts"),
        (
            policies.custom(
                "k_async", k=1, k_rule=rules.Schedule((1.0,), (1, 9), by="round")
            ),
            {},
            "schedule values",
        ),
    ],
)
def test_bad_simulator_input_is_a_value_error(policy, kw, match):
    with pytest.raises(ValueError, match=match):
        sim = absjax.Simulator(N, policy, DELAY, OBJECTIVE, **kw)
        sim.run(seeds=1, chunk=1)


@pytest.mark.parametrize(
    "grid,match",
    [
        ({"policy.k_rule.t0": [1.0, -1.0]}, "t0"),
        ({"policy.tau_rule.kappa": [-0.5]}, "kappa"),
        ({"policy.loss_decay": [0.0]}, "loss_decay"),
        ({"policy.nope": [1.0]}, "not a parameter"),
    ],
)
def test_bad_policy_numbers_in_a_grid_fail_before_compiling(grid, match):
    sim = absjax.Simulator(N, policies.abs_(1, 1.0), DELAY, OBJECTIVE)
    with pytest.raises(ValueError, match=match):
        sim.run(seeds=1, grid=grid)
    assert sim.traces == 0


# A local-steps policy whose local_lr is unset reads the server's lr at run time,
# so a gridded, replaced or swept lr moves the local steps too (the tuning bug
# of the paper-figures issue: local steps once kept the build-time lr).
LOCAL_POLICIES = {
    "local_sgd": policies.local_sgd(2),
    "abs_u2": policies.abs_(k0=1, t0=0.5, local_steps=2),
}


def _local_sim(policy, lr):
    return absjax.Simulator(
        4,
        policy,
        "exp:rate=1",
        "linreg:dim=3,samples=64,batch=4",
        lr=lr,
        rounds=20,
        log_every=5,
    )


@pytest.mark.parametrize(
    "name",
    ["local_sgd", pytest.param("abs_u2", marks=pytest.mark.slow)],  # same path
)
def test_unset_local_lr_follows_lr_in_grid_params_and_ensemble(name):
    policy = LOCAL_POLICIES[name]
    built = _local_sim(policy, 0.4).run(seeds=3)
    other = _local_sim(policy, 0.1)
    gridded = other.run(seeds=3, grid={"lr": [0.1, 0.4]})
    replaced = other.run(seeds=3, params=other.params._replace(lr=0.4))
    (member,) = absjax.Ensemble([other]).run(
        seeds=3, params=[other.params._replace(lr=0.4)]
    )
    for metric in ("loss", "wall_clock", "loss_estimate"):
        want = built.metrics[metric]
        np.testing.assert_array_equal(gridded.metrics[metric][1], want)
        np.testing.assert_array_equal(replaced.metrics[metric], want)
        np.testing.assert_array_equal(member.metrics[metric], want)
    assert not np.array_equal(gridded.loss[0], built.loss)  # lr matters
    assert "local_lr" not in other.params.policy  # no copy of lr to go stale


def test_unset_local_lr_follows_lr_in_a_sweep(tmp_path):
    from absjax import sweep

    config = {
        "workers": 4,
        "policy": "local_sgd:local_steps=2",
        "delay": "exp:rate=1",
        "objective": "linreg:dim=3,samples=64,batch=4",
        "rounds": 20,
        "log_every": 5,
        "seeds": 3,
        "grid": {"lr": [0.1, 0.4]},
        "format": "csv",  # read back with read_csv (parquet is the default)
    }
    frame = __import__("pandas").read_csv(
        sweep.run_sweep(config, tmp_path / "sweep", progress=False)
    )
    swept = frame[frame["lr"] == 0.4]["loss"].to_numpy()
    built = _local_sim(policies.local_sgd(2), 0.4).run(seeds=3)
    np.testing.assert_allclose(swept, built.loss.reshape(-1), rtol=1e-6)


def test_a_set_local_lr_is_its_own_number():
    policy = policies.local_sgd(2, local_lr=0.2)
    sim = _local_sim(policy, 0.1)
    result = sim.run(seeds=2, grid={"policy.local_lr": [0.2, 0.05]})
    same = _local_sim(policy, 0.1).run(seeds=2)
    np.testing.assert_array_equal(result.loss[0], same.loss)
    assert not np.array_equal(result.loss[1], same.loss)
    lr_only = sim.run(seeds=2, params=sim.params._replace(lr=0.3))
    assert not np.array_equal(lr_only.loss, same.loss)  # the server step moved
