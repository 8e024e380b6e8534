"""The engine: simulator state, one round's step, and the jitted run.

The engine only wires the pieces together: a :class:`~absjax.policies.Policy`
decides who arrives, a :class:`~absjax.delays.Delay` times the jobs, an
:class:`~absjax.objectives.Objective` computes their updates, a staleness weight
and an optax transformation form the server step.

A round's data flow (``step(key, state, params) -> (state, info)``):

1. arrivals: the K first finishers (``kth_arrivals``) or, for the batch
   policies, an event loop over the K arrivals in which each finisher restarts
   at once on the current model;
2. aggregation: ``w_{t+1} = w_t - lr * T(sum_i omega(s_i) u_i / Z)`` with
   ``s_i = t - b_i``, ``T`` the server transformation (identity = plain SGD);
3. restarts: the policy's restarts plus, for asynchronous policies, every job
   that would be staler than ``tau`` next round (cancelled, wasted); every
   restarted worker draws a new duration and computes its update from
   ``w_{t+1}``.

Time is kept relative to the current round (``remaining`` per worker); the wall
clock is a Kahan-compensated sum of round lengths, accurate over 10^6 rounds
in float32.

Randomness: a seed's keys are ``RunKeys(speed, delay, batch)``, split from
``fold_in(key(seed), global_seed_index)``. A job started in round ``r`` (``r =
-1`` at time 0) in slot 0 (at the round's end) takes its duration from the block
``sample(fold_in(delay, r + 1), (N,))`` (its worker's entry); the ``j``-th
mid-round restart of a batch policy (slot ``j``) from ``fold_in(fold_in(delay,
r + 1), j)``; and its minibatch from ``fold_in(fold_in(batch, r + 1), slot * N +
worker)``. The delay model gets the jobs' worker indices (``arange(N)`` for a
slot-0 block, the worker for a mid-round restart), which a per-worker
:class:`~absjax.delays.Trace` uses to pick its column. The persistent-straggler
chain (``SimState.slow``, one state per worker) moves at every job start with a
uniform from ``fold_in(job key, delays.CHAIN_STREAM)``, drawn like the durations
(the slot-0 block's entry of the worker, or the restart's own); the initial jobs
draw their state from the chain's stationary law. Keys therefore depend only
on the global seed index, the round, the slot and the worker
(``Simulator.job_draws`` replays them).

>>> from absjax import delays, objectives, policies
>>> sim = Simulator(4, policies.k_async(2), delays.exponential(1.0),
...                 objectives.quadratic(dim=3), rounds=20, log_every=10)
>>> sim.run(seeds=2).loss.shape
(2, 2)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from absjax import delays as delays_lib
from absjax import objectives as objectives_lib
from absjax import policies as policies_lib
from absjax import rules as rules_lib
from absjax import staleness as staleness_lib
from absjax._validate import check_int, check_real
from absjax.results import Result


class SimParams(NamedTuple):
    """The numbers of a simulation: vmappable, never a cause of recompilation."""

    k: jax.Array  # () int32, updates aggregated per round (initial K)
    tau: jax.Array  # () int32, staleness bound (policies.UNBOUNDED for none)
    lr: jax.Array  # () float, server learning rate
    policy: dict  # the policy's other numbers (Policy.numbers): rules, U, ...
    delay: dict  # the Delay model's numbers (Delay.params)
    weight: dict  # the staleness weight's numbers (Weight.params)
    data: dict  # the objective's data set (Objective.data), never gridded


class SimState(NamedTuple):
    """What the parameter server and the workers carry from round to round."""

    w: Any  # model pytree, leaves float
    opt_state: Any  # server optax state
    version: jax.Array  # () int32, aggregations so far (the round index t)
    clock: jax.Array  # () float, wall clock at the end of the last round
    clock_error: jax.Array  # () float, Kahan compensation of `clock`
    remaining: jax.Array  # (num_workers,) float, time to each job's finish
    base: jax.Array  # (num_workers,) int32, model version each job read
    slot: jax.Array  # (num_workers,) int32, each job's slot (0: round end)
    models: Any  # pytree, leaves (num_workers, ...), the model each job read
    speed: jax.Array  # (num_workers,) float, per-worker slowdown factors
    slow: jax.Array  # (num_workers,) bool, straggler-chain state of each job
    k: jax.Array  # () int32, K of the next round
    tau: jax.Array  # () int32, staleness bound in force for the next round
    loss: jax.Array  # () float, the server's loss estimate (nan: none yet)
    loss0: jax.Array  # () float, its first value
    pushes: jax.Array  # (num_workers,) int32, updates aggregated per worker
    job_time: jax.Array  # (num_workers,) float, last finished job's duration
    age: jax.Array  # (num_workers,) float, time since the current job started
    diverged_round: jax.Array  # () int32, first non-finite model's round, -1


class RoundInfo(NamedTuple):
    """Diagnostics of one round; emitted, never carried."""

    duration: jax.Array  # () float, the round's wall-clock length
    k: jax.Array  # () int32, K of this round
    tau: jax.Array  # () int32, bound in force for this round's aggregation
    aggregated: jax.Array  # () int32, updates aggregated
    staleness_sum: jax.Array  # () int32, sum of their staleness
    staleness_max: jax.Array  # () int32, max of their staleness
    started: jax.Array  # () int32, jobs started (mid-round and at its end)
    wasted: jax.Array  # () int32, jobs cancelled or discarded
    discarded: jax.Array  # () int32, arrivals discarded (policy's discard rule)
    uploads: jax.Array  # () int32, updates pushed
    downloads: jax.Array  # () int32, model pulls
    idle: jax.Array  # () float, worker time spent waiting for the round end
    arrivals: jax.Array  # (num_workers,) int32, updates pushed per worker
    arrival_staleness: jax.Array  # (capacity,) int32, per arrival in order, -1 none
    restarted: jax.Array  # (num_workers,) bool, restarted at the round end
    cancelled: jax.Array  # (num_workers,) bool, job abandoned at the round end
    blocked: jax.Array  # (num_workers,) bool, idle after the round (SSP)
    slow: jax.Array  # (num_workers,) bool, chain state of each job after it
    loss_estimate: jax.Array  # () float, the server's loss estimate after it


class RunKeys(NamedTuple):
    """The keys of one seed, from which every job's randomness derives."""

    speed: jax.Array  # per-worker speeds ("random" speeds)
    delay: jax.Array  # durations: fold_in(delay, r + 1) for round r
    batch: jax.Array  # samples: fold_in(fold_in(batch, r + 1), slot * N + i)


