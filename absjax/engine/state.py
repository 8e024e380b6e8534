"""The engine's types: numbers, state carried through the scan, diagnostics.

``SimParams`` are the numbers of a simulation (vmappable, never a cause of
recompilation); ``SimState`` is what the server and the workers carry from
round to round; a ``RoundInfo`` is emitted each round and never carried, and
a ``LogRow`` summarises the rounds between two logged rows. Diagnostics take
the CSV's column names (:data:`absjax.results.METRICS`) wherever they are the
same quantity, so a number keeps one name from the step to the file.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from absjax.policies.round import Workers


class SimParams(NamedTuple):
    """The numbers of a simulation: vmappable, never a cause of recompilation.

    Parameters
    ----------
    k : jax.Array
        ``()`` int32: updates aggregated per round (initial K).
    tau : jax.Array
        ``()`` int32: staleness bound (policies.UNBOUNDED for none).
    lr : jax.Array
        ``()`` float: server learning rate.
    policy : dict
        The policy's other numbers (Policy.numbers): rules, U, ...
    delay : dict
        The Delay model's numbers (Delay.params).
    weight : dict
        The staleness weight's numbers (Weight.params).
    data : dict
        The objective's data set (Objective.data), never gridded.
    """

    k: jax.Array  # () int32, updates aggregated per round (initial K)
    tau: jax.Array  # () int32, staleness bound (policies.UNBOUNDED for none)
    lr: jax.Array  # () float, server learning rate
    policy: dict  # the policy's other numbers (Policy.numbers): rules, U, ...
    delay: dict  # the Delay model's numbers (Delay.params)
    weight: dict  # the staleness weight's numbers (Weight.params)
    data: dict  # the objective's data set (Objective.data), never gridded


class SimState(NamedTuple):
    """What the parameter server and the workers carry from round to round.

    Parameters
    ----------
    w : object
        Model pytree, leaves float.
    opt_state : object
        Server optax state.
    version : jax.Array
        ``()`` int32: aggregations so far (the round index t).
    clock : jax.Array
        ``()`` float: wall clock at the end of the last round.
    clock_error : jax.Array
        ``()`` float: Kahan compensation of ``clock``.
    workers : ~absjax.policies.Workers
        Every worker's current job (policies.round.Workers).
    speed : jax.Array
        ``(num_workers,)`` float: per-worker slowdown factors.
    k : jax.Array
        ``()`` int32: K of the next round.
    tau : jax.Array
        ``()`` int32: staleness bound in force for the next round.
    loss : jax.Array
        ``()`` float: the server's loss estimate (nan: none yet).
    loss0 : jax.Array
        ``()`` float: its first value.
    pushes : jax.Array
        ``(num_workers,)`` int32: updates aggregated per worker.
    diverged_round : jax.Array
        ``()`` int32: first non-finite model's round, -1.
    """

    w: Any  # model pytree, leaves float
    opt_state: Any  # server optax state
    version: jax.Array  # () int32, aggregations so far (the round index t)
    clock: jax.Array  # () float, wall clock at the end of the last round
    clock_error: jax.Array  # () float, Kahan compensation of `clock`
    workers: Workers  # every worker's current job (policies.round.Workers)
    speed: jax.Array  # (num_workers,) float, per-worker slowdown factors
    k: jax.Array  # () int32, K of the next round
    tau: jax.Array  # () int32, staleness bound in force for the next round
    loss: jax.Array  # () float, the server's loss estimate (nan: none yet)
    loss0: jax.Array  # () float, its first value
    pushes: jax.Array  # (num_workers,) int32, updates aggregated per worker
    diverged_round: jax.Array  # () int32, first non-finite model's round, -1


class RoundInfo(NamedTuple):
    """Diagnostics of one round; emitted, never carried.

    Parameters
    ----------
    duration : jax.Array
        ``()`` float: the round's wall-clock length.
    k : jax.Array
        ``()`` int32: K of this round.
    tau : jax.Array
        ``()`` int32: bound in force for this round's aggregation.
    jobs_aggregated : jax.Array
        ``()`` int32: updates aggregated.
    staleness_sum : jax.Array
        ``()`` int32: sum of their staleness.
    staleness_max : jax.Array
        ``()`` int32: max of their staleness.
    jobs_started : jax.Array
        ``()`` int32: jobs started (mid-round and at its end).
    jobs_wasted : jax.Array
        ``()`` int32: jobs cancelled, discarded or dropped.
    jobs_discarded : jax.Array
        ``()`` int32: arrivals discarded (discard rule).
    jobs_dropped : jax.Array
        ``()`` int32: arrivals aggregated with weight 0.
    uploads : jax.Array
        ``()`` int32: updates pushed.
    downloads : jax.Array
        ``()`` int32: model pulls.
    idle_time : jax.Array
        ``()`` float: worker time spent waiting for the round end.
    arrivals : jax.Array
        ``(num_workers,)`` int32: updates pushed per worker.
    arrival_staleness : jax.Array
        ``(capacity,)`` int32: per arrival in order, -1 none.
    restarted : jax.Array
        ``(num_workers,)`` bool: restarted at the round end.
    cancelled : jax.Array
        ``(num_workers,)`` bool: job abandoned at the round end.
    blocked : jax.Array
        ``(num_workers,)`` bool: idle after the round (SSP).
    slow : jax.Array
        ``(num_workers,)`` bool: chain state of each job after it.
    loss_estimate : jax.Array
        ``()`` float: the server's loss estimate after it.
    """

    duration: jax.Array  # () float, the round's wall-clock length
    k: jax.Array  # () int32, K of this round
    tau: jax.Array  # () int32, bound in force for this round's aggregation
    jobs_aggregated: jax.Array  # () int32, updates aggregated
    staleness_sum: jax.Array  # () int32, sum of their staleness
    staleness_max: jax.Array  # () int32, max of their staleness
    jobs_started: jax.Array  # () int32, jobs started (mid-round and at its end)
    jobs_wasted: jax.Array  # () int32, jobs cancelled, discarded or dropped
    jobs_discarded: jax.Array  # () int32, arrivals discarded (discard rule)
    jobs_dropped: jax.Array  # () int32, arrivals aggregated with weight 0
    uploads: jax.Array  # () int32, updates pushed
    downloads: jax.Array  # () int32, model pulls
    idle_time: jax.Array  # () float, worker time spent waiting for the round end
    arrivals: jax.Array  # (num_workers,) int32, updates pushed per worker
    arrival_staleness: jax.Array  # (capacity,) int32, per arrival in order, -1 none
    restarted: jax.Array  # (num_workers,) bool, restarted at the round end
    cancelled: jax.Array  # (num_workers,) bool, job abandoned at the round end
    blocked: jax.Array  # (num_workers,) bool, idle after the round (SSP)
    slow: jax.Array  # (num_workers,) bool, chain state of each job after it
    loss_estimate: jax.Array  # () float, the server's loss estimate after it


class LogRow(NamedTuple):
    """One logged row: window sums/maxima and values at the row's round.

    The wall clock is the Kahan pair ``(clock, clock_error)``, whose difference
    the Result takes in float64. The first row also counts the N jobs (and
    model pulls) that every worker starts at time 0.

    Parameters
    ----------
    round : jax.Array
        ``()`` int32.
    clock : jax.Array
        ``()`` float.
    clock_error : jax.Array
        ``()`` float.
    loss : jax.Array
        ``()`` float: exact loss of the model at the row's round.
    metric : jax.Array
        ``()`` float: the objective's test metric (0 if none).
    k : jax.Array
        ``()`` int32.
    tau : jax.Array
        ``()`` int32.
    staleness_sum : jax.Array
        ``()`` int32.
    staleness_max : jax.Array
        ``()`` int32.
    jobs_aggregated : jax.Array
        ``()`` int32.
    uploads : jax.Array
        ``()`` int32.
    downloads : jax.Array
        ``()`` int32.
    jobs_started : jax.Array
        ``()`` int32.
    jobs_wasted : jax.Array
        ``()`` int32.
    jobs_discarded : jax.Array
        ``()`` int32.
    jobs_dropped : jax.Array
        ``()`` int32.
    idle_time : jax.Array
        ``()`` float.
    loss_estimate : jax.Array
        ``()`` float.
    """

    round: jax.Array  # () int32
    clock: jax.Array  # () float
    clock_error: jax.Array  # () float
    loss: jax.Array  # () float, exact loss of the model at the row's round
    metric: jax.Array  # () float, the objective's test metric (0 if none)
    k: jax.Array  # () int32
    tau: jax.Array  # () int32
    staleness_sum: jax.Array  # () int32
    staleness_max: jax.Array  # () int32
    jobs_aggregated: jax.Array  # () int32
    uploads: jax.Array  # () int32
    downloads: jax.Array  # () int32
    jobs_started: jax.Array  # () int32
    jobs_wasted: jax.Array  # () int32
    jobs_discarded: jax.Array  # () int32
    jobs_dropped: jax.Array  # () int32
    idle_time: jax.Array  # () float
    loss_estimate: jax.Array  # () float
