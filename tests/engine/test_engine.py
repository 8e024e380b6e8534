"""Engine properties: determinism, sharding, no recompilation, validation,
conservation of jobs, divergence reporting and grids."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import absjax
from absjax import delays, objectives, policies, staleness

SHIFTED = "shifted_exp:shift=0.5,rate=2"
LINREG = "linreg:dim=8,samples=256,batch=4"


def _sim(policy=None, **kw):
    args = dict(rounds=60, log_every=10, lr=0.05)
    args.update(kw)
    return absjax.Simulator(
        6, policy or policies.k_async(2, tau=2), SHIFTED, LINREG, **args
    )


def _same(a, b):
    for name in a.metrics:
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name], err_msg=name)
    np.testing.assert_array_equal(a.diverged_round, b.diverged_round)


def test_same_seed_same_numbers_and_other_seed_differs():
    sim = _sim()
    a, b, c = sim.run(seeds=3, seed=7), sim.run(seeds=3, seed=7), sim.run(seeds=3)
    _same(a, b)
    assert not np.array_equal(a.wall_clock, c.wall_clock)


@pytest.mark.parametrize(
    "policy",
    [
        policies.k_async(2, tau=2),
        pytest.param(policies.k_sync(3), marks=pytest.mark.slow),  # --runslow
        pytest.param(policies.k_batch_async(3), marks=pytest.mark.slow),
    ],
    ids=["k_async", "k_sync", "k_batch_async"],
)
def test_batched_chunked_and_alone_are_bit_identical(policy):
    sim = _sim(policy)
    together = sim.run(seeds=5, seed=2, chunk=4)  # two chunks, the second padded
    parts = [
        sim.run(seeds=2, seed=2, chunk=4),
        sim.run(seeds=3, seed=2, seed_offset=2, chunk=4),
    ]
    for name in together.metrics:
        np.testing.assert_array_equal(
            together.metrics[name],
            np.concatenate([p.metrics[name] for p in parts]),
            err_msg=name,
        )
    for i in range(5):
        alone = sim.run(seeds=1, seed=2, seed_offset=i, chunk=4)
        for name in together.metrics:
            np.testing.assert_array_equal(
                together.metrics[name][i], alone.metrics[name][0], err_msg=name
            )


SHARDED_SCRIPT = textwrap.dedent("""
    import json, sys
    import jax
    import absjax
    from absjax import policies
    assert jax.local_device_count() == 4, jax.devices()
    sim = absjax.Simulator(6, policies.k_async(2, tau=2), "{delay}", "{objective}",
                           rounds=60, log_every=10, lr=0.05)
    r = sim.run(seeds=7, seed=2, chunk=2)
    g = sim.run(seeds=3, seed=1, chunk=1, grid={{"lr": [0.05, 0.1]}}, history=True)
    json.dump({{
        "plain": {{k: v.tolist() for k, v in r.metrics.items()}},
        "dtypes": {{k: str(v.dtype) for k, v in r.metrics.items()}},
        "grid": {{k: v.tolist() for k, v in g.metrics.items()}},
        "history": [x.tolist() for x in jax.tree.leaves(g.history)],
    }}, sys.stdout)
