"""The Simulator: state, one round's step as a fixed sequence, and the scan.

The engine only wires the pieces together. A round
(``step(key, state, params) -> (state, info)``) is always the same sequence:

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
in float32.

>>> from absjax import delays, objectives, policies
>>> sim = Simulator(4, policies.k_async(2), delays.exponential(1.0),
...                 objectives.quadratic(dim=3), rounds=20, log_every=10)
>>> sim.run(seeds=2).loss.shape
(2, 2)
"""

from __future__ import annotations

import dataclasses
from typing import Any

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
from absjax._vocabulary import UNBOUNDED
from absjax.engine import layout
from absjax.engine import params as params_lib
from absjax.engine.jobs import Jobs, RunKeys, seed_keys
from absjax.engine.state import LogRow, RoundInfo, SimParams, SimState
from absjax.policies.round import Workers
from absjax.results import Result


def _keep_k(view, numbers):
    return view.k


def _keep_tau(view, numbers):
    return view.tau


def _clip_tau(tau):
    return jnp.clip(tau, 0, UNBOUNDED).astype(jnp.int32)


@dataclasses.dataclass(frozen=True, eq=False)
class Simulator:
    """A compiled-once Monte-Carlo simulator of one policy.

    Static structure (the policy's mechanics, ``num_workers``, the objective's
    shapes, ``rounds``, ``log_every``, the laws) is fixed here; numbers (K,
    tau, lr, delay and weight parameters) live in :attr:`params` and may be
    swept with :meth:`run` ``grid=`` without recompiling.

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

    Attributes (chosen once from the policy): ``arrival_rule``,
    ``restart_rule``, ``loss_estimator`` and ``jobs``, the job machinery.
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
        k = self.policy.resolve_k(n)
        self._set("delay", delays_lib.as_delay(self.delay))
        self.delay.check_workers(n)
        self._set("objective", objectives_lib.as_objective(self.objective))
        self.objective.check_workers(n)
        check_real("lr", self.lr, 0.0, strict_low=True)
        check_int("rounds", self.rounds)
        check_int("log_every", self.log_every)
        if self.rounds % self.log_every:
            raise ValueError(
                f"log_every={self.log_every} must divide rounds={self.rounds}"
            )
        self._set("weight", self._resolve_weight())
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
            if self.k_max < k:
                raise ValueError(f"k_max={self.k_max} must be >= the policy's k={k}")
        policy = self.policy
        self._set("arrival_rule", policy.arrival_rule())
        self._set("restart_rule", policy.restart_rule())
        self._set("loss_estimator", policy.loss_estimator())
        self._set("_k_rule", policy.k_rule or _keep_k)
        self._set("_tau_rule", policy.tau_rule or _keep_tau)
        self._set("_server", self.optimizer or optax.identity())
        self._set(
            "jobs",
            Jobs(
                num_workers=n,
                capacity=self.capacity,
                delay=self.delay,
                objective=self.objective,
                weight=self.weight,
                local_steps=policy.local_steps,
                local_duration=policy.local_duration,
                observe_loss=self.loss_estimator.observes_minibatch,
            ),
        )
        self._set("_programs", layout.Programs())

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    def _resolve_weight(self) -> staleness_lib.Weight:
        """The Simulator's weight, the policy's, or constant (never both)."""
        if self.weight is not None and not isinstance(
            self.weight, staleness_lib.Weight
        ):
            raise ValueError(f"weight={self.weight!r} must be a staleness Weight")
        prescribed = self.policy.weight
        if prescribed is None:
            return self.weight or staleness_lib.Constant()
        if self.weight is not None and self.weight != prescribed:
            raise ValueError(
                f"weight={self.weight!r} conflicts with policy "
                f"{self.policy.name!r}, whose weight is {prescribed!r}"
            )
        return prescribed

    # ---------------------------------------------------------------- numbers
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

    @property
    def capacity(self) -> int:
        """Static number of arrivals a round computes: ``k_max`` (default K,
        or N under a K rule)."""
        if self.k_max:
            return self.k_max
        if self.policy.k_rule is not None:
            return self.num_workers
        return self.policy.resolve_k(self.num_workers)

    def check_params(self, params: SimParams) -> None:
        """Raises ``ValueError`` for numbers outside their ranges (eagerly)."""
        params_lib.check_params(self, params)

    @property
    def traces(self) -> int:
        """How many times this simulator's programs were traced (compiled)."""
        return self._programs.traces

    # ------------------------------------------------------------- randomness
    @staticmethod
    def seed_keys(base_key: jax.Array, seed_index) -> RunKeys:
        """The keys of a global seed index (independent of batching)."""
        return seed_keys(base_key, seed_index)

    def job_draws(
        self, seed: int, seed_index: int = 0, params: SimParams | None = None
    ):
        """The randomness of every job of one seed, for replay and testing.

        Returns a function ``draw(r, slot, worker, previous=False) -> (duration,
        sample)``: the job that ``worker`` starts at the end of round ``r``
        (``slot = 0``; ``r = -1`` for the initial jobs at time 0) or as the
        ``slot``-th mid-round restart of round ``r`` (batch policies), exactly
        as :meth:`run` draws it (:mod:`absjax.engine.jobs`). With U local steps
        ``sample`` stacks the U steps' samples. A duration depends on the
        worker's persistent-straggler chain, i.e. on its history: ``previous``
        is the chain state of the worker's previous job (ignored for ``r =
        -1``), and ``draw.slow(r, slot, worker, previous)`` gives the new job's
        state. Without a chain (``markov_slow = 0``, the default) every state
        is ``False``.
        """
        params = self.params if params is None else params
        return self.jobs.draws(seed, seed_index, params)

    # ------------------------------------------------------------- init, step
    def init(self, keys: RunKeys, params: SimParams) -> SimState:
        """All workers pull ``w_0`` at time 0 and start their first job."""
        n = self.num_workers
        speed = self.delay.worker_speeds(keys.speed, params.delay, n)
        w = self.objective.init(params.data)
        remaining, slow = self.jobs.durations(
            keys, -1, 0, params, speed, jnp.arange(n), None
        )
        dtype = remaining.dtype
        loss = self.loss_estimator.initial(self.objective, params.data, w, dtype)
        view = rules_lib.ServerView.initial(n, params.k, params.tau)
        tau = _clip_tau(self._tau_rule(view, params.policy.get("tau_rule", {})))
        return SimState(
            w=w,
            opt_state=self._server.init(w),
            version=jnp.int32(0),
            clock=jnp.zeros((), dtype),
            clock_error=jnp.zeros((), dtype),
            workers=Workers(
                remaining=remaining,
                read=jnp.zeros((n,), jnp.int32),
                slot=jnp.zeros((n,), jnp.int32),
                models=jax.tree.map(lambda p: jnp.broadcast_to(p, (n,) + p.shape), w),
                slow=slow,
                age=jnp.zeros((n,), dtype),
                job_time=jnp.full((n,), jnp.nan, dtype),
            ),
            speed=speed,
            k=jnp.asarray(params.k, jnp.int32),
            tau=tau,
            loss=loss,
            loss0=loss,
            pushes=jnp.zeros((n,), jnp.int32),
            diverged_round=jnp.int32(-1),
        )

    def step(self, keys: RunKeys, state: SimState, params: SimParams):
        """One communication round: arrivals, aggregation, rules, restarts and
        new jobs (see the module docstring)."""
        t, n = state.version, self.num_workers
        arrivals = self.arrival_rule(self.jobs, keys, state, params)
        w, opt_state = self._aggregate(state, arrivals, params)
        finite = jnp.all(
            jnp.array([jnp.all(jnp.isfinite(p)) for p in jax.tree.leaves(w)])
        )
        diverged = (state.diverged_round < 0) & ~finite

        # Wall clock: Kahan-compensated sum of round lengths.
        y = arrivals.duration - state.clock_error
        clock = state.clock + y
        clock_error = (clock - state.clock) - y

        # What the server knows now; K and tau of the next round.
        workers = arrivals.workers
        running = ~arrivals.finished & jnp.isfinite(workers.remaining)
        pushes = state.pushes + arrivals.arrivals
        loss, loss0 = self.loss_estimator(self.objective, state, arrivals, params, w)
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
        view = self._rules(view, params)

        # Restarts on w_{t+1}, and the new jobs' durations.
        restarts = self.restart_rule(view, running, params.policy)
        restart = restarts.restart
        duration, slow = self.jobs.durations(
            keys, t, 0, params, state.speed, jnp.arange(n), workers.slow
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
                read=jnp.where(restart, t + 1, workers.read),
                slot=jnp.where(restart, 0, workers.slot),
                models=jax.tree.map(
                    lambda m, p: jnp.where(restart.reshape((n,) + (1,) * p.ndim), p, m),
                    workers.models,
                    w,
                ),
                slow=slow,
                age=jnp.where(running & ~restart, workers.age, 0.0),
                job_time=workers.job_time,
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
            + arrivals.jobs_discarded,
            jobs_discarded=arrivals.jobs_discarded,
            uploads=arrivals.uploads,
            downloads=arrivals.downloads + started,
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

    def _aggregate(self, state: SimState, arrivals, params: SimParams):
        """``w_{t+1} = w_t - lr * T(sum_i omega_i u_i / Z)`` and T's state."""
        if self.normalization == "count":
            z = arrivals.jobs_aggregated
        else:
            z = arrivals.weight_sum
        z = jnp.where(z > 0, z, 1)  # all weights 0: the weighted sum is 0, no step
        aggregate = jax.tree.map(lambda s: s / z, arrivals.weighted)
        direction, opt_state = self._server.update(aggregate, state.opt_state, state.w)
        w = jax.tree.map(lambda p, d: p - params.lr * d, state.w, direction)
        return w, opt_state

    def _rules(self, view, params: SimParams):
        """The view with K and tau of the next round: the K rule's value
        clipped to ``[1, capacity]``, then the tau rule's (seeing the new K)."""
        numbers = params.policy
        k = self._k_rule(view, numbers.get("k_rule", {}))
        view = view._replace(k=jnp.clip(k, 1, self.capacity).astype(jnp.int32))
        tau = self._tau_rule(view, numbers.get("tau_rule", {}))
        return view._replace(tau=_clip_tau(tau))

    # --------------------------------------------------------------------- run
    def _run_seed(self, base_key, seed_index, params, history: bool):
        keys = self.seed_keys(base_key, seed_index)
        state = self.init(keys, params)
        n = self.num_workers

        def one_round(state, _):
            return self.step(keys, state, params)

        def window(state, _):
            initial = jnp.where(state.version == 0, n, 0)  # the jobs started at 0
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
                jobs_aggregated=infos.jobs_aggregated.sum(),
                uploads=infos.uploads.sum(),
                downloads=infos.downloads.sum() + initial,
                jobs_started=infos.jobs_started.sum() + initial,
                jobs_wasted=infos.jobs_wasted.sum(),
                jobs_discarded=infos.jobs_discarded.sum(),
                idle_time=infos.idle_time.sum(),
                loss_estimate=infos.loss_estimate[-1],
            )
            extra = (infos, state.w) if history else None
            return state, (row, extra)

        num_logs = self.rounds // self.log_every
        state, (rows, extra) = jax.lax.scan(window, state, length=num_logs)
        return rows, extra, state.diverged_round

    def _compiled(self, grid_axes, history: bool, chunk: int, devices: int):
        """The jitted entry point for one grid structure (cached)."""

        def build():
            fn, out_spec = layout.seeds_program(
                self._run_seed, history, chunk, grid_axes
            )
            return fn, out_spec, devices

        key = (layout.grid_key(grid_axes), history, chunk, devices)
        return self._programs.get(key, build)

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
        devices, padded = layout.layout(seeds, seed, seed_offset, chunk)
        params, grid_axes, grid_values = params_lib.prepare(self, params, grid)
        fn = self._compiled(grid_axes, history, chunk, devices)
        seed_indices = jnp.arange(seed_offset, seed_offset + padded, dtype=jnp.uint32)
        out = fn(jax.random.key(seed), seed_indices, params)
        return self._result(out, grid_values, seeds, seed, seed_offset)

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
