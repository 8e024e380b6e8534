"""The K-first-finishers round: sync, K-sync, K-async and async.

The round ends at the K-th finish among the current jobs (K = N for sync, 1
for async); the K finishers push their updates, which were computed on the
models they read, and wait (idle) until the round's end. Who restarts on the
new model afterwards is the restart rule's business
(:mod:`absjax.policies.restarts`): all workers for K-sync (cancelling the N - K
slowest jobs), the K finishers plus the over-stale jobs for K-async.

Reference: Dutta, Joshi, Ghosh, Dube, Nagpurkar, "Slow and Stale Gradients Can
Win the Race" (AISTATS 2018, arXiv 1803.01113).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from absjax.policies.round import Arrivals

# finish_order finds up to this many first finishers by repeated argmin
# (O(N count), and on XLA:CPU 3-12x faster than lax.top_k or a sort for
# count <= 32, measured for N = 16 to 1024); more by a stable sort, O(N log N).
_ARGMIN_COUNT = 32


def finish_order(remaining: jax.Array, count: int) -> jax.Array:
    """The ``count`` first finishers in finishing order, ties broken by worker
    index (both ways below break ties the same way: the numbers do not depend
    on which one runs).

    >>> finish_order(jnp.array([3.0, 1.0, 1.0, 2.0]), 3).tolist()
    [1, 2, 3]
    >>> finish_order(jnp.array([3.0, 1.0, 1.0, 2.0] * 10), 40)[:5].tolist()
    [1, 2, 5, 6, 9]
    """
    if count > _ARGMIN_COUNT:
        return jnp.argsort(remaining, stable=True)[:count]

    def next_finisher(left, _):
        i = jnp.argmin(left)  # the first index among ties
        return left.at[i].set(jnp.inf), i

    _, order = jax.lax.scan(next_finisher, remaining, None, length=count)
    return order


def finish_rank(remaining: jax.Array) -> jax.Array:
    """Each job's position in finishing order, ties broken by worker index
    (the inverse permutation of :func:`finish_order`).

    >>> finish_rank(jnp.array([3.0, 1.0, 1.0, 2.0])).tolist()
    [3, 0, 1, 2]
    """
    n = remaining.shape[0]
    order = finish_order(remaining, n)
    return jnp.zeros(n, jnp.int32).at[order].set(jnp.arange(n, dtype=jnp.int32))


def kth_arrivals(remaining: jax.Array, k: jax.Array, capacity: int):
    """The K first finishers among jobs with the given remaining times.

    Events are ordered by finish time with ties broken by worker index, so the
    arrival set is exactly the K first events.

    Args:
      remaining: ``(num_workers,)`` time until each job finishes.
      k: ``()`` int, number of arrivals that end the round.
      capacity: static ``>= k``, how many first finishers to list in order.

    Returns:
      ``(duration, arrived, first)``: the round's length (the K-th order
      statistic), a ``(num_workers,)`` bool mask of the K arrivals, and the
      ``capacity`` first finishers in order (entries from K on are not arrivals).

    >>> d, mask, first = kth_arrivals(jnp.array([3.0, 1.0, 1.0, 2.0]), 2, 3)
    >>> float(d), mask.tolist(), first.tolist()
    (1.0, [False, True, True, False], [1, 2, 3])
    """
    first = finish_order(remaining, capacity)
    arrives = jnp.arange(capacity) < k
    duration = remaining[first[k - 1]]
    arrived = jnp.zeros(remaining.shape, bool).at[first].set(arrives)
    return duration, arrived, first


def _per_arrival(mask: jax.Array, g: jax.Array) -> jax.Array:
    """``mask`` (one entry per arrival) broadcast against the stacked ``g``."""
    return mask.reshape((-1,) + (1,) * (g.ndim - 1))


@dataclasses.dataclass(frozen=True)
class FirstFinishers:
    """Arrival rule: the round ends at the K-th finish (K = ``state.k``).

    The finishers idle from their finish to the round's end; a worker without a
    job (blocked by SSP: ``remaining = inf``) idles through the whole round.

    >>> import absjax
    >>> from absjax import policies
    >>> sim = absjax.Simulator(3, policies.k_async(2), "exp:rate=1", "timing",
    ...                        rounds=4, log_every=4)
    >>> type(sim.arrival_rule).__name__
    'FirstFinishers'
    """

    def __call__(self, jobs, keys, state, params) -> Arrivals:
        t, cap, workers = state.version, jobs.capacity, state.workers
        duration, arrived, first = kth_arrivals(workers.remaining, state.k, cap)
        active = jnp.arange(cap) < state.k  # entries of `first` from K on: masked
        staleness = jnp.where(active, t - workers.read[first], 0)
        weights = jobs.weigh(params, staleness, workers, first, state.w)
        omega = jnp.where(active, weights, 0.0)
        updates, losses = jobs.updates(keys, params, workers, first, state.w)
        weighted = jax.tree.map(
            lambda g: jnp.sum(
                jnp.where(_per_arrival(active, g), _per_arrival(omega, g) * g, 0.0),
                axis=0,
            ),
            updates,
        )
        blocked = jnp.isinf(workers.remaining)
        idle = jnp.sum(jnp.where(arrived, duration - workers.remaining, 0.0))
        idle = idle + duration * jnp.sum(blocked)
        job_time = workers.age + workers.remaining
        return Arrivals(
            duration=duration,
            workers=workers._replace(
                remaining=workers.remaining - duration,
                job_time=jnp.where(arrived, job_time, workers.job_time),
                age=workers.age + duration,
            ),
            finished=arrived,
            weighted=weighted,
            jobs_aggregated=state.k,
            weight_sum=jnp.sum(omega),
            loss_sum=jnp.sum(jnp.where(active, losses, 0.0)),
            staleness_sum=jnp.sum(staleness),
            staleness_max=jnp.max(staleness),
            arrivals=arrived.astype(jnp.int32),
            arrival_staleness=jnp.where(active, staleness, -1),
            jobs_started=jnp.int32(0),
            downloads=jnp.int32(0),
            jobs_discarded=jnp.int32(0),
            jobs_dropped=jnp.sum(active & (weights == 0)).astype(jnp.int32),
            uploads=state.k,
            idle_time=idle,
        )