class LogRow(NamedTuple):
    """One logged row: window sums/maxima and values at the row's round."""

    round: jax.Array
    clock: jax.Array
    clock_error: jax.Array
    loss: jax.Array
    metric: jax.Array
    k: jax.Array
    tau: jax.Array
    staleness_sum: jax.Array
    staleness_max: jax.Array
    aggregated: jax.Array
    uploads: jax.Array
    downloads: jax.Array
    started: jax.Array
    wasted: jax.Array
    discarded: jax.Array
    idle: jax.Array
    loss_estimate: jax.Array


@dataclasses.dataclass(frozen=True, eq=False)
class Simulator:
    """A compiled-once Monte-Carlo simulator of one policy family.

    Static structure (the policy family, ``num_workers``, the objective's shapes,
    ``rounds``, ``log_every``, the laws) is fixed here; numbers (K, tau, lr,
    delay and weight parameters) live in :attr:`params` and may be swept with
    :meth:`run` ``grid=`` without recompiling.

    Args:
      num_workers: N, number of workers.
      policy: a :class:`~absjax.policies.Policy` (e.g. ``policies.k_async(4, 3)``).
      delay: a :class:`~absjax.delays.Delay`, a bare law or a SPEC string.
      objective: an :class:`~absjax.objectives.Objective` or a SPEC string.
      lr: server learning rate.
      rounds: communication rounds R to simulate.
      log_every: rows are logged at rounds M, 2M, ..., R (M must divide R).
      weight: staleness weight ``omega`` (default: the policy's, else
        constant).
      normalization: ``"count"`` or ``"weight-sum"``.
      optimizer: optax transformation applied to the aggregate before the
        step ``w -= lr * T(aggregate)``; it must not contain the learning rate
        (e.g. ``optax.scale_by_adam()``). ``None`` is plain SGD.
      k_max: static number of arrivals a round can hold (default: the policy's
        K, or N under a K rule); values of K swept with ``grid=`` or ``params``
        must not exceed it, and a K rule's values are clipped to it.
    """

    num_workers: int
    policy: policies_lib.Policy
    delay: Any
    objective: Any
    lr: float = 0.1
    rounds: int = 1000
    log_every: int = 10
    weight: staleness_lib.Weight | None = None
    normalization: str = "count"
    optimizer: optax.GradientTransformation | None = None
    k_max: int | None = None

    def __post_init__(self):
        n = check_int("num_workers", self.num_workers)
        if not isinstance(self.policy, policies_lib.Policy):
            raise ValueError(f"policy={self.policy!r} must be a Policy")
        self.policy.resolve_k(n)
        object.__setattr__(self, "delay", delays_lib.as_delay(self.delay))
        self.delay.check_workers(n)
        object.__setattr__(
            self, "objective", objectives_lib.as_objective(self.objective)
        )
        self.objective.check_workers(n)
        check_real("lr", self.lr, 0.0, strict_low=True)
        check_int("rounds", self.rounds)
        check_int("log_every", self.log_every)
        if self.rounds % self.log_every:
            raise ValueError(
                f"log_every={self.log_every} must divide rounds={self.rounds}"
            )
        if self.weight is not None and not isinstance(
            self.weight, staleness_lib.Weight
        ):
            raise ValueError(f"weight={self.weight!r} must be a staleness Weight")
        if self.policy.weight is not None:
            if self.weight is not None and self.weight != self.policy.weight:
                raise ValueError(
                    f"weight={self.weight!r} conflicts with policy "
                    f"{self.policy.name!r}, whose weight is {self.policy.weight!r}"
                )
            object.__setattr__(self, "weight", self.policy.weight)
        elif self.weight is None:
            object.__setattr__(self, "weight", staleness_lib.Constant())
        staleness_lib.check_normalization(self.normalization)
        if self.optimizer is not None and not isinstance(
            self.optimizer, optax.GradientTransformation
        ):
            raise ValueError(
                f"optimizer={self.optimizer!r} must be an optax "
                "GradientTransformation (e.g. optax.scale_by_adam())"
            )
        if self.k_max is not None:
            check_int("k_max", self.k_max)
            if self.k_max > n:
                raise ValueError(f"k_max={self.k_max} must be in [1, num_workers={n}]")
            if self.k_max < self.policy.resolve_k(n):
                raise ValueError(
                    f"k_max={self.k_max} must be >= the policy's "
                    f"k={self.policy.resolve_k(n)}"
                )
        object.__setattr__(self, "_compiled", {})

    # ------------------------------------------------------------------ params
    @property
    def params(self) -> SimParams:
        """Default numbers, from the constructor's arguments."""
        return SimParams(
            k=jnp.int32(self.policy.resolve_k(self.num_workers)),
            tau=jnp.int32(self.policy.resolve_tau()),
            lr=jnp.asarray(float(self.lr)),
            policy=self.policy.numbers(),
            delay=self.delay.params,
            weight=self.weight.params,
            data=self.objective.data,
        )

    # -------------------------------------------------------------- randomness
    @staticmethod
    def seed_keys(base_key: jax.Array, seed_index) -> RunKeys:
        """The keys of a global seed index (independent of batching)."""
        key_seed = jax.random.fold_in(base_key, seed_index)
        return RunKeys(*jax.random.split(key_seed, 3))

    def _durations(self, keys: RunKeys, r, slot, params, speed, worker, previous):
        """Durations and chain states of jobs started in round ``r`` (``-1``:
        at time 0).

        Slot 0 draws one block for all workers (``speed`` and ``worker =
        arange(N)`` have shape ``(N,)``); mid-round slot ``j`` draws one job
        (``speed`` is that worker's factor, ``worker`` its index).
        ``previous`` holds the workers' chain states at their previous jobs
        (``None`` at time 0: the stationary law).
        """
        key = jax.random.fold_in(keys.delay, r + 1)
        if not (isinstance(slot, int) and slot == 0):
            key = jax.random.fold_in(key, slot)
        policy = self.policy
        slow = self.delay.chain(key, params.delay, jnp.shape(speed), previous)
        duration = self.delay.sample(
            key,
            params.delay,
            speed,
            policy.local_steps,
            policy.local_duration,
            worker=worker,
            slow=slow,
        )
        return duration, slow

    def _sample(self, keys: RunKeys, r, slot, worker, data):
        """The samples of job ``(r, slot, worker)``: one minibatch, or with U
        local steps U stacked ones (step ``j`` from ``fold_in(key, j)``)."""
        key = jax.random.fold_in(keys.batch, r + 1)
        key = jax.random.fold_in(key, slot * self.num_workers + worker)
        steps = self.policy.local_steps
        if steps == 1:
            return self.objective.sample(key, data, worker)
        return jax.vmap(
            lambda j: self.objective.sample(jax.random.fold_in(key, j), data, worker)
        )(jnp.arange(steps))

    def job_draws(
        self, seed: int, seed_index: int = 0, params: SimParams | None = None
    ):
        """The randomness of every job of one seed, for replay and testing.

        Returns a function ``draw(r, slot, worker, previous=False) -> (duration,
        sample)``: the job that ``worker`` starts at the end of round ``r``
        (``slot = 0``; ``r = -1`` for the initial jobs at time 0) or as the
        ``slot``-th mid-round restart of round ``r`` (batch policies), exactly
        as :meth:`run` draws it. With U local steps ``sample`` stacks the U
        steps' samples. A duration depends on the worker's persistent-straggler
        chain, i.e. on its history: ``previous`` is the chain state of the
        worker's previous job (ignored for ``r = -1``), and ``draw.slow(r, slot,
        worker, previous)`` gives the new job's state. Without a chain
        (``markov_slow = 0``, the default) every state is ``False``.
        """
        params = self.params if params is None else params
        keys = self.seed_keys(jax.random.key(seed), seed_index)
        n = self.num_workers
        speed = self.delay.worker_speeds(keys.speed, params.delay, n)

        @functools.cache
        def block(r: int, previous: bool):  # slot 0: all workers at once
            before = None if r == -1 else jnp.full((n,), previous)
            return self._durations(keys, r, 0, params, speed, jnp.arange(n), before)

        @functools.cache
        def single(r: int, slot: int, worker: int, previous: bool):
            before = None if r == -1 else jnp.asarray(previous)
            return self._durations(keys, r, slot, params, speed[worker], worker, before)

        def job(r: int, slot: int, worker: int, previous: bool):
            if slot == 0:
                duration, slow = block(r, bool(previous))
                return duration[worker], slow[worker]
            return single(r, slot, worker, bool(previous))

        def draw(r: int, slot: int, worker: int, previous: bool = False):
            duration = job(r, slot, worker, previous)[0]
            return duration, self._sample(keys, r, slot, worker, params.data)

        draw.slow = lambda r, slot, worker, previous=False: bool(
            job(r, slot, worker, previous)[1]
        )
        return draw

    def _update(self, params, model, samples):
        """A job's update from the model it read, and its first sample's loss.

        With U local steps ``v_{j+1} = v_j - local_lr g(v_j)`` and the update
        is ``sum_j g(v_j)``. The loss is computed only if a rule reads it.
        """
        data, objective = params.data, self.objective
        if self.policy.local_steps == 1:
            update, first = objective.gradient(data, model, samples), samples
        else:
            local_lr = params.policy.get("local_lr", params.lr)  # unset: follows lr

            def local(carry, batch):
                v, total = carry
                g = objective.gradient(data, v, batch)
                v = jax.tree.map(lambda p, d: p - local_lr * d, v, g)
                return (v, jax.tree.map(jnp.add, total, g)), None

            zero = jax.tree.map(jnp.zeros_like, model)
            (_, update), _ = jax.lax.scan(local, (model, zero), samples)
            first = jax.tree.map(lambda x: x[0], samples)
        if self._observes_minibatch:
            loss = objective.batch_loss(data, model, first)
        else:
            loss = jnp.zeros(())
        return update, loss

    def _updates(self, keys, params, models, workers, r, slot):
        """Updates (and losses) of the jobs of ``workers``, from the models read.

        A job's update depends only on the model it read and its samples, so
        it is computed when it arrives (never for cancelled jobs).
        """

        def one(worker, r, slot):
            samples = self._sample(keys, r, slot, worker, params.data)
            model = jax.tree.map(lambda m: m[worker], models)
            return self._update(params, model, samples)

        return jax.vmap(one)(workers, r, slot)

    @property
    def _observes_minibatch(self) -> bool:
        return self.policy.needs_loss and self.policy.loss_estimate == "minibatch"

    @property
    def capacity(self) -> int:
        """Static number of arrivals a round computes: ``k_max`` (default K,
        or N under a K rule)."""
        if self.k_max:
            return self.k_max
        if self.policy.k_rule is not None:
            return self.num_workers
        return self.policy.resolve_k(self.num_workers)

    # -------------------------------------------------------------- init, step
    def init(self, keys: RunKeys, params: SimParams) -> SimState:
        """All workers pull ``w_0`` at time 0 and start their first job."""
        n = self.num_workers
        speed = self.delay.worker_speeds(keys.speed, params.delay, n)
        w = self.objective.init(params.data)
        remaining, slow = self._durations(
            keys, -1, 0, params, speed, jnp.arange(n), None
        )
        opt_state = self.optimizer.init(w) if self.optimizer is not None else ()
        zero = jnp.zeros((), remaining.dtype)
        view = rules_lib.ServerView.initial(n, params.k, params.tau)
        loss = jnp.full((), jnp.nan, remaining.dtype)
        if self.policy.needs_loss and self.policy.loss_estimate == "exact":
            loss = self.objective.loss(params.data, w).astype(remaining.dtype)
        tau = params.tau
        if self.policy.tau_rule is not None:
            tau = self._clip_tau(self.policy.tau_rule(view, params.policy["tau_rule"]))
        return SimState(
            w=w,
            opt_state=opt_state,
            version=jnp.int32(0),
            clock=zero,
            clock_error=zero,
            remaining=remaining,
            base=jnp.zeros((n,), jnp.int32),
            slot=jnp.zeros((n,), jnp.int32),
            models=jax.tree.map(lambda p: jnp.broadcast_to(p, (n,) + p.shape), w),
            speed=speed,
            slow=slow,
            k=jnp.asarray(params.k, jnp.int32),
            tau=jnp.asarray(tau, jnp.int32),
            loss=loss,
            loss0=loss,
            pushes=jnp.zeros((n,), jnp.int32),
            job_time=jnp.full((n,), jnp.nan, remaining.dtype),
            age=jnp.zeros((n,), remaining.dtype),
            diverged_round=jnp.int32(-1),
        )

    @staticmethod
    def _job_round(base, slot):
        """Round in which a job started: slot 0 at the end of round base - 1."""
        return jnp.where(slot == 0, base - 1, base)

    @staticmethod
    def _clip_tau(tau):
        return jnp.clip(tau, 0, policies_lib.UNBOUNDED).astype(jnp.int32)

    def _omega(self, staleness, models, workers, w, params):
        """The staleness weights of the arrivals of ``workers`` (``staleness``'s
        shape), whose jobs read ``models[workers]`` (leaves ``(N, ...)``).

        A weight with ``needs_distance`` (Dutta et al.'s eq.-13 step,
        :class:`~absjax.staleness.Distance`) also gets ``distance2 =
        ||models[workers] - w||^2`` summed over the leaves and the server's
        ``lr``; the others only the staleness (nothing else is computed).
        """
        if not self.weight.needs_distance:
            return self.weight(staleness, params.weight)

        def squared(m, p):
            d = m[workers] - p
            return jnp.sum(d**2, axis=tuple(range(jnp.ndim(staleness), d.ndim)))

        distance2 = sum(jax.tree.leaves(jax.tree.map(squared, models, w)))
        return self.weight(staleness, params.weight, distance2=distance2, lr=params.lr)

    def _kth_round(self, keys, state, params):
        """Non-batch policies: the round ends at the K-th finish."""
        t, cap = state.version, self.capacity
        duration, arrived, first = policies_lib.kth_arrivals(
            state.remaining, state.k, cap
        )  # entries of `first` from K on: masked
        active = jnp.arange(cap) < state.k
        staleness = jnp.where(active, t - state.base[first], 0)
        omega = jnp.where(
            active, self._omega(staleness, state.models, first, state.w, params), 0.0
        )
        updates, losses = self._updates(
            keys,
            params,
            state.models,
            first,
            self._job_round(state.base, state.slot)[first],
            state.slot[first],
        )
        weighted = jax.tree.map(
            lambda g: jnp.sum(
                jnp.where(
                    active.reshape((-1,) + (1,) * (g.ndim - 1)),
                    omega.reshape((-1,) + (1,) * (g.ndim - 1)) * g,
                    0.0,
                ),
                axis=0,
            ),
            updates,
        )
        # Finishers wait for the round's end; blocked workers (SSP, no job:
        # remaining = inf) idle through the whole round.
        blocked = jnp.isinf(state.remaining)
        idle = jnp.sum(jnp.where(arrived, duration - state.remaining, 0.0))
        idle = idle + duration * jnp.sum(blocked)
        return dict(
            duration=duration,
            remaining=state.remaining - duration,
            base=state.base,
            slot=state.slot,
            models=state.models,
            slow=state.slow,
            weighted=weighted,
            count=state.k,
            weight_sum=jnp.sum(omega),
            loss_sum=jnp.sum(jnp.where(active, losses, 0.0)),
            staleness_sum=jnp.sum(staleness),
            staleness_max=jnp.max(staleness),
            arrivals=arrived.astype(jnp.int32),
            arrival_staleness=jnp.where(active, staleness, -1),
            finished=arrived,
            job_time=jnp.where(arrived, state.age + state.remaining, state.job_time),
            age=state.age + duration,
            started=jnp.int32(0),
            downloads=jnp.int32(0),
            discarded=jnp.int32(0),
            uploads=state.k,
            idle=idle,
        )

    def _batch_round(self, keys, state, params):
        """Batch policies: K accepted arrivals, each finisher restarting at once
        on w_t (the K-th at the round end on w_{t+1}).

        An event loop over at most ``capacity`` arrivals (plus N - 1 with a
        discard rule: each worker is discarded at most once a round, for its
        restart is fresh), masked after the K-th accepted one. Event ``j``'s
        restart draws from slot ``j + 1``.
        """
        t, k, n = state.version, state.k, self.num_workers
        discard = self.policy.discard is not None
        threshold = params.policy["discard"] if discard else policies_lib.UNBOUNDED

        def event(j, c):
            active = c["count"] < k
            i = jnp.argmin(c["remaining"])  # first index among ties
            dt = jnp.where(active, c["remaining"][i], 0.0)
            now = c["duration"] + dt
            s = t - c["base"][i]
            accept = active & (s < threshold)
            last = accept & (c["count"] == k - 1)  # the round's K-th accepted
            mid = active & ~last  # this worker restarts at once on w_t
            omega = jnp.where(
                accept, self._omega(s, c["models"], i, state.w, params), 0.0
            )
            update, loss = jax.tree.map(
                lambda g: g[0],
                self._updates(
                    keys,
                    params,
                    c["models"],
                    i[None],
                    self._job_round(c["base"][i], c["slot"][i])[None],
                    c["slot"][i][None],
                ),
            )
            weighted = jax.tree.map(
                lambda a, g: a + jnp.where(accept, omega * g, 0.0),
                c["weighted"],
                update,
            )
            duration, slow = self._durations(
                keys, t, j + 1, params, state.speed[i], i, c["slow"][i]
            )
            remaining = c["remaining"] - dt
            remaining = remaining.at[i].set(jnp.where(mid, duration, remaining[i]))
            models = jax.tree.map(
                lambda m, p: m.at[i].set(jnp.where(mid, p, m[i])), c["models"], state.w
            )
            return dict(
                remaining=remaining,
                base=c["base"].at[i].set(jnp.where(mid, t, c["base"][i])),
                slot=c["slot"].at[i].set(jnp.where(mid, j + 1, c["slot"][i])),
                start=c["start"].at[i].set(jnp.where(mid, now, c["start"][i])),
                models=models,
                slow=c["slow"].at[i].set(jnp.where(mid, slow, c["slow"][i])),
                weighted=weighted,
                count=c["count"] + accept,
                weight_sum=c["weight_sum"] + omega,
                loss_sum=c["loss_sum"] + jnp.where(accept, loss, 0.0),
                staleness_sum=c["staleness_sum"] + jnp.where(accept, s, 0),
                staleness_max=jnp.maximum(c["staleness_max"], jnp.where(accept, s, 0)),
                arrivals=c["arrivals"].at[i].add(accept.astype(jnp.int32)),
                arrival_staleness=c["arrival_staleness"]
                .at[jnp.where(accept, c["count"], self.capacity)]
                .set(s, mode="drop"),
                finished=jnp.where(last, jnp.arange(n) == i, c["finished"]),
                job_time=c["job_time"]
                .at[i]
                .set(jnp.where(active, now - c["start"][i], c["job_time"][i])),
                started=c["started"] + mid,
                downloads=c["downloads"] + (mid & (c["base"][i] != t)),
                discarded=c["discarded"] + (active & ~accept),
                uploads=c["uploads"] + active,
                duration=now,
            )

        dtype = state.remaining.dtype
        init = dict(
            remaining=state.remaining,
            base=state.base,
            slot=state.slot,
            start=-state.age,  # each job's start, relative to the round's start
            models=state.models,
            slow=state.slow,
            weighted=jax.tree.map(jnp.zeros_like, state.w),
            count=jnp.int32(0),
            weight_sum=jnp.zeros((), dtype),
            loss_sum=jnp.zeros((), dtype),
            staleness_sum=jnp.int32(0),
            staleness_max=jnp.int32(0),
            arrivals=jnp.zeros((n,), jnp.int32),
            arrival_staleness=jnp.full((self.capacity,), -1, jnp.int32),
            finished=jnp.zeros((n,), bool),
            job_time=state.job_time,
            started=jnp.int32(0),
            downloads=jnp.int32(0),
            discarded=jnp.int32(0),
            uploads=jnp.int32(0),
            duration=jnp.zeros((), dtype),
        )
        events = self.capacity + (n - 1 if discard else 0)
        out = jax.lax.fori_loop(0, events, event, init)
        out["age"] = out["duration"] - out.pop("start")
        out["idle"] = jnp.zeros((), dtype)
        return out

    def _server_loss(self, state, params, r, w):
        """The loss estimate and its first value after this round."""
        policy = self.policy
        if not policy.needs_loss:
            return state.loss, state.loss0
        if policy.loss_estimate == "exact":  # oracle mode: the true objective
            return self.objective.loss(params.data, w).astype(state.loss.dtype), (
                state.loss0
            )
        mean = r["loss_sum"] / jnp.maximum(r["count"], 1)
        beta = params.policy["loss_decay"]
        first = state.version == 0
        loss = jnp.where(first, mean, (1 - beta) * state.loss + beta * mean)
        return loss, jnp.where(first, mean, state.loss0)

    def step(self, keys: RunKeys, state: SimState, params: SimParams):
        """One communication round: arrivals, aggregation, rules, restarts."""
        t, n, policy = state.version, self.num_workers, self.policy
        if policy.batch:
            r = self._batch_round(keys, state, params)
        else:
            r = self._kth_round(keys, state, params)

        # Aggregation w_{t+1} = w_t - lr * T(sum_i omega_i u_i / Z).
        z = r["count"] if self.normalization == "count" else r["weight_sum"]
        z = jnp.where(z > 0, z, 1)  # all weights 0: the weighted sum is 0, no step
        aggregate = jax.tree.map(lambda s: s / z, r["weighted"])
        if self.optimizer is None:
            direction, opt_state = aggregate, state.opt_state
        else:
            direction, opt_state = self.optimizer.update(
                aggregate, state.opt_state, state.w
            )
        w = jax.tree.map(lambda p, d: p - params.lr * d, state.w, direction)
        finite = jnp.all(
            jnp.array([jnp.all(jnp.isfinite(p)) for p in jax.tree.leaves(w)])
        )
        diverged_round = jnp.where(
            (state.diverged_round < 0) & ~finite, t + 1, state.diverged_round
        )

        # Wall clock: Kahan-compensated sum of round lengths.
        y = r["duration"] - state.clock_error
        clock = state.clock + y
        clock_error = (clock - state.clock) - y

        # What the server knows now, and K and tau of the next round.
        finished = r["finished"]
        running = ~finished & jnp.isfinite(r["remaining"])
        pushes = state.pushes + r["arrivals"]
        loss, loss0 = self._server_loss(state, params, r, w)
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
            job_time=r["job_time"],
            age=jnp.where(running, r["age"], 0.0),
            staleness=jnp.where(running, t + 1 - r["base"], 0),
        )
        k_next, tau_next = state.k, state.tau
        if policy.k_rule is not None:
            k_next = policy.k_rule(view, params.policy["k_rule"])
            k_next = jnp.clip(k_next, 1, self.capacity).astype(jnp.int32)
        if policy.tau_rule is not None:
            view = view._replace(k=k_next)
            tau_next = self._clip_tau(policy.tau_rule(view, params.policy["tau_rule"]))

        # Restarts on w_{t+1}: the policy's, plus over-stale jobs; SSP blocks
        # workers too far ahead of the slowest.
        blocked = jnp.zeros((n,), bool)
        if policy.synchronous:
            restart = jnp.ones((n,), bool)
            cancelled = ~finished
        else:
            over_stale = running & ((t + 1) - r["base"] > tau_next)
            free = ~running  # finished, or blocked before
            if policy.ssp is not None:
                ahead = pushes - jnp.min(pushes) > params.policy["ssp"]
                blocked = free & ahead
            restart = (free & ~blocked) | over_stale
            cancelled = over_stale
        duration, slow = self._durations(
            keys, t, 0, params, state.speed, jnp.arange(n), r["slow"]
        )
        slow = jnp.where(restart, slow, r["slow"])
        models = jax.tree.map(
            lambda m, p: jnp.where(restart.reshape((n,) + (1,) * p.ndim), p, m),
            r["models"],
            w,
        )
        restarts = jnp.sum(restart).astype(jnp.int32)
        remaining = jnp.where(blocked, jnp.inf, r["remaining"])

        new_state = SimState(
            w=w,
            opt_state=opt_state,
            version=t + 1,
            clock=clock,
            clock_error=clock_error,
            remaining=jnp.where(restart, duration, remaining),
            base=jnp.where(restart, t + 1, r["base"]),
            slot=jnp.where(restart, 0, r["slot"]),
            models=models,
            speed=state.speed,
            slow=slow,
            k=k_next,
            tau=tau_next,
            loss=loss,
            loss0=loss0,
            pushes=pushes,
            job_time=r["job_time"],
            age=jnp.where(running & ~restart, r["age"], 0.0),
            diverged_round=diverged_round,
        )
        info = RoundInfo(
            duration=r["duration"],
            k=state.k,
            tau=state.tau,
            aggregated=r["count"],
            staleness_sum=r["staleness_sum"],
            staleness_max=r["staleness_max"],
            started=r["started"] + restarts,
            wasted=jnp.sum(cancelled).astype(jnp.int32) + r["discarded"],
            discarded=r["discarded"],
            uploads=r["uploads"],
            downloads=r["downloads"] + restarts,
            idle=r["idle"],
            arrivals=r["arrivals"],
            arrival_staleness=r["arrival_staleness"],
            restarted=restart,
            cancelled=cancelled,
            blocked=blocked,
            slow=slow,
            loss_estimate=loss,
        )
        return new_state, info

    # --------------------------------------------------------------------- run
    def _run_seed(self, base_key, seed_index, params, history: bool):
        keys = self.seed_keys(base_key, seed_index)
        state = self.init(keys, params)

        def one_round(state, _):
            return self.step(keys, state, params)

        def window(state, _):
            state, infos = jax.lax.scan(one_round, state, length=self.log_every)
            loss = self.objective.loss(params.data, state.w)
            state = state._replace(
                diverged_round=jnp.where(
                    (state.diverged_round < 0)
                    & ~jnp.isfinite(loss)
                    & self.objective.has_loss,
                    state.version,
                    state.diverged_round,
                )
            )
            row = LogRow(
                round=state.version,
                clock=state.clock,
                clock_error=state.clock_error,
                loss=loss,
                metric=self.objective.metric(params.data, state.w),
                k=infos.k[-1],
                tau=infos.tau[-1],
                staleness_sum=infos.staleness_sum.sum(),
                staleness_max=infos.staleness_max.max(),
                aggregated=infos.aggregated.sum(),
                uploads=infos.uploads.sum(),
                downloads=infos.downloads.sum(),
                started=infos.started.sum(),
                wasted=infos.wasted.sum(),
                discarded=infos.discarded.sum(),
                idle=infos.idle.sum(),
                loss_estimate=infos.loss_estimate[-1],
            )
            extra = (infos, state.w) if history else None
            return state, (row, extra)

        num_logs = self.rounds // self.log_every
        state, (rows, extra) = jax.lax.scan(window, state, length=num_logs)
        return rows, extra, state.diverged_round

    def _program(self, grid_axes, history: bool, chunk: int):
        """The seeds program (not jitted) and the layout of its outputs.

        On each device seeds run in vmapped chunks of ``chunk`` (``lax.map``).
        """

        def seeds_fn(base_key, seed_indices, params):
            def one(seed_index):
                return self._run_seed(base_key, seed_index, params, history)

            return jax.lax.map(one, seed_indices, batch_size=chunk)

        if grid_axes is None:
            return seeds_fn, ("seeds",)
        return _map_over_grid(seeds_fn, grid_axes), (None, "seeds")

    def _compiled_run(self, grid_axes, history: bool, chunk: int, devices: int):
        """The jitted entry point for one grid structure (cached)."""
        cache_key = (
            jax.tree.structure(grid_axes),
            tuple(jax.tree.leaves(grid_axes)),
            history,
            chunk,
            devices,
        )
        if cache_key not in self._compiled:
            fn, out_spec = self._program(grid_axes, history, chunk)
            self._compiled[cache_key] = _jit_over_devices(fn, out_spec, devices)
        return self._compiled[cache_key]

    def run(
        self,
        seeds: int = 1,
        seed: int = 0,
        params: SimParams | None = None,
        grid: dict[str, Any] | None = None,
        history: bool = False,
        seed_offset: int = 0,
        chunk: int = 64,
    ) -> Result:
        """Simulates ``seeds`` independent runs and returns a Result.

        Seeds are vmapped in chunks of ``chunk`` lanes inside one compiled
        program, split over the local devices (as many as there are chunks);
        a run of fewer seeds still computes a full chunk (``chunk=1`` is
        fastest for a single seed). A seed's numbers depend on its global index and
        on ``chunk`` only: the same alone, batched or sharded over devices (a
        different ``chunk`` may change float rounding in the last bits).

        Args:
          seeds: number of Monte-Carlo seeds.
          seed: base seed; seed ``i`` uses ``fold_in(key(seed), seed_offset + i)``.
          params: numbers to use instead of :attr:`params`.
          grid: ``{name: values}`` over which to sweep (cartesian product), in
            one compiled program; names are ``k``, ``tau``, ``lr`` or paths into
            the nested numbers such as ``delay.compute.rate``, ``weight.a`` or
            ``policy.k_rule.t0``.
          history: also return per-round diagnostics and the model at each log.
          seed_offset: index of the first seed (for chunked runs).
          chunk: seeds vmapped together; larger uses more memory.
        """
        devices, padded = _layout(seeds, seed, seed_offset, chunk)
        params, grid_axes, grid_values = self._prepare(params, grid)
        fn = self._compiled_run(grid_axes, history, chunk, devices)
        seed_indices = jnp.arange(seed_offset, seed_offset + padded, dtype=jnp.uint32)
        out = fn(jax.random.key(seed), seed_indices, params)
        return self._result(out, grid_values, seeds, seed, seed_offset)

    def _prepare(self, params, grid):
        """Validated numbers (gridded: with a leading axis), the grid's layout."""
        params = self._canonical(self.params if params is None else params)
        if grid:
            return self._grid_params(params, grid)
        self.check_params(params)
        self._check_law_numbers(params, jax.tree.map(lambda _: None, params), 0)
        return params, None, {}

    def _result(self, out, grid_values, seeds, seed, seed_offset) -> Result:
        """The Result of one program output: padding cut, grid unflattened."""
        grid_shape = tuple(len(v) for v in grid_values.values())

        def arrange(x):
            x = np.asarray(x)
            if not grid_shape:
                return x[:seeds]
            return x[:, :seeds].reshape(grid_shape + (seeds,) + x.shape[2:])

        rows, extra, diverged = jax.tree.map(arrange, out)
        return Result.from_rows(
            rows,
            np.asarray(diverged),
            num_workers=self.num_workers,
            policy=self.policy.name,
            grid=grid_values,
            grid_shape=grid_shape,
            seeds=np.arange(seed_offset, seed_offset + seeds),
            seed=seed,
            metric_name=self.objective.metric_name or None,
            history=extra,
        )

    # ------------------------------------------------------------- validation
    def _canonical(self, params: SimParams) -> SimParams:
        """``params`` with the default structure, scalar leaves and dtypes.

        Every leaf becomes a strongly typed array of the default's dtype, so a
        Python float, ``np.float64`` or ``jnp.float32`` never causes a new
        compilation.
        """
        default = self.params
        if not isinstance(params, SimParams):
            raise ValueError(
                f"params must be a SimParams (see Simulator.params), "
                f"got {type(params).__name__}"
            )
        if jax.tree.structure(params) != jax.tree.structure(default):
            raise ValueError(
                "params must have the structure of Simulator.params "
                "(same delay, weight and data entries)"
            )

        def cast(name, d, x):
            x = np.asarray(x) if not isinstance(x, jax.Array) else x
            if jnp.shape(x) != jnp.shape(d):
                raise ValueError(
                    f"params.{name} has shape {jnp.shape(x)}; expected "
                    f"{jnp.shape(d)} (use grid= to sweep values)"
                )
            return jnp.asarray(x, jnp.dtype(d.dtype))

        return jax.tree.map_with_path(
            lambda path, d, x: cast(jax.tree_util.keystr(path), d, x), default, params
        )

    def check_params(self, params: SimParams) -> None:
        """Raises ``ValueError`` for numbers outside their ranges (eagerly)."""
        n = self.num_workers
        k = np.asarray(params.k)
        if np.any(k < 1) or np.any(k > n) or not np.issubdtype(k.dtype, np.integer):
            raise ValueError(f"k={k.tolist()} must be integers in [1, num_workers={n}]")
        if np.any(k > self.capacity):
            raise ValueError(
                f"k={k.tolist()} exceeds k_max={self.capacity}, the "
                "arrivals per round this simulator was built for; "
                "build it with a larger k_max"
            )
        tau = np.asarray(params.tau)
        if np.any(tau < 0) or not np.issubdtype(tau.dtype, np.integer):
            raise ValueError(f"tau={tau.tolist()} must be integers >= 0")
        if self.policy.synchronous and np.any(tau != policies_lib.UNBOUNDED):
            raise ValueError(
                f"tau is a staleness bound; policy {self.policy.name!r} "
                "is synchronous: leave tau unset"
            )
        if self.policy.base in ("sync", "async"):
            fixed = n if self.policy.base == "sync" else 1
            if np.any(k != fixed):
                raise ValueError(f"policy {self.policy.name!r} fixes k={fixed}")
        _check_positive("lr", params.lr)
        numbers = params.policy
        for which, low, high in (
            ("k_rule", 1, self.capacity),
            ("tau_rule", 0, policies_lib.UNBOUNDED),
        ):
            rule = getattr(self.policy, which)
            if rule is not None:
                rule.check(numbers[which], low, high)
        if "local_lr" in numbers:
            _check_positive("local_lr", numbers["local_lr"])
        if "loss_decay" in numbers:
            beta = np.asarray(numbers["loss_decay"])
            if not np.all((beta > 0) & (beta <= 1)):
                raise ValueError(f"loss_decay={beta.tolist()} must be in (0, 1]")
        for name, low in (("ssp", 0), ("discard", 1)):
            if name in numbers and np.any(np.asarray(numbers[name]) < low):
                value = np.asarray(numbers[name]).tolist()
                raise ValueError(f"{name}={value} must be integers >= {low}")

    def _grid_params(self, params: SimParams, grid: dict[str, Any]):
        """Cartesian product of the grid values as params with a leading axis."""
        names = list(grid)
        values = {name: _grid_column(name, grid[name]) for name in names}
        for name, v in values.items():
            if v.ndim != 1 or v.size == 0:
                raise ValueError(f"grid[{name!r}] must be a non-empty 1-D sequence")
        mesh = np.meshgrid(*values.values(), indexing="ij")
        flat = {name: m.reshape(-1) for name, m in zip(names, mesh, strict=True)}
        tree = params._asdict()
        axes = jax.tree.map(lambda _: None, tree)
        for name, column in flat.items():
            path = name.split(".")
            if path[0] == "data":
                raise ValueError("the objective's data set cannot be gridded")
            node, axes_node = tree, axes
            for part in path[:-1]:
                if not isinstance(node, dict) or part not in node:
                    raise ValueError(f"grid name {name!r} is not a parameter")
                node, axes_node = node[part], axes_node[part]
            leaf = path[-1]
            if not isinstance(node, dict) or leaf not in node:
                raise ValueError(
                    f"grid name {name!r} is not a parameter; known: "
                    "k, tau, lr, policy.*, delay.*, weight.*"
                )
            old = node[leaf]
            if isinstance(old, dict):
                raise ValueError(f"grid name {name!r} names a group, not a number")
            if np.ndim(old):
                raise ValueError(
                    f"grid name {name!r} names an array (trace data), not a "
                    "number: it cannot be gridded"
                )
            dtype = np.asarray(old).dtype
            if np.issubdtype(dtype, np.integer) and not np.all(
                column == np.round(column)
            ):
                raise ValueError(f"grid[{name!r}] must hold integers")
            node[leaf] = jnp.asarray(column.astype(dtype))
            axes_node[leaf] = 0
        gridded = SimParams(**tree)
        for g in range(len(next(iter(flat.values())))):
            self.check_params(
                jax.tree.map(
                    lambda x, a, g=g: x if a is None else x[g],
                    gridded,
                    SimParams(**axes),
                    is_leaf=lambda x: x is None,
                )
            )
            self._check_law_numbers(gridded, SimParams(**axes), g)
        return gridded, SimParams(**axes), values

    def _check_law_numbers(self, gridded, axes, g) -> None:
        """Rebuilds the delay/weight objects with grid point g to validate them."""

        def pick(tree, axes_tree):
            return jax.tree.map(
                lambda x, a: x if a is None else x[g],
                tree,
                axes_tree,
                is_leaf=lambda x: x is None,
            )

        delay = pick(gridded.delay, axes.delay)
        for name in ("compute", "upload", "download"):
            law = getattr(self.delay, name)
            if law is not None:
                law.check(delay[name])
        delays_lib.Delay(
            self.delay.compute,
            **{
                name: float(delay[name])
                for name in (
                    "straggler_prob",
                    "straggler_factor",
                    "speed_spread",
                    "markov_slow",
                    "markov_recover",
                    "markov_factor",
                )
            },
        )
        weight = pick(gridded.weight, axes.weight)
        type(self.weight)(**{k: float(v) for k, v in weight.items()})


