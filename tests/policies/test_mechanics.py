"""The round mechanics on their own: arrival rules and restart rules.

Each mechanic is called directly on a hand-made state with a stub of the
engine's job machinery (fixed updates and durations), so every expected value
below is computed by hand in a comment. That the Simulator wires them as the
oracle says is in ``tests/engine/test_engine_vs_oracle.py``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from absjax import policies, rules
from absjax.engine import SimState
from absjax.engine.models import PerWorker
from absjax.policies import (
    BoundedStaleness,
    CancelAll,
    EventLoop,
    FirstFinishers,
    StaleSynchronous,
    Workers,
)


@dataclasses.dataclass(frozen=True)
class StubJobs:
    """Worker i's update is the vector (i + 1) * ones(2); every restart lasts
    ``restart``; weights are ``1 / (1 + s)``."""

    num_workers: int
    capacity: int
    restart: float = 10.0

    store = PerWorker()

    def models_read(self, workers, which, w):
        return self.store.read(workers.models, workers.read, which, w)

    def updates(self, keys, params, workers, which, w):
        which = jnp.asarray(which)
        update = (which[:, None] + 1.0) * jnp.ones((1, 2))
        return update, 0.5 * jnp.ones(which.shape)

    def weigh(self, params, staleness, workers, which, w):
        return 1.0 / (1.0 + jnp.asarray(staleness, float))

    def durations(self, keys, r, slot, params, speed, worker, previous, job=None):
        return jnp.full(jnp.shape(speed), self.restart), jnp.zeros(
            jnp.shape(speed), bool
        )


@dataclasses.dataclass
class Params:
    policy: dict = dataclasses.field(default_factory=dict)


def _state(remaining, read, version, k):
    n = len(remaining)
    return SimState(
        w=jnp.zeros(2),
        opt_state=(),
        version=jnp.int32(version),
        clock=jnp.zeros(()),
        clock_error=jnp.zeros(()),
        workers=Workers(
            remaining=jnp.asarray(remaining, float),
            read=jnp.asarray(read, jnp.int32),
            slot=jnp.zeros(n, jnp.int32),
            models=jnp.zeros((n, 2)),
            slow=jnp.zeros(n, bool),
            age=jnp.asarray([0.5] * n),
            job_time=jnp.full(n, jnp.nan),
            job=jnp.zeros(n, jnp.int32),
        ),
        speed=jnp.ones(n),
        k=jnp.int32(k),
        tau=jnp.int32(policies.UNBOUNDED),
        loss=jnp.asarray(jnp.nan),
        loss0=jnp.asarray(jnp.nan),
        pushes=jnp.zeros(n, jnp.int32),
        diverged_round=jnp.int32(-1),
    )


# ------------------------------------------------------------- arrival rules
def test_finish_rank_is_a_stable_sort():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 4, size=9).astype(float)  # many ties
        rank = np.asarray(policies.finish_rank(jnp.asarray(x)))
        np.testing.assert_array_equal(np.argsort(rank), np.argsort(x, kind="stable"))


@pytest.mark.parametrize("n", [1, 2, 5, 16, 17, 100, 256, 257])
def test_finish_order_is_a_stable_sort_both_ways(n):
    """Repeated argmin (count <= 8) and the bitonic network (above) both give
    the stable argsort's first entries: ties by index, blocked jobs (inf)
    last, for sizes that are and are not powers of two."""
    rng = np.random.default_rng(n)
    order = jax.jit(policies.finish_order, static_argnums=1)
    for _ in range(5):
        x = rng.integers(0, 4, size=n).astype(np.float32)  # many ties
        x[rng.random(n) < 0.2] = np.inf
        expected = np.argsort(x, kind="stable")
        for count in sorted({1, min(n, 8), min(n, 9), n}):
            got = np.asarray(order(jnp.asarray(x), count))
            np.testing.assert_array_equal(got, expected[:count])


@pytest.mark.parametrize(
    "n",
    [
        256,
        pytest.param(300, marks=pytest.mark.slow),  # 256 covers that rule
        pytest.param(1024, marks=pytest.mark.slow),  # 1500 covers that rule
        1500,
    ],
)
def test_finish_order_by_selection_is_the_stable_sort(n):
    """From 256 workers on (count <= N / 4) and 1024 (count <= N / 2), the
    first finishers are selected by a threshold and then sorted: the same
    order as the stable argsort, with ties at the threshold, blocked jobs, -0
    and +0, and negative times."""
    rng = np.random.default_rng(n)
    order = jax.jit(policies.finish_order, static_argnums=1)
    for ties in (False, True):
        x = rng.exponential(size=n).astype(np.float32)
        if ties:
            x = np.floor(4 * x)
        x[rng.random(n) < 0.2] = np.inf
        x[rng.random(n) < 0.05] = -0.0
        x[rng.random(n) < 0.05] = -1.5
        expected = np.argsort(x, kind="stable")
        for count in (9, n // 4, n // 2):
            got = np.asarray(order(jnp.asarray(x), count))
            np.testing.assert_array_equal(got, expected[:count])


def test_first_finishers_by_hand():
    # t = 2; remaining [3, 1, 1, 2], K = 2: workers 1 and 2 (tie: by index)
    # arrive at 1; their reads 1 and 0 give staleness 1 and 2, weights 1/2, 1/3;
    # weighted = (2/2 + 3/3) * ones = 2; worker 3 (inf) is blocked: idles 1.
    state = _state([3.0, 1.0, 1.0, jnp.inf], [0, 1, 0, 2], version=2, k=2)
    a = FirstFinishers()(StubJobs(4, capacity=3), None, state, Params())
    assert float(a.duration) == 1.0
    assert a.finished.tolist() == [False, True, True, False]
    np.testing.assert_allclose(a.weighted, [2.0, 2.0], rtol=1e-6)
    assert int(a.jobs_aggregated) == 2 and int(a.uploads) == 2
    assert int(a.staleness_sum) == 3 and int(a.staleness_max) == 2
    assert a.arrival_staleness.tolist() == [1, 2, -1]  # capacity 3, K = 2
    np.testing.assert_allclose(float(a.weight_sum), 1 / 2 + 1 / 3, rtol=1e-6)
    np.testing.assert_allclose(float(a.loss_sum), 1.0)
    assert float(a.idle_time) == 1.0  # finishers wait 0; the blocked worker 1
    np.testing.assert_allclose(a.workers.remaining, [2.0, 0.0, 0.0, jnp.inf])
    np.testing.assert_allclose(a.workers.age, [1.5] * 4)
    np.testing.assert_allclose(a.workers.job_time, [np.nan, 1.5, 1.5, np.nan])
    assert a.arrivals.tolist() == [0, 1, 1, 0]


def test_event_loop_fast_worker_arrives_twice():
    # t = 0, remaining [1, 2, 5], K = 2, restarts last 0.5: worker 0 arrives at
    # 1 (accepted, restarts at once on w_0: no download), again at 1.5 (the
    # K-th accepted: the round ends); worker 1 never arrived.
    state = _state([1.0, 2.0, 5.0], [0, 0, 0], version=0, k=2)
    a = EventLoop()(StubJobs(3, capacity=2, restart=0.5), None, state, Params())
    assert float(a.duration) == 1.5
    assert a.arrivals.tolist() == [2, 0, 0]
    assert a.finished.tolist() == [True, False, False]
    np.testing.assert_allclose(a.weighted, [2.0, 2.0])  # 1 * u_0 twice
    assert int(a.jobs_started) == 1 and int(a.downloads) == 0
    assert int(a.uploads) == 2 and int(a.jobs_discarded) == 0
    np.testing.assert_allclose(a.workers.remaining[1:], [0.5, 3.5])
    np.testing.assert_allclose(a.workers.job_time[0], 0.5)  # its second job
    assert int(a.workers.slot[0]) == 1  # the first mid-round restart's slot


def test_event_loop_discards_stale_arrivals_and_restarts_them():
    # t = 1, reads [0, 1, 1], remaining [1, 2, 3], K = 2, discard R = 1:
    # worker 0 (s = 1) is discarded at 1 and restarts on w_1 (a download),
    # lasting 10; workers 1 and 2 (fresh) are the two accepted arrivals.
    state = _state([1.0, 2.0, 3.0], [0, 1, 1], version=1, k=2)
    params = Params(policy={"discard": jnp.int32(1)})
    a = EventLoop(discard=True)(StubJobs(3, capacity=2), None, state, params)
    assert float(a.duration) == 3.0
    assert int(a.jobs_discarded) == 1 and int(a.uploads) == 3
    assert a.arrivals.tolist() == [0, 1, 1]
    assert int(a.downloads) == 1 and int(a.workers.read[0]) == 1
    np.testing.assert_allclose(a.weighted, [5.0, 5.0])  # u_1 + u_2, s = 0


# ------------------------------------------------------------- restart rules
def _view(staleness, tau, pushes=(0, 0, 0)):
    n = len(staleness)
    return rules.ServerView.initial(n, 1, tau)._replace(
        staleness=jnp.asarray(staleness, jnp.int32),
        pushes=jnp.asarray(pushes, jnp.int32),
    )


def test_cancel_all_restarts_everyone():
    out = CancelAll()(_view([0, 3, 0], tau=0), jnp.array([False, True, True]), {})
    assert out.restart.tolist() == [True] * 3
    assert out.cancelled.tolist() == [False, True, True]
    assert not out.blocked.any()


def test_bounded_staleness_cancels_only_over_stale_jobs():
    running = jnp.array([False, True, True])
    out = BoundedStaleness()(_view([0, 3, 2], tau=2), running, {})
    assert out.restart.tolist() == [True, True, False]  # free, and 3 > 2
    assert out.cancelled.tolist() == [False, True, False]


def test_ssp_blocks_free_workers_too_far_ahead():
    running = jnp.array([False, False, True])
    view = _view([0, 0, 1], tau=policies.UNBOUNDED, pushes=(3, 1, 0))
    out = StaleSynchronous()(view, running, {"ssp": jnp.int32(1)})
    # worker 0 is 3 pushes ahead of the slowest (> s = 1): blocked.
    assert out.blocked.tolist() == [True, False, False]
    assert out.restart.tolist() == [False, True, False]


@pytest.mark.parametrize(
    "policy,arrivals,restart",
    [
        (policies.sync(), FirstFinishers, CancelAll),
        (policies.k_sync(2), FirstFinishers, CancelAll),
        (policies.k_async(2, tau=1), FirstFinishers, BoundedStaleness),
        (policies.asynchronous(), FirstFinishers, BoundedStaleness),
        (policies.abs_(1, 1.0), FirstFinishers, BoundedStaleness),
        (policies.k_batch_sync(2), EventLoop, CancelAll),
        (policies.k_batch_async(2), EventLoop, BoundedStaleness),
        (policies.rennala(2), EventLoop, BoundedStaleness),
        (policies.ringmaster(2), EventLoop, BoundedStaleness),
        (policies.ssp(1), FirstFinishers, StaleSynchronous),
        (policies.local_sgd(2), FirstFinishers, CancelAll),
    ],
)
def test_each_policy_chooses_its_mechanics_once(policy, arrivals, restart):
    assert type(policy.arrival_rule()) is arrivals
    assert type(policy.restart_rule()) is restart
    assert policy.arrival_rule() == policy.arrival_rule()  # plain values


def test_a_rule_of_ones_own_replaces_the_base():
    def mine(view, running, numbers):
        return CancelAll()(view, running, numbers)

    policy = policies.custom("k_async", k=2, restart=mine)
    assert policy.restart_rule() is mine
    with pytest.raises(ValueError, match="restart=.*callable"):
        policies.custom("k_async", k=2, restart=3)


def test_a_restart_rule_of_ones_own_runs_in_the_simulator():
    import absjax

    def restart_long_jobs(view, running, numbers):
        out = BoundedStaleness()(view, running, numbers)
        long = running & (view.age > 2 * jnp.nanmedian(view.job_time))
        return out._replace(restart=out.restart | long, cancelled=out.cancelled | long)

    def sim(policy):
        return absjax.Simulator(
            8,
            policy,
            "pareto:scale=0.5,alpha=1.5",
            "quadratic:dim=4",
            rounds=60,
            log_every=10,
        )

    plain = sim(policies.k_async(2)).run(seeds=8, chunk=8)
    mine = sim(policies.custom("k_async", k=2, restart=restart_long_jobs))
    result = mine.run(seeds=8, chunk=8, history=True)
    assert plain.jobs_wasted.sum() == 0  # K-async alone cancels nothing
    assert result.jobs_wasted.sum() > 0  # the long Pareto jobs are abandoned
    infos, _ = result.history
    np.testing.assert_array_equal(infos.cancelled.sum(-1), infos.jobs_wasted)
