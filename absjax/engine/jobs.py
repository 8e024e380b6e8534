"""Jobs: the key schedule, durations, samples, local steps and weights of a job.

This module is absjax's **reproducibility contract**: a seed's numbers depend
only on its global seed index, never on how seeds are batched, chunked or
sharded, because every random draw of a job derives from it as follows.

A seed's keys are ``RunKeys(speed, delay, batch)``, split from
``fold_in(root_key(seed), global_seed_index)`` (threefry2x32 keys: stream
version :data:`STREAM_VERSION`). A job started in round ``r`` (``r =
-1`` at time 0) in slot 0 (at the round's end) takes its duration from the block
``sample(fold_in(delay, r + 1), (N,))`` (its worker's entry); the ``j``-th
mid-round restart of a batch policy (slot ``j``) from ``fold_in(fold_in(delay,
r + 1), j)``; and its minibatch from ``fold_in(fold_in(batch, r + 1), slot * N +
worker)`` (with U local steps, step ``j`` from ``fold_in(that key, j)``). The
delay model gets the jobs' worker indices (``arange(N)`` for a slot-0 block,
the worker for a mid-round restart), which a per-worker
:class:`~absjax.delays.Trace` uses to pick its column. The persistent-straggler
chain moves at every job start with a uniform from ``fold_in(job key,
delays.CHAIN_STREAM)``, drawn like the durations; the initial jobs draw their
state from the chain's stationary law. :meth:`Jobs.draws` replays any job's
draws (the oracle tests use it). A replayed trace
(:class:`~absjax.delays.Trace`, ``mode="replay"``) draws nothing: a job takes
the row ``offset + k`` of its worker's column, ``k`` the job's number in the
worker's sequence (``Workers.job``) and the offset the seed's, drawn from
``fold_in(speed, delays.traces.OFFSET_STREAM)``.

A job's update depends only on the model it read and its samples, so it is
computed when the job arrives (never for cancelled jobs): the minibatch
gradient, or with U local steps ``v_{j+1} = v_j - local_lr g(v_j)`` and the
update ``sum_j g(v_j)``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

# The random stream: bump STREAM_VERSION whenever a seed's draws change (a new
# PRNG, another key schedule). Version 1 draws from threefry2x32 keys.
# Philox4x32 was measured 2.5x cheaper for timing-only runs on XLA:CPU (its
# hash is unrolled, threefry's is a rolled loop) but, in jax 0.10.2, a program
# using it fails to compile once sharded over several devices ("Unable to
# convert MHLO to StableHLO", from its mulhi): kept out until that is fixed.
STREAM_VERSION = 1
PRNG_IMPL = "threefry2x32"
# More arrivals than this in a round are computed in blocks of this many (a
# loop), so that a block's minibatches stay in the CPU's caches.
ARRIVAL_BLOCK = 64


def root_key(seed: int) -> jax.Array:
    """The typed key of a base seed, from which every seed's keys derive."""
    return jax.random.key(seed, impl=PRNG_IMPL)


class RunKeys(NamedTuple):
    """The keys of one seed, from which every job's randomness derives.

    Parameters
    ----------
    speed : jax.Array
        Per-worker speeds ("random" speeds).
    delay : jax.Array
        Durations: fold_in(delay, r + 1) for round r.
    batch : jax.Array
        Samples: fold_in(fold_in(batch, r + 1), slot * N + i).
    """

    speed: jax.Array  # per-worker speeds ("random" speeds)
    delay: jax.Array  # durations: fold_in(delay, r + 1) for round r
    batch: jax.Array  # samples: fold_in(fold_in(batch, r + 1), slot * N + i)


def seed_keys(base_key: jax.Array, seed_index) -> RunKeys:
    """The keys of a global seed index (independent of batching)."""
    key_seed = jax.random.fold_in(base_key, seed_index)
    return RunKeys(*jax.random.split(key_seed, 3))