@dataclasses.dataclass(frozen=True, eq=False)
class Ensemble:
    """Several simulators (policies, learning rates, ...) as one program.

    A comparison of policies compiles once: every member's seeds program is
    traced into one jitted function, which runs them one after the other over
    the same seeds (sharded over the local devices like
    :meth:`Simulator.run`). Members may differ in anything (policy, weight,
    optimizer, even N); each member's numbers are bit-identical to its own
    :meth:`Simulator.run` with the same ``chunk``.

    >>> from absjax import delays, objectives, policies
    >>> sims = [
    ...     Simulator(4, p, delays.exponential(1.0), objectives.quadratic(dim=3),
    ...               rounds=20, log_every=10)
    ...     for p in (policies.sync(), policies.k_async(2), policies.ssp(1))
    ... ]
    >>> [r.policy for r in Ensemble(sims).run(seeds=2)]
    ['sync', 'k_async', 'ssp']
    """

    simulators: tuple[Simulator, ...]

    def __post_init__(self):
        sims = tuple(self.simulators)
        if not sims or not all(isinstance(s, Simulator) for s in sims):
            raise ValueError("simulators must be a non-empty sequence of Simulator")
        object.__setattr__(self, "simulators", sims)
        object.__setattr__(self, "_compiled", {})

    def run(
        self,
        seeds: int = 1,
        seed: int = 0,
        params: Sequence[SimParams | None] | None = None,
        grids: Sequence[dict[str, Any] | None] | None = None,
        history: bool = False,
        seed_offset: int = 0,
        chunk: int = 64,
    ) -> list[Result]:
        """Runs every member over the same seeds; one Result per member.

        ``params`` and ``grids`` hold one entry per member (``None``: its
        defaults, no grid), as in :meth:`Simulator.run`.
        """
        m = len(self.simulators)
        params = [None] * m if params is None else list(params)
        grids = [None] * m if grids is None else list(grids)
        if len(params) != m or len(grids) != m:
            raise ValueError(f"params and grids must have one entry per member ({m})")
        devices, padded = _layout(seeds, seed, seed_offset, chunk)
        prepared = [
            sim._prepare(p, g)
            for sim, p, g in zip(self.simulators, params, grids, strict=True)
        ]
        layout = tuple(
            (jax.tree.structure(axes), tuple(jax.tree.leaves(axes)))
            for _, axes, _ in prepared
        )
        cache_key = (layout, history, chunk, devices)
        if cache_key not in self._compiled:
            programs = [
                sim._program(axes, history, chunk)
                for sim, (_, axes, _) in zip(self.simulators, prepared, strict=True)
            ]

            def fn(base_key, seed_indices, params):
                return tuple(
                    program(base_key, seed_indices, p)
                    for (program, _), p in zip(programs, params, strict=True)
                )

            out_spec = tuple(spec for _, spec in programs)
            self._compiled[cache_key] = _jit_over_devices(fn, out_spec, devices)
        seed_indices = jnp.arange(seed_offset, seed_offset + padded, dtype=jnp.uint32)
        outs = self._compiled[cache_key](
            jax.random.key(seed), seed_indices, tuple(p for p, _, _ in prepared)
        )
        return [
            sim._result(out, values, seeds, seed, seed_offset)
            for sim, out, (_, _, values) in zip(
                self.simulators, outs, prepared, strict=True
            )
        ]


