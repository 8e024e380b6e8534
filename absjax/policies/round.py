"""What a round's mechanics read and return: the workers' jobs, arrivals, restarts.

A policy's round has two mechanics, chosen once when the Simulator is built:

- an **arrival rule** (``rule(jobs, keys, state, params) -> Arrivals``) says
  when the round ends and what reaches the server up to then:
  :class:`~absjax.policies.first_finishers.FirstFinishers` (sync, K-sync,
  K-async, async) or :class:`~absjax.policies.event_loop.EventLoop`
  (K-batch-sync, K-batch-async, Rennala, Ringmaster discard);
- a **restart rule** (``rule(view, running, numbers) -> Restarts``) says, after
  the aggregation, which workers start a new job on the new model, which jobs
  are cancelled and which workers idle
  (:mod:`absjax.policies.restarts`).

``jobs`` is the engine's job machinery (:class:`absjax.engine.jobs.Jobs`: the
durations, samples, updates and staleness weights of jobs, drawn from the
reproducible key schedule), ``state`` the :class:`absjax.SimState` at the
round's start and ``params`` the :class:`absjax.SimParams`. Both protocols are
in :mod:`absjax.protocols`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax


class Workers(NamedTuple):
    """Every worker's current job, and its last finished one.

    Parameters
    ----------
    remaining : jax.Array
        ``(num_workers,)`` float: time to the job's finish (inf: none).
    read : jax.Array
        ``(num_workers,)`` int32: model version the job read (b_i).
    slot : jax.Array
        ``(num_workers,)`` int32: the job's slot (0: started at a round end,
        -1: started at a round end on ``w_t``).
    models : object
        The models jobs read: a store of absjax.engine.models.
    slow : jax.Array
        ``(num_workers,)`` bool: straggler-chain state of the job.
    age : jax.Array
        ``(num_workers,)`` float: time since the job started.
    job_time : jax.Array
        ``(num_workers,)`` float: duration of the last finished job.
    job : jax.Array
        ``(num_workers,)`` int32: the job's number in the worker's jobs.
    """

    remaining: jax.Array  # (num_workers,) float, time to the job's finish (inf: none)
    read: jax.Array  # (num_workers,) int32, model version the job read (b_i)
    slot: jax.Array  # (num_workers,) int32, job slot (0: at a round end, -1: on w_t)
    models: Any  # the models jobs read: a store of absjax.engine.models
    slow: jax.Array  # (num_workers,) bool, straggler-chain state of the job
    age: jax.Array  # (num_workers,) float, time since the job started
    job_time: jax.Array  # (num_workers,) float, duration of the last finished job
    job: jax.Array  # (num_workers,) int32, the job's number in the worker's jobs


class Arrivals(NamedTuple):
    """A round up to its end, before the aggregation: what arrived, and when.

    Parameters
    ----------
    duration : jax.Array
        ``()`` float: the round's wall-clock length.
    workers : ~absjax.policies.Workers
        Every worker's job at the round's end.
    finished : jax.Array
        ``(num_workers,)`` bool: workers free at the round's end.
    weighted : object
        Pytree like the model, sum_i omega_i u_i of the aggregated.
    jobs_aggregated : jax.Array
        ``()`` int32: updates aggregated.
    weight_sum : jax.Array
        ``()`` float: sum_i omega_i of the aggregated updates.
    loss_sum : jax.Array
        ``()`` float: sum of their minibatch losses (0: not needed).
    staleness_sum : jax.Array
        ``()`` int32: sum of their staleness.
    staleness_max : jax.Array
        ``()`` int32: max of their staleness.
    arrivals : jax.Array
        ``(num_workers,)`` int32: updates aggregated per worker.
    arrival_staleness : jax.Array
        ``(capacity,)`` int32: per arrival in order, -1 none.
    jobs_started : jax.Array
        ``()`` int32: jobs started during the round.
    downloads : jax.Array
        ``()`` int32: model pulls during the round.
    jobs_discarded : jax.Array
        ``()`` int32: arrivals discarded (not aggregated).
    jobs_dropped : jax.Array
        ``()`` int32: arrivals aggregated with weight 0.
    uploads : jax.Array
        ``()`` int32: updates pushed (discarded ones included).
    idle_time : jax.Array
        ``()`` float: worker time spent waiting for the round end.
    """

    duration: jax.Array  # () float, the round's wall-clock length
    workers: Workers  # every worker's job at the round's end
    finished: jax.Array  # (num_workers,) bool, workers free at the round's end
    weighted: Any  # pytree like the model, sum_i omega_i u_i of the aggregated
    jobs_aggregated: jax.Array  # () int32, updates aggregated
    weight_sum: jax.Array  # () float, sum_i omega_i of the aggregated updates
    loss_sum: jax.Array  # () float, sum of their minibatch losses (0: not needed)
    staleness_sum: jax.Array  # () int32, sum of their staleness
    staleness_max: jax.Array  # () int32, max of their staleness
    arrivals: jax.Array  # (num_workers,) int32, updates aggregated per worker
    arrival_staleness: jax.Array  # (capacity,) int32, per arrival in order, -1 none
    jobs_started: jax.Array  # () int32, jobs started during the round
    downloads: jax.Array  # () int32, model pulls during the round
    jobs_discarded: jax.Array  # () int32, arrivals discarded (not aggregated)
    jobs_dropped: jax.Array  # () int32, arrivals aggregated with weight 0
    uploads: jax.Array  # () int32, updates pushed (discarded ones included)
    idle_time: jax.Array  # () float, worker time spent waiting for the round end


class Restarts(NamedTuple):
    """Who starts a new job on the new model after a round.

    Parameters
    ----------
    restart : jax.Array
        ``(num_workers,)`` bool: start a new job on w_{t+1}.
    cancelled : jax.Array
        ``(num_workers,)`` bool: job abandoned (wasted).
    blocked : jax.Array
        ``(num_workers,)`` bool: no job until a later round end.
    """

    restart: jax.Array  # (num_workers,) bool, start a new job on w_{t+1}
    cancelled: jax.Array  # (num_workers,) bool, job abandoned (wasted)
    blocked: jax.Array  # (num_workers,) bool, no job until a later round end