def _materialized(x: jax.Array) -> jax.Array:
    """An integer array ``x`` (a key's data), computed into a buffer of its own.

    XLA:CPU fuses the two ``fold_in`` hashes that make a job's minibatch key
    into the kernel that gathers the minibatch's rows, where they are computed
    again for the rows (measured: linear regression at N = 1024, K = 256
    arrivals, 550 us per seed-round with the fusion, 262 without). A scatter
    is never fused into its consumers, so scattering ``x`` into zeros (exact)
    computes it once.
    """
    flat = x.reshape(-1)
    where = jnp.arange(flat.size)
    return jnp.zeros_like(flat).at[where].add(flat).reshape(x.shape)


def job_round(read: jax.Array, slot: jax.Array) -> jax.Array:
    """Round in which a job started: slot 0 at the end of round ``read - 1``;
    slot ``-1`` (a round-end start on the model before the aggregation, read
    order ``"before"``) and mid-round slots in round ``read``."""
    return jnp.where(slot == 0, read - 1, read)


@dataclasses.dataclass(frozen=True, eq=False)
class Jobs:
    """What a job draws, computes and weighs; built once by the Simulator.

    Attributes
    ----------
    num_workers : int
        N.
    capacity : int
        Static number of arrivals a round can aggregate (``k_max``).
    delay : ~absjax.Delay
        The :class:`~absjax.delays.Delay` model.
    objective : ~absjax.objectives.Objective
        The :class:`~absjax.objectives.Objective`.
    weight : ~absjax.staleness.Weight
        The staleness weight ``omega``.
    local_steps : int, default 1
        U local SGD steps per job.
    local_duration : {"sum", "scaled"}
        ``"sum"`` of U step draws or one draw ``"scaled"`` by U.
    observe_loss : bool, optional
        Whether jobs compute their first minibatch's loss (a rule reads the
        server's minibatch loss estimate).
    store : object
        Where the models that jobs read are kept (``absjax.engine.models``).
    """

    num_workers: int
    capacity: int
    delay: Any
    objective: Any
    weight: Any
    local_steps: int = 1
    local_duration: str = "sum"
    observe_loss: bool = False
    store: Any = None

    def durations(
        self, keys: RunKeys, r, slot, params, speed, worker, previous, job=None
    ):
        """Durations and chain states of jobs started in round ``r`` (``-1``:
        at time 0).

        Slot 0 draws one block for all workers (``speed`` and ``worker =
        arange(N)`` have shape ``(N,)``); mid-round slot ``j`` draws one job
        (``speed`` is that worker's factor, ``worker`` its index).
        ``previous`` holds the workers' chain states at their previous jobs
        (``None`` at time 0: the stationary law).

        Parameters
        ----------
        keys : ~absjax.engine.RunKeys
            The seed's keys.
        r : int or jax.Array
            The round in which the jobs start (``-1``: time 0).
        slot : int or jax.Array
            0 at the round's end, ``j`` for the ``j``-th mid-round restart.
        params : ~absjax.SimParams
            The numbers.
        speed : jax.Array
            The workers' slowdown factors (``(N,)`` or ``()``).
        worker : jax.Array
            The workers' indices (same shape).
        previous : jax.Array or None
            The chain states at the workers' previous jobs.
        job : jax.Array, optional
            The jobs' numbers in their workers' sequences (0: a worker's first),
            which a replayed trace reads (:class:`~absjax.delays.Trace`,
            ``mode="replay"``).

        Returns
        -------
        duration : jax.Array
            The jobs' durations.
        slow : jax.Array
            The jobs' chain states (bool).
        """
        order = {}
        if self.delay.replays:
            order = dict(job=job, seed_key=keys.speed)
        key = jax.random.fold_in(keys.delay, r + 1)
        if not (isinstance(slot, int) and slot == 0):
            key = jax.random.fold_in(key, slot)
        slow = self.delay.chain(key, params.delay, jnp.shape(speed), previous)
        duration = self.delay.sample(
            key,
            params.delay,
            speed,
            self.local_steps,
            self.local_duration,
            worker=worker,
            slow=slow,
            first=isinstance(r, int) and r == -1,
            **order,
        )
        return duration, slow

    def samples(self, keys: RunKeys, r, slot, worker, data):
        """The samples of job ``(r, slot, worker)``.

        One minibatch, or with U local steps U stacked ones (step ``j`` from
        ``fold_in(key, j)``).

        Parameters
        ----------
        keys : ~absjax.engine.RunKeys
            The seed's keys.
        r, slot, worker : int or jax.Array
            The job: its round, slot and worker.
        data : dict
            The objective's data.

        Returns
        -------
        object
            The objective's batch pytree (leading axis U with local steps).
        """
        key = jax.random.fold_in(keys.batch, r + 1)
        key = jax.random.fold_in(key, slot * self.num_workers + worker)
        key = jax.random.wrap_key_data(
            _materialized(jax.random.key_data(key)), impl=PRNG_IMPL
        )
        if self.local_steps == 1:
            return self.objective.sample(key, data, worker)
        return jax.vmap(
            lambda j: self.objective.sample(jax.random.fold_in(key, j), data, worker)
        )(jnp.arange(self.local_steps))

    def update(self, params, model, samples):
        """A job's update from the model it read, and its first sample's loss.

        With U local steps ``v_{j+1} = v_j - local_lr g(v_j)`` and the update
        is ``sum_j g(v_j)``; ``local_lr`` is the policy's, or the server's
        ``params.lr`` when the policy leaves it unset. The loss is computed
        only if a rule reads it.

        Parameters
        ----------
        params : ~absjax.SimParams
            The numbers.
        model : object
            The model pytree the job read.
        samples : object
            The job's samples (:meth:`samples`).

        Returns
        -------
        update : object
            The update pytree.
        loss : jax.Array
            ``()``: the first sample's loss (0 when no rule reads it).
        """
        data, objective = params.data, self.objective
        if self.local_steps == 1:
            update, first = objective.gradient(data, model, samples), samples
        else:
            local_lr = params.policy.get("local_lr", params.lr)  # unset: follows lr

            def local(carry, batch):
                v, total = carry
                g = objective.gradient(data, v, batch)
                v = jax.tree.map(lambda p, d: p - (local_lr * d).astype(p.dtype), v, g)
                return (v, jax.tree.map(jnp.add, total, g)), None

            zero = jax.tree.map(jnp.zeros_like, model)
            (_, update), _ = jax.lax.scan(local, (model, zero), samples)
            first = jax.tree.map(lambda x: x[0], samples)
        if self.observe_loss:
            loss = objective.batch_loss(data, model, first)
        else:
            loss = jnp.zeros(())
        return update, loss

    def models_read(self, workers, which: jax.Array, w):
        """The models that the jobs of workers ``which`` read, from the store.

        Parameters
        ----------
        workers : ~absjax.policies.Workers
            Every worker's current job.
        which : jax.Array
            ``(m,)`` worker indices.
        w : object
            The server's current model.

        Returns
        -------
        object
            The models, stacked along a leading ``(m,)`` axis.
        """
        return self.store.read(workers.models, workers.read, which, w)

    def updates(self, keys: RunKeys, params, workers, which: jax.Array, w):
        """Updates (and losses) of the jobs of workers ``which``.

        Parameters
        ----------
        keys : ~absjax.engine.RunKeys
            The seed's keys.
        params : ~absjax.SimParams
            The numbers.
        workers : ~absjax.policies.Workers
            Every worker's current job (a :class:`~absjax.policies.Workers`).
        which : jax.Array
            ``(m,)`` indices into ``workers``.
        w : object
            The server's current model.

        Returns
        -------
        updates : object
            The updates, stacked along ``(m,)``.
        losses : jax.Array
            ``(m,)`` first-sample losses (see :meth:`update`).
        """
        rounds = job_round(workers.read, workers.slot)[which]
        slots = jnp.maximum(workers.slot[which], 0)  # -1: a round-end start

        def one(worker, r, slot, model):
            samples = self.samples(keys, r, slot, worker, params.data)
            return self.update(params, model, samples)

        models = self.models_read(workers, which, w)
        arrivals = (which, rounds, slots, models)
        if which.shape[0] <= ARRIVAL_BLOCK:
            return jax.vmap(one)(*arrivals)
        return jax.lax.map(lambda a: one(*a), arrivals, batch_size=ARRIVAL_BLOCK)

    def weigh(self, params, staleness: jax.Array, workers, which, w) -> jax.Array:
        """Weights ``omega`` of the arrivals of workers ``which`` (``staleness``'s
        shape), whose jobs read :meth:`models_read`.

        A weight with ``needs_distance`` (Dutta et al.'s eq.-13 step,
        :class:`~absjax.staleness.Distance`) also gets ``distance2 =
        ||models[which] - w||^2`` summed over the leaves and the server's ``lr``;
        the others only the staleness (nothing else is computed).

        Parameters
        ----------
        params : ~absjax.SimParams
            The numbers.
        staleness : jax.Array
            The arrivals' staleness.
        workers : ~absjax.policies.Workers
            Every worker's current job.
        which : jax.Array
            The arriving workers' indices.
        w : object
            The server's current model.

        Returns
        -------
        jax.Array
            The weights, ``staleness``'s shape.
        """
        if not getattr(self.weight, "needs_distance", False):
            return self.weight(staleness, params.weight)

        def squared(m, p):
            d = m - p
            return jnp.sum(d**2, axis=tuple(range(jnp.ndim(staleness), d.ndim)))

        models = self.models_read(workers, which, w)
        distance2 = sum(jax.tree.leaves(jax.tree.map(squared, models, w)))
        return self.weight(staleness, params.weight, distance2=distance2, lr=params.lr)

    def draws(self, seed: int, seed_index: int, params):
        """Every job's randomness of one seed: see :meth:`Simulator.job_draws
        <absjax.Simulator.job_draws>`.

        Parameters
        ----------
        seed : int
            The base seed.
        seed_index : int
            The global seed index.
        params : ~absjax.SimParams
            The numbers.

        Returns
        -------
        callable
            ``draw(r, slot, worker, previous=False) -> (duration, sample)``.
        """
        keys = seed_keys(root_key(seed), seed_index)
        n = self.num_workers
        speed = self.delay.worker_speeds(keys.speed, params.delay, n)

        @functools.cache
        def block(r: int, previous: bool, number: int):  # slot 0: all workers
            before = None if r == -1 else jnp.full((n,), previous)
            numbers = jnp.full((n,), number, jnp.int32)
            return self.durations(
                keys, r, 0, params, speed, jnp.arange(n), before, numbers
            )

        @functools.cache
        def single(r: int, slot: int, worker: int, previous: bool, number: int):
            before = None if r == -1 else jnp.asarray(previous)
            return self.durations(
                keys, r, slot, params, speed[worker], worker, before, number
            )

        def job(r: int, slot: int, worker: int, previous: bool, number: int):
            if slot == 0:
                duration, slow = block(r, bool(previous), number)
                return duration[worker], slow[worker]
            return single(r, slot, worker, bool(previous), number)

        def draw(r: int, slot: int, worker: int, previous: bool = False, job_=0):
            duration = job(r, slot, worker, previous, job_)[0]
            return duration, self.samples(keys, r, slot, worker, params.data)

        draw.slow = lambda r, slot, worker, previous=False, job_=0: bool(
            job(r, slot, worker, previous, job_)[1]
        )
        return draw