def _layout(seeds: int, seed: int, seed_offset: int, chunk: int):
    """Validates the seed arguments; the devices used and the padded seeds.

    Every seed is computed in a vmapped batch of exactly ``chunk`` lanes on one
    of the local devices, whatever the number of seeds: XLA may sum in another
    order for another batch width, so a fixed width is what makes a seed's
    numbers identical alone, batched, chunked or sharded. Padding lanes are cut
    off; keys depend only on the global seed index.
    """
    check_int("seeds", seeds)
    check_int("seed", seed, low=0)
    check_int("seed_offset", seed_offset, low=0)
    check_int("chunk", chunk)
    if seed >= 2**32 or seed_offset + seeds > 2**32:
        raise ValueError(
            f"seed={seed} must be < 2**32 and seed_offset + seeds="
            f"{seed_offset + seeds} <= 2**32 (seed indices are uint32)"
        )
    devices = min(jax.local_device_count(), -(-seeds // chunk))
    per_device = -(-seeds // (devices * chunk)) * chunk
    return devices, per_device * devices


def _jit_over_devices(fn, out_spec, devices: int):
    """``jax.jit(fn)``, with the seeds axis split over ``devices`` devices.

    ``fn(base_key, seed_indices, params)``; ``out_spec`` names the seeds axis
    of each output (a tuple, or a tuple of them for several outputs).
    """
    if devices > 1:
        mesh = jax.sharding.Mesh(np.array(jax.devices()[:devices]), ("seeds",))
        spec = jax.sharding.PartitionSpec
        if isinstance(out_spec[0], tuple):
            out_specs = tuple(spec(*s) for s in out_spec)
        else:
            out_specs = spec(*out_spec)
        fn = jax.shard_map(
            fn,
            mesh=mesh,
            in_specs=(spec(), spec("seeds"), spec()),
            out_specs=out_specs,
            check_vma=False,
        )
    return jax.jit(fn)


def _check_positive(name: str, value) -> None:
    value = np.asarray(value)
    if not np.all(np.isfinite(value)) or np.any(value <= 0):
        raise ValueError(f"{name}={value.tolist()} must be in (0, inf)")


def _grid_column(name: str, values) -> np.ndarray:
    """One grid axis as an array; ``tau`` may hold ``None``/``inf`` (unbounded)."""
    if name == "tau":
        values = [
            policies_lib.UNBOUNDED if v is None or v == np.inf else v
            for v in np.atleast_1d(np.asarray(values, dtype=object))
        ]
    try:
        return np.asarray(values, dtype=float if name != "tau" else None)
    except (TypeError, ValueError):
        raise ValueError(f"grid[{name!r}] must hold numbers, got {values!r}") from None


def _map_over_grid(seeds_fn, grid_axes):
    """Runs ``seeds_fn`` for each grid point in turn (``lax.map``).

    Grid points run one after the other, each with the same chunked seed
    program, so a grid point's numbers are bit-identical to a single run with
    those parameters; the leaves not gridded (the data set) are not copied.
    """

    def fn(base_key, seed_indices, params):
        leaves, treedef = jax.tree.flatten(params)
        axes = treedef.flatten_up_to(grid_axes)
        gridded = [leaf for leaf, axis in zip(leaves, axes, strict=True) if axis == 0]

        def one_point(point):
            point = iter(point)
            merged = [
                next(point) if axis == 0 else leaf
                for leaf, axis in zip(leaves, axes, strict=True)
            ]
            return seeds_fn(base_key, seed_indices, treedef.unflatten(merged))

        return jax.lax.map(one_point, gridded)

    return fn
