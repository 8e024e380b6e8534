"""The Simulator: built once from a policy, run over seeds and grids.

The engine only wires the pieces together: a Simulator chooses the policy's
mechanics once (:mod:`absjax.policies`), holds the job machinery
(:mod:`absjax.engine.jobs`), and runs :func:`absjax.engine.step.step` in a
scan over rounds, vmapped over seeds in fixed-width chunks and sharded over
the local devices (:mod:`absjax.engine.layout`).

>>> from absjax import delays, objectives, policies
>>> sim = Simulator(4, policies.k_async(2), delays.exponential(1.0),
...                 objectives.quadratic(dim=3), rounds=20, log_every=10)
>>> sim.run(seeds=2).loss.shape
(2, 2)
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from absjax import delays as delays_lib
from absjax import objectives as objectives_lib
from absjax import policies as policies_lib
from absjax import staleness as staleness_lib
from absjax._validate import check_int, check_real
from absjax._version import __version__
from absjax.delays.replay import warn_trace_end
from absjax.engine import layout, memory
from absjax.engine import models as models_lib
from absjax.engine import params as params_lib
from absjax.engine import step as step_lib
from absjax.engine.jobs import Jobs, RunKeys, root_key, seed_keys
from absjax.engine.state import SimParams, SimState
from absjax.protocols import StalenessWeight, check_fits
from absjax.results import Result

READ_ORDERS = ("after", "before")


@dataclasses.dataclass(frozen=True, eq=False)
class Simulator:
    """A compiled-once Monte-Carlo simulator of one policy.

    Static structure (the policy's mechanics, ``num_workers``, the objective's
    shapes, ``rounds``, ``log_every``, the laws) is fixed here; numbers (K,
    tau, lr, delay and weight parameters) live in :attr:`params` and may be
    swept with :meth:`run` ``grid=`` without recompiling.

    Parameters
    ----------
    num_workers : int
        N, number of workers.
    policy : ~absjax.policies.Policy
        A :class:`~absjax.policies.Policy` (e.g. ``policies.k_async(4, 3)``).
    delay : ~absjax.Delay or ~absjax.delays.Law or str
        A :class:`~absjax.delays.Delay`, a bare law or a SPEC string.
    objective : ~absjax.objectives.Objective or str
        An :class:`~absjax.objectives.Objective` or a SPEC string.
    lr : float, default 0.1
        Server learning rate.
    rounds : int, default 1000
        Communication rounds R to simulate.
    log_every : int, default 10
        Rows are logged at rounds M, 2M, ..., R (M must divide R).
    weight : ~absjax.staleness.Weight, optional
        Staleness weight ``omega`` (default: the policy's, else constant).
    normalization : {"count", "weight-sum"}
        How the weighted sum of the arrivals is normalised.
    optimizer : optax.GradientTransformation, optional
        Transformation applied to the aggregate before the step
        ``w -= lr * T(aggregate)``; it must not contain the learning rate
        (e.g. ``optax.scale_by_adam()``). ``None`` is plain SGD.
    k_max : int, optional
        Static number of arrivals a round can hold (default: the policy's K,
        or N under a K rule); values of K swept with ``grid=`` or ``params``
        must not exceed it, and a K rule's values are clipped to it.
    read : {"after", "before"}, default "after"
        When a worker whose update was aggregated reads its next model:
        ``"after"`` its round's aggregation (``w_{t+1}``), or ``"before"`` it
        (``w_t``, the model when its update arrived: a server that dispatches
        before it applies; that job's staleness is one more).

    Attributes
    ----------
    arrival_rule, restart_rule, loss_estimator, jobs
        Chosen once from the policy: the arrival and restart rules, what the
        server knows of the loss, and the job machinery
        (:class:`~absjax.engine.Jobs`).

    Raises
    ------
    ValueError
        If an argument is outside its allowed range (checked here, before
        anything compiles).

    Examples
    --------
    >>> from absjax import Simulator, policies
    >>> sim = Simulator(4, policies.k_async(2), "exp:rate=1", "quadratic:dim=3",
    ...                 rounds=20, log_every=10)
    >>> result = sim.run(seeds=2, chunk=2)
    >>> result.loss.shape
    (2, 2)
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
    read: str = "after"

    def __post_init__(self):
        n = check_int("num_workers", self.num_workers)
        if not isinstance(self.policy, policies_lib.Policy):
            raise ValueError(f"policy={self.policy!r} must be a Policy")
        k = self.policy.resolve_k(n)
        self._set("delay", delays_lib.as_delay(self.delay))
        self.delay.check_workers(n)
        check_int("rounds", self.rounds)
        self.delay.check_rounds(
            self.rounds,
            k,
            self.policy.base in ("sync", "k_sync")
            and self.policy.arrivals is None
            and self.policy.restart is None,
            self.policy.local_steps if self.policy.local_duration == "sum" else 1,
        )
        self._set("objective", objectives_lib.as_objective(self.objective))
        self.objective.check_workers(n)
        check_real("lr", self.lr, 0.0, strict_low=True)
        check_int("log_every", self.log_every)
        if self.rounds % self.log_every:
            raise ValueError(
                f"log_every={self.log_every} must divide rounds={self.rounds}"
            )
        self._set("weight", self._resolve_weight())
        staleness_lib.check_normalization(self.normalization)
        if self.read not in READ_ORDERS:
            raise ValueError(f"read={self.read!r} must be one of {READ_ORDERS}")
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
        self._set("_k_rule", policy.k_rule or step_lib.keep_k)
        self._set("_tau_rule", policy.tau_rule or step_lib.keep_tau)
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
                store=models_lib.store_for(policy, n, self.read),
            ),
        )
        self._set("_programs", layout.Programs())
        self._set("_twin", None)

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    def _resolve_weight(self) -> staleness_lib.Weight:
        """The Simulator's weight, the policy's, or constant (never both)."""
        if self.weight is not None:
            check_fits("weight", self.weight, StalenessWeight, "a staleness weight")
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
        """Default numbers, from the constructor's arguments (a
        :class:`~absjax.SimParams`)."""
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
        """Check numbers against their allowed ranges, eagerly.

        Parameters
        ----------
        params : ~absjax.SimParams
            The numbers to check (as :attr:`params` or a grid's values).

        Raises
        ------
        ValueError
            If a number is outside its range; the message names it.
        """
        params_lib.check_params(self, params)

    @property
    def traces(self) -> int:
        """How many times this simulator's programs were traced (compiled)."""
        return self._programs.traces

    # ------------------------------------------------------------- randomness
    @staticmethod
    def seed_keys(base_key: jax.Array, seed_index) -> RunKeys:
        """The keys of a global seed index (independent of batching).

        Parameters
        ----------
        base_key : jax.Array
            The run's root key (from its ``seed``).
        seed_index : int or jax.Array
            The global index of the seed.

        Returns
        -------
        ~absjax.engine.RunKeys
            The purpose-named keys of that seed.
        """
        return seed_keys(base_key, seed_index)

    def job_draws(
        self, seed: int, seed_index: int = 0, params: SimParams | None = None
    ):
        """The randomness of every job of one seed, for replay and testing.

        The returned function ``draw(r, slot, worker, previous=False) ->
        (duration, sample)`` gives the job that ``worker`` starts at the end of
        round ``r``
        (``slot = 0``; ``r = -1`` for the initial jobs at time 0) or as the
        ``slot``-th mid-round restart of round ``r`` (batch policies), exactly
        as :meth:`run` draws it (:mod:`absjax.engine.jobs`). With U local steps
        ``sample`` stacks the U steps' samples. A duration depends on the
        worker's persistent-straggler chain, i.e. on its history: ``previous``
        is the chain state of the worker's previous job (ignored for ``r =
        -1``), and ``draw.slow(r, slot, worker, previous)`` gives the new job's
        state. Without a chain (``markov_slow = 0``, the default) every state
        is ``False``.

        Parameters
        ----------
        seed : int
            The run's base seed.
        seed_index : int, default 0
            The global index of the seed.
        params : ~absjax.SimParams, optional
            The numbers (default: :attr:`params`).

        Returns
        -------
        callable
            ``draw(r, slot, worker, previous=False) -> (duration, sample)``,
            with ``draw.slow``.
        """
        params = self.params if params is None else params
        return self.jobs.draws(seed, seed_index, params)

    # ------------------------------------------------------------- init, step
    def init(self, keys: RunKeys, params: SimParams) -> SimState:
        """All workers pull ``w_0`` at time 0 and start their first job.

        Parameters
        ----------
        keys : ~absjax.engine.RunKeys
            The seed's keys (:meth:`seed_keys`).
        params : ~absjax.SimParams
            The numbers.

        Returns
        -------
        ~absjax.SimState
            The state before round 1.
        """
        return step_lib.init(self, keys, params)

    def step(self, keys: RunKeys, state: SimState, params: SimParams):
        """One communication round (``absjax.engine.step.step``).

        Parameters
        ----------
        keys : ~absjax.engine.RunKeys
            The seed's keys (:meth:`seed_keys`).
        state : ~absjax.SimState
            The state after the previous round.
        params : ~absjax.SimParams
            The numbers.

        Returns
        -------
        state : ~absjax.SimState
            The state after this round.
        info : ~absjax.RoundInfo
            This round's diagnostics.
        """
        return step_lib.step(self, keys, state, params)

    def _serving(self, params: SimParams) -> Simulator:
        """``self``, or its twin that keeps every worker's model, for prepared
        ``params`` whose tau exceeds what the ring of models holds (a grid or
        params above the policy's own tau). Both give the same numbers; they
        share the compiled programs' cache (the store is part of the key)."""
        bound = self.jobs.store.staleness_bound
        if bound is None or np.max(np.asarray(params.tau)) <= bound:
            return self
        if self._twin is None:
            twin = copy.copy(self)
            store = models_lib.PerWorker()
            twin._set("jobs", dataclasses.replace(self.jobs, store=store))
            self._set("_twin", twin)
        return self._twin

    def _run_seed(self, base_key, seed_index, params, history: bool):
        return step_lib.run_seed(self, base_key, seed_index, params, history)

    def _execute(self, grid_axes, history, chunk, devices, args):
        """Runs the compiled program of one grid structure (cached)."""

        def build():
            fn, out_spec = layout.seeds_program(
                self._run_seed, history, chunk, grid_axes
            )
            return fn, out_spec, devices

        store = type(self.jobs.store).__name__
        key = (layout.grid_key(grid_axes), history, chunk, devices, store)
        return self._programs.run(key, build, args)

    def run(
        self,
        seeds: int = 1,
        seed: int = 0,
        params: SimParams | None = None,
        grid: dict[str, Any] | None = None,
        history: bool = False,
        seed_offset: int = 0,
        chunk: int | str = "auto",
        points: list[dict[str, Any]] | None = None,
    ) -> Result:
        """Simulates ``seeds`` independent runs and returns a Result.

        Seeds are vmapped in chunks of ``chunk`` lanes inside one compiled
        program, split over the local devices (as many as there are chunks);
        a run of fewer seeds still computes a full chunk (``chunk=1`` is
        fastest for a single seed). A seed's numbers depend on its global
        index and on ``chunk`` only: the same alone, batched or sharded over
        devices. ``chunk="auto"`` (:mod:`absjax.engine.memory`) depends only on
        the backend and the simulator, so that guarantee holds for it too;
        another ``chunk`` may change float rounding in the last bits. A run
        whose estimated memory exceeds a device stops with a ``ValueError``
        before it compiles.

        Parameters
        ----------
        seeds : int, default 1
            Number of Monte-Carlo seeds.
        seed : int, default 0
            Base seed; seed ``i`` uses ``fold_in(key(seed), seed_offset + i)``.
        params : ~absjax.SimParams, optional
            Numbers to use instead of :attr:`params`.
        grid : dict, optional
            ``{name: values}`` over which to sweep (cartesian product), in one
            compiled program; names are ``k``, ``tau``, ``lr`` or paths into
            the nested numbers such as ``delay.compute.rate``, ``weight.a`` or
            ``policy.k_rule.t0``.
        history : bool, optional
            Also return per-round diagnostics and the model at each log.
        seed_offset : int, default 0
            Index of the first seed (for chunked runs).
        chunk : int or "auto"
            Seeds vmapped together (``"auto"``: on the CPU up to 64, as many as
            keep a round's arrays in the caches, and for timing-only runs up to
            1024 with the seeds; as many as fit on an accelerator); larger uses
            more memory.
        points : list of dict, optional
            Parameter points ``[{name: value}, ...]`` (names as in ``grid``; a name a
            point leaves out keeps ``params``' value), run in one compiled program
            instead of a cartesian ``grid``. The Result gets a leading ``point`` axis
            (``grid == {"point": [0, 1, ...]}``) and the points in
            ``config["points"]``; point ``i``'s numbers equal a run with those numbers
            as ``params``, bit for bit. A point with an unknown name or a value out of
            range is a ``ValueError`` naming the point's index, before anything
            compiles.

        Returns
        -------
        ~absjax.Result
            Per-log-row metrics of every seed (and grid point).

        Raises
        ------
        ValueError
            If an argument or a grid value is outside its range, or the run's
            estimated memory exceeds a device.

        Examples
        --------
        >>> from absjax import delays, objectives, policies
        >>> sim = Simulator(4, policies.k_async(2), delays.exponential(1.0),
        ...                 objectives.quadratic(dim=3), rounds=20, log_every=10,
        ...                 k_max=3)
        >>> result = sim.run(seeds=2, points=[{"k": 1}, {"k": 3, "lr": 0.05}])
        >>> result.loss.shape, list(result.grid)
        ((2, 2, 2), ['point'])
        """
        chunk = memory.resolve_chunk(self, chunk, seeds)
        devices, padded = layout.layout(seeds, seed, seed_offset, chunk)
        given = self.params if params is None else params
        params, grid_axes, grid_values = params_lib.prepare(self, params, grid, points)
        seed_indices = jnp.arange(seed_offset, seed_offset + padded, dtype=jnp.uint32)
        args = (root_key(seed), seed_indices, params)
        out = self._serving(params)._execute(grid_axes, history, chunk, devices, args)
        result = self._result(out, grid_values, seeds, seed, seed_offset, chunk, given)
        if self.delay.replays:
            warn_trace_end(result.metrics["wall_clock"], result.seeds)
        if points is not None:
            result.config["points"] = _plain(list(points))
        return result

    def describe(self, **run) -> dict[str, Any]:
        """A JSON-able description of the configuration (``Result.config``).

        Plain values are kept; laws become their SPEC, other dataclasses a dict
        of their fields (with ``"type"``), anything else its ``repr`` (memory
        addresses cut, so that two processes describe a run alike); the
        policy, delay and objective also get a ``"repr"``. ``run`` adds the
        run's arguments; ``params`` (the numbers, without the data set).

        Parameters
        ----------
        **run
            The run's arguments (``seeds``, ``seed``, ``params``, ...).

        Returns
        -------
        dict
            The description, with ``absjax_version`` and ``jax_version``.

        Examples
        --------
        >>> from absjax import policies
        >>> sim = Simulator(4, policies.k_async(2), "exp:rate=1", "quadratic:dim=3")
        >>> config = sim.describe(seed=0)
        >>> config["policy"]["k"], config["delay"]["compute"], config["seed"]
        (2, 'exp:rate=1.0', 0)
        """
        if run.get("params") is not None:
            numbers = run["params"]._asdict()
            run["params"] = {k: v for k, v in numbers.items() if k != "data"}
        config = {"num_workers": self.num_workers}
        for name in ("policy", "delay", "objective"):
            value = getattr(self, name)
            plain = _plain(value)  # a repr for a part of one's own
            plain = plain if isinstance(plain, dict) else {}
            config[name] = {**plain, "repr": _repr(value)}
        for name in ("lr", "rounds", "log_every", "weight", "normalization"):
            config[name] = _plain(getattr(self, name))
        config["optimizer"] = None if self.optimizer is None else _repr(self.optimizer)
        config["k_max"] = self.k_max
        if self.read != "after":
            config["read"] = self.read
        config.update({name: _plain(value) for name, value in run.items()})
        config["absjax_version"] = __version__
        config["jax_version"] = jax.__version__
        return config

    def _result(
        self, out, grid_values, seeds, seed, seed_offset, chunk=None, params=None
    ) -> Result:
        """The Result of one program output: padding cut, grid unflattened
        (``chunk`` and ``params`` only describe the run: ``None``, unknown)."""
        grid_shape = tuple(len(v) for v in grid_values.values())

        def arrange(x, dtype=None):
            x = layout.to_host(x, dtype)
            if not grid_shape:
                return x[:seeds]
            return x[:, :seeds].reshape(grid_shape + (seeds,) + x.shape[2:])

        rows, extra, diverged = out
        # The rows widened as they are copied (the Result's 64-bit metrics).
        rows = jax.tree.map(lambda x: arrange(x, _wide(x.dtype)), rows)
        extra, diverged = jax.tree.map(arrange, (extra, diverged))
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
            config=self.describe(
                seed=seed, seed_offset=seed_offset, chunk=chunk, params=params
            ),
        )


def _wide(dtype) -> np.dtype:
    """The 64-bit dtype of a float or integer dtype (a Result's metrics)."""
    kind = np.dtype(dtype).kind
    return np.dtype({"f": np.float64, "i": np.int64, "u": np.int64}.get(kind, dtype))


def _repr(value) -> str:
    """``repr(value)`` without memory addresses (``<function f at 0x...>``)."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _plain(value):
    """A JSON-able description of a configuration value (see ``describe``)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, jax.Array | np.ndarray):
        if value.size > 64:
            return f"array(shape={value.shape}, dtype={value.dtype})"
        return _plain(np.asarray(value).tolist())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f for f in dataclasses.fields(value) if f.repr]
        if callable(getattr(value, "spec", None)) and len(fields) == len(
            dataclasses.fields(value)
        ):
            return value.spec()
        plain = {f.name: _plain(getattr(value, f.name)) for f in fields}
        return {"type": type(value).__name__, **plain}
    return _repr(value)