""")


@pytest.mark.slow  # a subprocess with 4 devices: --runslow
def test_four_device_sharding_is_bit_identical():
    env = dict(
        os.environ,
        XLA_FLAGS="--xla_force_host_platform_device_count=4",
        JAX_PLATFORMS="cpu",
    )
    script = SHARDED_SCRIPT.format(delay=SHIFTED, objective=LINREG)
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    sharded = json.loads(out)
    single = _sim().run(seeds=7, seed=2, chunk=2)
    assert jax.local_device_count() == 1
    for name, values in single.metrics.items():
        np.testing.assert_array_equal(
            values, np.asarray(sharded["plain"][name]), err_msg=name
        )
        assert str(values.dtype) == sharded["dtypes"][name], name
    # A grid with history: its shards are copied to the host in place too.
    grid = _sim().run(seeds=3, seed=1, chunk=1, grid={"lr": [0.05, 0.1]}, history=True)
    for name, values in grid.metrics.items():
        np.testing.assert_array_equal(values, np.asarray(sharded["grid"][name]))
    leaves = jax.tree.leaves(grid.history)
    for ours, theirs in zip(leaves, sharded["history"], strict=True):
        np.testing.assert_array_equal(ours, np.asarray(theirs))


def test_numbers_never_recompile():
    sim = _sim()
    sim.run(seeds=2)
    assert sim.traces == 1
    params = sim.params
    changed = params._replace(
        k=jnp.int32(1),
        tau=jnp.int32(1),  # within the policy's tau = 2 (the ring of models)
        lr=jnp.asarray(0.01),
        delay={
            **params.delay,
            "compute": {"shift": jnp.asarray(0.1), "rate": jnp.asarray(5.0)},
        },
    )
    sim.run(seeds=2, params=changed, seed=3)
    sim.run(seeds=2, params=params._replace(tau=jnp.int32(0)))
    assert sim.traces == 1
    sim.run(seeds=2, grid={"k": [1, 2], "lr": [0.01, 0.02]})
    assert sim.traces == 2  # one program per grid structure
    sim.run(seeds=2, grid={"k": [2, 1], "lr": [0.03, 0.5]}, seed=9)
    assert sim.traces == 2


def test_grid_points_equal_single_runs():
    sim = _sim()
    grid = sim.run(seeds=3, grid={"k": [1, 2], "delay.compute.rate": [1.0, 4.0]})
    assert grid.loss.shape == (2, 2, 3, 6)
    params = sim.params
    single = sim.run(
        seeds=3,
        params=params._replace(
            k=jnp.int32(1),
            delay={
                **params.delay,
                "compute": {
                    "shift": params.delay["compute"]["shift"],
                    "rate": jnp.asarray(4.0),
                },
            },
        ),
    )
    np.testing.assert_array_equal(grid.wall_clock[0, 1], single.wall_clock)
    np.testing.assert_array_equal(grid.loss[0, 1], single.loss)
    df = grid.to_dataframe()
    assert {"k", "delay.compute.rate", "seed", "round"} <= set(df.columns)
    assert len(df) == 2 * 2 * 3 * 6


@pytest.mark.parametrize(
    "policy",
    [
        policies.sync(),
        pytest.param(policies.k_sync(2), marks=pytest.mark.slow),  # --runslow
        pytest.param(policies.k_batch_sync(3), marks=pytest.mark.slow),
        pytest.param(policies.k_async(2), marks=pytest.mark.slow),
        policies.k_async(3, tau=1),
        policies.k_batch_async(2, tau=0),
        pytest.param(policies.asynchronous(), marks=pytest.mark.slow),
    ],
    ids=lambda p: f"{p.name}-{p.k}-{p.tau}",
)
def test_jobs_are_conserved_and_counted(policy):
    """Every job started is aggregated, wasted or still running (N at the end)."""
    sim = _sim(policy)
    r = sim.run(seeds=4)
    started = r.jobs_started.cumsum(-1)
    done = (r.jobs_aggregated + r.jobs_wasted).cumsum(-1)
    np.testing.assert_array_equal(started - done, 6)
    np.testing.assert_array_equal(r.uploads, r.jobs_aggregated)
    np.testing.assert_array_equal(r.jobs_aggregated, sim.policy.resolve_k(6) * 10)
    if policy.tau is not None:
        assert r.staleness_max.max() <= policy.tau
    if policy.synchronous:
        assert r.staleness_max.max() == 0
    assert np.all(np.diff(r.wall_clock, axis=-1) > 0)


def test_divergence_is_reported_per_seed_and_left_out_of_curves():
    sim = absjax.Simulator(
        4,
        policies.asynchronous(),
        "exp:rate=1",
        objectives.quadratic(dim=3, hmax=1.0),
        lr=5.0,
        rounds=200,
        log_every=10,
    )
    r = sim.run(seeds=3)
    assert r.diverged.all() and (r.diverged_round > 0).all()
    curve = r.mean_curve()
    assert curve.empty
    assert np.isnan(r.time_to_target(1e-3)).all()  # diverged: left out, not inf
    stable = _sim().run(seeds=3)
    assert not stable.diverged.any()
    assert stable.summary()["diverged"] == 0


def test_results_helpers():
    r = _sim().run(seeds=4)
    df = r.to_dataframe()
    assert len(df) == 4 * 6
    assert list(df.columns[:3]) == ["policy", "seed", "round"]
    np.testing.assert_array_equal(r.round[0], np.arange(10, 61, 10))
    t = r.time_to_target(float(r.loss[:, -1].max()))
    assert np.isfinite(t).all() and (t <= r.wall_clock[:, -1]).all()
    rounds = r.rounds_to_target(float(r.loss[:, 0].min()) / 1e6)
    assert np.isinf(rounds).all()
    curve = r.mean_curve(points=50)
    assert len(curve) == 50 and (curve["lower"] <= curve["upper"]).all()
    assert curve["wall_clock"].iloc[-1] <= r.wall_clock[:, -1].min()
    by_round = r.mean_curve(x="round")
    np.testing.assert_allclose(by_round["mean"], r.loss.mean(0), rtol=1e-6)


def test_optax_server_transformation_and_weights():
    sim = _sim(
        optimizer=optax.scale_by_adam(),
        lr=0.01,
        weight=staleness.polynomial(0.5),
        normalization="weight-sum",
    )
    r = sim.run(seeds=2)
    assert r.loss[:, -1].max() < r.loss[:, 0].min()


def test_history_has_every_round():
    r = _sim().run(seeds=2, history=True)
    infos, models = r.history
    assert infos.duration.shape == (2, 6, 10)
    assert models.shape == (2, 6, 8)
    np.testing.assert_allclose(
        infos.duration.sum(axis=(1, 2)), r.wall_clock[:, -1], rtol=1e-5
    )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_workers=0), "num_workers"),
        (dict(num_workers=2.5), "num_workers"),
        (dict(policy=policies.k_async(7)), r"k=7 must be in \[1, num_workers=6\]"),
        (dict(policy="k_async"), "policy"),
        (dict(delay=42), "delay"),
        (dict(delay="exp:rate=-1"), "rate"),
        (dict(delay=delays.Delay(delays.exponential(), speeds=(1.0, 2.0))), "speeds"),
        (dict(objective="linreg:batch=0"), "batch"),
        (dict(objective=3), "objective"),
        (dict(lr=0.0), "lr"),
        (dict(lr=float("nan")), "lr"),
        (dict(lr=True), "lr"),
        (dict(rounds=0), "rounds"),
        (dict(log_every=0), "log_every"),
        (dict(rounds=10, log_every=3), "log_every=3 must divide rounds=10"),
        (dict(weight="inverse"), "weight"),
        (dict(normalization="sum"), "normalization"),
        (dict(k_max=7), "k_max"),
        (dict(policy=policies.k_async(3), k_max=2), "k_max"),
    ],
)
def test_invalid_simulator_arguments(kwargs, match):
    args = dict(
        num_workers=6, policy=policies.k_async(2), delay=SHIFTED, objective=LINREG
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        absjax.Simulator(**args)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda p: p(k=0), "k"),
        (lambda p: p(k=-1), "k"),
        (lambda p: p(k=2.0), "k"),
        (lambda p: p(k=2, tau=-1), "tau"),
        (lambda p: p(k=2, tau=1.5), "tau"),
    ],
)
def test_invalid_policy_numbers(call, match):
    with pytest.raises(ValueError, match=match):
        call(policies.k_async)


def test_invalid_policy_structure():
    with pytest.raises(ValueError, match="one of"):
        policies.make("kasync", 2)
    with pytest.raises(ValueError, match="takes no k"):
        policies.make("sync", 2)
    with pytest.raises(ValueError, match="needs k"):
        policies.make("k_sync")
    with pytest.raises(ValueError, match="synchronous"):
        policies.make("k_sync", 2, tau=1)


@pytest.mark.parametrize(
    "run_kwargs,match",
    [
        (dict(seeds=0), "seeds"),
        (dict(seeds=2, seed=-1), "seed"),
        (dict(seeds=2, chunk=0), "chunk"),
        (dict(seeds=2, grid={"k": [1, 7]}), "k="),
        (dict(seeds=2, grid={"k": [1, 3]}), "k_max"),
        (dict(seeds=2, grid={"lr": [0.1, -1.0]}), "lr"),
        (dict(seeds=2, grid={"tau": [-1]}), "tau"),
        (dict(seeds=2, grid={"delay.compute.rate": [1.0, 0.0]}), "rate"),
        (dict(seeds=2, grid={"nope": [1]}), "nope"),
        (dict(seeds=2, grid={"delay": [1]}), "group"),
        (dict(seeds=2, grid={"k": []}), "non-empty"),
        (dict(seeds=2, grid={"k": [1.5]}), "integers"),
        (dict(seeds=2, grid={"data.x": [1]}), "data"),
    ],
)
def test_invalid_run_arguments_fail_before_compiling(run_kwargs, match):
    sim = _sim(policies.k_async(2))
    with pytest.raises(ValueError, match=match):
        sim.run(**run_kwargs)
    assert sim.traces == 0


def test_job_draws_replay_the_run():
    sim = _sim(policies.k_sync(6), log_every=1, rounds=3)
    draw = sim.job_draws(seed=4)
    r = sim.run(seeds=1, seed=4)
    first = max(float(draw(-1, 0, i)[0]) for i in range(6))
    np.testing.assert_allclose(r.wall_clock[0, 0], first, rtol=1e-6)


def test_python_and_numpy_numbers_do_not_recompile():
    sim = _sim(k_max=3)
    sim.run(seeds=2)
    params = sim.params
    for change in (
        dict(lr=0.2),
        dict(lr=np.float64(0.3)),
        dict(lr=jnp.float32(0.1)),
        dict(k=3),
        dict(k=np.int64(1)),
        dict(tau=1),
    ):
        sim.run(seeds=2, params=params._replace(**change))
    assert sim.traces == 1


def test_infinite_loss_counts_as_divergence():
    sim = absjax.Simulator(
        1,
        policies.sync(),
        "exp:rate=1",
        objectives.quadratic(dim=1, noise=0.0, hmin=1, hmax=1),
        lr=3.0,
        rounds=100,
        log_every=50,
    )
    r = sim.run(seeds=2, chunk=2)
    assert np.isinf(r.loss[:, -1]).all() and (r.diverged_round == 100).all()


def test_gridded_results_need_a_grid_point():
    r = _sim(k_max=2).run(seeds=3, grid={"k": [1, 2]})
    with pytest.raises(ValueError, match="grid_index"):
        r.mean_curve()
    with pytest.raises(ValueError, match="grid_index"):
        r.summary()
    assert r.summary(grid_index=(1,))["seeds"] == 3
    assert r.mean_curve(grid_index=(0,))["seeds"].eq(3).all()
    with pytest.raises(ValueError, match="x="):
        r.mean_curve(x="jobs_started", grid_index=(0,))
    with pytest.raises(ValueError, match="points"):
        r.mean_curve(points=1, grid_index=(0,))


def test_non_overlapping_time_ranges_are_refused():
    r = _sim(rounds=10, log_every=10).run(seeds=3)
    with pytest.raises(ValueError, match="do not overlap"):
        r.mean_curve()


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda p: p._replace(k=jnp.array([1, 2])), "shape"),
        (
            lambda p: p._replace(
                delay={**p.delay, "compute": {**p.delay["compute"], "rate": -1.0}}
            ),
            "rate",
        ),
        (lambda p: p._replace(weight={"a": 1.0}), "structure"),
        (lambda p: (1, 2), "SimParams"),
    ],
)
def test_invalid_params_are_refused(change, match):
    sim = _sim()
    with pytest.raises(ValueError, match=match):
        sim.run(seeds=2, params=change(sim.params))


def test_seed_range_and_unbounded_tau_in_grids():
    sim = _sim()
    with pytest.raises(ValueError, match="2\\*\\*32"):
        sim.run(seeds=2, seed=2**32)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        sim.run(seeds=2, seed_offset=2**32 - 1)
    r = sim.run(seeds=2, grid={"tau": [None, 1, float("inf")]})
    np.testing.assert_array_equal(r.tau[:, 0, 0], [np.inf, 1, np.inf])


def test_accuracy_targets_are_reached_from_below():
    sim = absjax.Simulator(
        4,
        policies.k_sync(2),
        "exp:rate=1",
        "logreg:dim=5,classes=3,samples=256,batch=8",
        lr=0.5,
        rounds=40,
        log_every=10,
    )
    r = sim.run(seeds=2, chunk=2)
    acc = r.metrics["test_accuracy"]
    target = float(acc[:, -1].min())
    t = r.time_to_target(target, metric="test_accuracy")
    first = np.argmax(acc >= target, axis=-1)
    np.testing.assert_array_equal(t, r.wall_clock[np.arange(2), first])


class _Float32Quadratic(objectives.Quadratic):
    """A user objective whose data and model stay float32 under x64."""

    @property
    def data(self):
        return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), super().data)

    def init(self, data):
        return jnp.asarray(super().init(data), jnp.float32)

    def sample(self, key, data, worker=0):
        return jnp.asarray(super().sample(key, data, worker), jnp.float32)


@pytest.mark.parametrize(
    "policy",
    [
        policies.k_async(2, tau=1),
        pytest.param(policies.k_batch_async(2), marks=pytest.mark.slow),
        pytest.param(policies.local_sgd(2), marks=pytest.mark.slow),
    ],
)
def test_x64_keeps_every_model_dtype(policy):
    with jax.enable_x64(True):
        for objective, dtype in (
            (_Float32Quadratic(dim=3), np.float32),
            (objectives.quadratic(dim=3), np.float64),
            ("linreg:dim=3,samples=32,batch=4", np.float64),
        ):
            sim = absjax.Simulator(
                4,
                policy,
                "exp:rate=1",
                objective,
                rounds=10,
                log_every=5,
                optimizer=optax.scale_by_adam(),
            )
            result = sim.run(seeds=2, chunk=2, history=True)
            _, models = result.history
            assert models.dtype == dtype
            assert np.all(np.isfinite(result.loss))


def test_zero_weight_arrivals_are_dropped_and_counted():
    # threshold c=0, v=0: every stale arrival has weight 0 (Tyurin & Richtarik's
    # drop rule with c = 0), so drops = aggregated - fresh, and they are wasted.
    sim = absjax.Simulator(
        4,
        policies.asynchronous(),
        "exp:rate=1",
        "quadratic:dim=3",
        rounds=40,
        log_every=40,
        weight=staleness.threshold(c=0.0, v=0.0),
    )
    result = sim.run(seeds=4, chunk=4, history=True)
    infos, _ = result.history
    stale = (infos.arrival_staleness > 0).sum(-1)
    np.testing.assert_array_equal(infos.jobs_dropped, stale)
    assert result.jobs_dropped.sum() > 0
    np.testing.assert_array_equal(
        result.jobs_wasted, result.jobs_dropped + result.jobs_discarded
    )


@pytest.mark.parametrize(
    "policy, delay",
    [
        (policies.k_async(4, tau=3), "pareto:scale=0.6,alpha=2.5"),
        pytest.param(  # first finishers again, with rules: --runslow
            policies.abs_(k0=2, t0=3.0),
            "lognormal:mu=0,sigma=1",
            marks=pytest.mark.slow,
        ),
        pytest.param(  # the event loop: --runslow
            policies.rennala(3), "gamma:shape=2,scale=0.5", marks=pytest.mark.slow
        ),
    ],
    ids=["k_async", "abs", "rennala"],
)
def test_timing_only_numbers_do_not_depend_on_the_chunk(policy, delay):
    # What lets chunk="auto" grow a timing-only run's chunk with its seeds.
    sim = absjax.Simulator(16, policy, delay, "timing", rounds=60, log_every=5)
    runs = [sim.run(seeds=70, seed=3, chunk=c) for c in (4, 64, 128)]
    for other in runs[1:]:
        for name, values in runs[0].metrics.items():
            np.testing.assert_array_equal(values, other.metrics[name], err_msg=name)


def test_auto_chunk_on_the_cpu():
    from absjax.engine import memory

    timing = absjax.Simulator(16, policies.k_async(4), "exp:rate=1", "timing")
    model = absjax.Simulator(16, policies.k_async(4), "exp:rate=1", "quadratic:dim=3")
    devices = jax.local_device_count()
    # a model run: 64 at most, whatever the seeds; a timing-only run: the seeds
    # per device rounded up to a power of two, at most 1024
    assert memory.resolve_chunk(model, "auto", 1) == memory.CPU_CHUNK
    assert memory.resolve_chunk(model, "auto", 10**5) == memory.CPU_CHUNK
    assert memory.resolve_chunk(timing, "auto", 1) == 1
    assert memory.resolve_chunk(timing, "auto", 5 * devices) == 8
    assert memory.resolve_chunk(timing, "auto", 300 * devices) == 512
    assert memory.resolve_chunk(timing, "auto", 10**6) == memory.CPU_TIMING_CHUNK
    assert memory.resolve_chunk(timing, 7, 10**6) == 7


@pytest.mark.parametrize("objective", ["linreg:dim=100", "timing"])
def test_auto_chunk_keeps_a_round_in_the_cpu_caches(objective):
    # N = 512: a round's working set is too large for 64 seeds in the caches
    from absjax.engine import memory

    sim = absjax.Simulator(512, policies.k_async(128), "exp:rate=1", objective)
    per_seed = memory.working_bytes(sim)
    chunk = memory.resolve_chunk(sim, "auto", 10**5)
    assert chunk & (chunk - 1) == 0 and chunk < memory.CPU_CHUNK
    assert chunk * per_seed <= memory.CPU_CACHE_BYTES < 2 * chunk * per_seed
    alone = chunk if sim.objective.has_loss else 1  # a model run: seeds do not matter
    assert memory.resolve_chunk(sim, "auto", 1) == alone


def test_a_tau_above_the_ring_runs_on_per_worker_models_with_the_same_numbers():
    # k_async(tau=1) keeps a ring of 2 models; tau = 4 in a grid needs more
    ring = absjax.Simulator(
        8, policies.k_async(3, tau=1), "exp:rate=1", "quadratic:dim=3", rounds=30
    )
    wide = absjax.Simulator(
        8, policies.k_async(3, tau=4), "exp:rate=1", "quadratic:dim=3", rounds=30
    )
    assert ring.jobs.store.staleness_bound == 1
    ring.run(seeds=4, grid={"tau": [0, 1]})
    assert ring.traces == 1
    got = ring.run(seeds=4, grid={"tau": [1, 4]})
    assert ring.traces == 2  # once: the program keeping every worker's model
    want = wide.run(seeds=4, grid={"tau": [1, 4]})
    for name, values in want.metrics.items():
        np.testing.assert_array_equal(got.metrics[name], values, err_msg=name)
    traces = ring.traces
    ring.run(seeds=4, seed=1, grid={"tau": [1, 4]})
    assert ring.traces == traces


@pytest.mark.parametrize(
    "policy",
    [
        policies.k_async(5, tau=2),
        pytest.param(policies.local_sgd(4, 3), marks=pytest.mark.slow),  # --runslow
    ],
)
def test_arrivals_computed_in_blocks_give_the_same_numbers(monkeypatch, policy):
    # A round with more arrivals than jobs.ARRIVAL_BLOCK loops over blocks of them
    from absjax.engine import jobs

    def run():
        sim = absjax.Simulator(
            12, policy, "exp:rate=1", "linreg:dim=4,samples=64,batch=4", rounds=20
        )
        return sim.run(seeds=3, seed=5, chunk=2)

    want = run()
    monkeypatch.setattr(jobs, "ARRIVAL_BLOCK", 2)
    got = run()
    for name, values in want.metrics.items():
        np.testing.assert_array_equal(got.metrics[name], values, err_msg=name)
