"""One round as a fixed sequence, the first state, and the scan over rounds.

``step(sim, keys, state, params) -> (state, info)`` is always the same five
stages, whatever the policy (its mechanics were chosen when ``sim`` was built):

1. **arrivals**: the policy's arrival rule says when the round ends and what
   reached the server (:class:`~absjax.policies.FirstFinishers` or
   :class:`~absjax.policies.EventLoop`);
2. **aggregation**: ``w_{t+1} = w_t - lr * T(sum_i omega(s_i) u_i / Z)`` with
   ``s_i = t - b_i``, ``T`` the server transformation (identity: plain SGD);
3. **rules**: the server's loss estimate, then the K rule and the tau rule
   (:mod:`absjax.rules`) see what the server knows (a ``ServerView``);
4. **restarts**: the policy's restart rule says who starts a new job on
   ``w_{t+1}``, which jobs are cancelled and who is blocked
   (:mod:`absjax.policies.restarts`);
5. **new jobs**: every restarted worker draws a new duration
   (:mod:`absjax.engine.jobs`, the reproducible key schedule).

Time is kept relative to the current round (``remaining`` per worker); the wall
clock is a Kahan-compensated sum of round lengths, accurate over 10^6 rounds
in float32. ``run_seed`` scans windows of ``log_every`` rounds and logs one
:class:`~absjax.engine.state.LogRow` per window.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from absjax import rules as rules_lib
from absjax._vocabulary import UNBOUNDED
from absjax.engine.jobs import RunKeys, seed_keys
from absjax.engine.state import LogRow, RoundInfo, SimParams, SimState
from absjax.policies.round import Workers


def keep_k(view, numbers):
    """The K rule of a policy without one: K stays."""
    return view.k


def keep_tau(view, numbers):
    """The tau rule of a policy without one: tau stays."""
    return view.tau


def _clip_tau(tau):
    return jnp.clip(tau, 0, UNBOUNDED).astype(jnp.int32)


def init(sim, keys: RunKeys, params: SimParams) -> SimState:
    """All workers pull ``w_0`` at time 0 and start their first job."""
    n = sim.num_workers
    speed = sim.delay.worker_speeds(keys.speed, params.delay, n)
    w = sim.objective.init(params.data)
    first = jnp.zeros((n,), jnp.int32)
    remaining, slow = sim.jobs.durations(
        keys, -1, 0, params, speed, jnp.arange(n), None, first
    )
    startup = sim.delay.startup_times(keys.speed, params.delay, n)
    if startup is not None:  # the first updates arrive after the start-up
        remaining = remaining + startup.astype(remaining.dtype)
    dtype = remaining.dtype
    loss = sim.loss_estimator.initial(sim.objective, params.data, w, dtype)
    view = rules_lib.ServerView.initial(n, params.k, params.tau)
    tau = _clip_tau(sim._tau_rule(view, params.policy.get("tau_rule", {})))
    return SimState(
        w=w,
        opt_state=sim._server.init(w),
        version=jnp.int32(0),
        clock=jnp.zeros((), dtype),
        clock_error=jnp.zeros((), dtype),
        workers=Workers(
            remaining=remaining,
            read=jnp.zeros((n,), jnp.int32),
            slot=jnp.zeros((n,), jnp.int32),
            models=sim.jobs.store.init(w, n),
            slow=slow,
            age=jnp.zeros((n,), dtype),
            job_time=jnp.full((n,), jnp.nan, dtype),
            job=first,
        ),
        speed=speed,
        k=jnp.asarray(params.k, jnp.int32),
        tau=tau,
        loss=loss,
        loss0=loss,
        pushes=jnp.zeros((n,), jnp.int32),
        diverged_round=jnp.int32(-1),
    )


def step(sim, keys: RunKeys, state: SimState, params: SimParams):
    """One communication round: arrivals, aggregation, rules, restarts and
    new jobs (see the module docstring)."""
    t, n = state.version, sim.num_workers
    arrivals = sim.arrival_rule(sim.jobs, keys, state, params)
    w, opt_state = aggregate(sim, state, arrivals, params)
    finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(p)) for p in jax.tree.leaves(w)]))
    diverged = (state.diverged_round < 0) & ~finite

    # Wall clock: Kahan-compensated sum of round lengths.
    y = arrivals.duration - state.clock_error
    clock = state.clock + y
    clock_error = (clock - state.clock) - y
    # A round that never ends (a stopped replay) leaves the clock at inf.
    clock_error = jnp.where(jnp.isfinite(clock), clock_error, 0.0)

    # What the server knows now; K and tau of the next round.
    workers = arrivals.workers
    running = ~arrivals.finished & jnp.isfinite(workers.remaining)
    pushes = state.pushes + arrivals.arrivals
    loss, loss0 = sim.loss_estimator(sim.objective, state, arrivals, params, w)
    view = rules_lib.ServerView(
        round=t + 1,
        clock=clock - clock_error,
        last_clock=state.clock - state.clock_error,
        k=state.k,
        tau=state.tau,
        k0=params.k,
        tau0=params.tau,
        loss=loss,
        loss0=loss0,
        pushes=pushes,
        job_time=workers.job_time,
        age=jnp.where(running, workers.age, 0.0),
        staleness=jnp.where(running, t + 1 - workers.read, 0),
    )
    view = apply_rules(sim, view, params)

    # Restarts on w_{t+1}, and the new jobs' durations.
    restarts = sim.restart_rule(view, running, params.policy)
    restart = restarts.restart
    # read="before": an arriver is handed w_t, the model when it arrived.
    handed_old = restart & arrivals.finished if sim.read == "before" else None
    number = workers.job + 1
    duration, slow = sim.jobs.durations(
        keys, t, 0, params, state.speed, jnp.arange(n), workers.slow, number
    )
    slow = jnp.where(restart, slow, workers.slow)
    remaining = jnp.where(restarts.blocked, jnp.inf, workers.remaining)
    started = jnp.sum(restart).astype(jnp.int32)
    new_state = SimState(
        w=w,
        opt_state=opt_state,
        version=t + 1,
        clock=clock,
        clock_error=clock_error,
        workers=Workers(
            remaining=jnp.where(restart, duration, remaining),
            read=_restart_read(restart, handed_old, t, workers.read),
            slot=_restart_slot(restart, handed_old, workers.slot),
            models=_restart_models(sim, workers.models, restart, handed_old, state, w),
            slow=slow,
            age=jnp.where(running & ~restart, workers.age, 0.0),
            job_time=workers.job_time,
            job=jnp.where(restart, number, workers.job),
        ),
        speed=state.speed,
        k=view.k,
        tau=view.tau,
        loss=loss,
        loss0=loss0,
        pushes=pushes,
        diverged_round=jnp.where(diverged, t + 1, state.diverged_round),
    )
    info = RoundInfo(
        duration=arrivals.duration,
        k=state.k,
        tau=state.tau,
        jobs_aggregated=arrivals.jobs_aggregated,
        staleness_sum=arrivals.staleness_sum,
        staleness_max=arrivals.staleness_max,
        jobs_started=arrivals.jobs_started + started,
        jobs_wasted=jnp.sum(restarts.cancelled).astype(jnp.int32)
        + arrivals.jobs_discarded
        + arrivals.jobs_dropped,
        jobs_discarded=arrivals.jobs_discarded,
        jobs_dropped=arrivals.jobs_dropped,
        uploads=arrivals.uploads,
        downloads=arrivals.downloads + started - _repeated(handed_old, workers, t),
        idle_time=arrivals.idle_time,
        arrivals=arrivals.arrivals,
        arrival_staleness=arrivals.arrival_staleness,
        restarted=restart,
        cancelled=restarts.cancelled,
        blocked=restarts.blocked,
        slow=slow,
        loss_estimate=loss,
    )
    return new_state, info


def _restart_read(restart, handed_old, t, read):
    """The versions that the workers' jobs read after the round's restarts."""
    if handed_old is None:
        return jnp.where(restart, t + 1, read)
    return jnp.where(restart, jnp.where(handed_old, t, t + 1), read)


def _restart_slot(restart, handed_old, slot):
    """Slot 0 for a round-end start; ``-1`` for one on ``w_t`` (``read=
    "before"``), whose round is then its read version, not the one before."""
    if handed_old is None:
        return jnp.where(restart, 0, slot)
    return jnp.where(restart, jnp.where(handed_old, -1, 0), slot)


def _restart_models(sim, models, restart, handed_old, state, w):
    """The store after the restarts on ``w_{t+1}`` (and, under ``read=
    "before"``, the arrivers' on ``w_t``)."""
    store = sim.jobs.store
    if handed_old is None:
        return store.restart(models, restart, w, state.version + 1)
    models = store.restart(models, restart & ~handed_old, w, state.version + 1)
    return store.restart(models, handed_old, state.w, state.version)


def _repeated(handed_old, workers, t):
    """Restarts on the very version the worker already holds: no download."""
    if handed_old is None:
        return 0
    return jnp.sum(handed_old & (workers.read == t)).astype(jnp.int32)


def aggregate(sim, state: SimState, arrivals, params: SimParams):
    """``w_{t+1} = w_t - lr * T(sum_i omega_i u_i / Z)`` and T's state."""
    if sim.normalization == "count":
        z = arrivals.jobs_aggregated
    else:
        z = arrivals.weight_sum
    z = jnp.where(z > 0, z, 1)  # all weights 0: the weighted sum is 0, no step
    # Every model leaf keeps its dtype (a float32 objective under jax_enable_x64
    # meets float64 weights and lr).
    aggregate = jax.tree.map(
        lambda s, p: (s / z).astype(p.dtype), arrivals.weighted, state.w
    )
    direction, opt_state = sim._server.update(aggregate, state.opt_state, state.w)
    w = jax.tree.map(
        lambda p, d: p - (params.lr * d).astype(p.dtype), state.w, direction
    )
    return w, opt_state


def apply_rules(sim, view, params: SimParams):
    """The view with K and tau of the next round: the K rule's value
    clipped to ``[1, capacity]``, then the tau rule's (seeing the new K)."""
    numbers = params.policy
    k = sim._k_rule(view, numbers.get("k_rule", {}))
    view = view._replace(k=jnp.clip(k, 1, sim.capacity).astype(jnp.int32))
    tau = sim._tau_rule(view, numbers.get("tau_rule", {}))
    return view._replace(tau=_clip_tau(tau))


def run_seed(sim, base_key, seed_index, params, history: bool):
    keys = seed_keys(base_key, seed_index)
    state = init(sim, keys, params)
    n = sim.num_workers

    def one_round(state, _):
        return step(sim, keys, state, params)

    def window(state, _):
        initial = jnp.where(state.version == 0, n, 0)  # the jobs started at 0
        state, infos = jax.lax.scan(one_round, state, length=sim.log_every)
        loss = sim.objective.loss(params.data, state.w)
        state = state._replace(
            diverged_round=jnp.where(
                (state.diverged_round < 0)
                & ~jnp.isfinite(loss)
                & sim.objective.has_loss,
                state.version,
                state.diverged_round,
            )
        )
        row = LogRow(
            round=state.version,
            clock=state.clock,
            clock_error=state.clock_error,
            loss=loss,
            metric=sim.objective.metric(params.data, state.w),
            k=infos.k[-1],
            tau=infos.tau[-1],
            staleness_sum=infos.staleness_sum.sum(),
            staleness_max=infos.staleness_max.max(),
            jobs_aggregated=infos.jobs_aggregated.sum(),
            uploads=infos.uploads.sum(),
            downloads=infos.downloads.sum() + initial,
            jobs_started=infos.jobs_started.sum() + initial,
            jobs_wasted=infos.jobs_wasted.sum(),
            jobs_discarded=infos.jobs_discarded.sum(),
            jobs_dropped=infos.jobs_dropped.sum(),
            idle_time=infos.idle_time.sum(),
            loss_estimate=infos.loss_estimate[-1],
        )
        extra = (infos, state.w) if history else None
        return state, (row, extra)

    num_logs = sim.rounds // sim.log_every
    state, (rows, extra) = jax.lax.scan(window, state, length=num_logs)
    return rows, extra, state.diverged_round
