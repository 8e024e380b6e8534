"""The event-loop round: K-batch-sync, K-batch-async, Rennala, Ringmaster discard.

The round ends at the K-th *accepted* arrival; every earlier finisher pushes
and at once starts another job on the current model ``w_t`` (the round has not
aggregated yet), so a fast worker may arrive several times. With a discard
threshold R, an arrival of staleness ``>= R`` is not aggregated (discarded,
wasted) and its worker restarts at once on ``w_t``: Rennala SGD (R = 1, only
fresh gradients) and Ringmaster ASGD's discard variant.

The K-th accepted arrival's worker restarts at the round's end on ``w_{t+1}``,
with the rest of the restart rule (:mod:`absjax.policies.restarts`): all jobs in
progress are cancelled for K-batch-sync; for K-batch-async they run on, bounded
by tau.

References: Dutta et al. (AISTATS 2018, arXiv 1803.01113) for the K-batch
families; Tyurin & Richtarik (NeurIPS 2023, arXiv 2305.12387) for Rennala SGD;
Maranjyan, Tyurin, Richtarik (ICML 2025, arXiv 2501.16168) for Ringmaster ASGD.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from absjax._vocabulary import UNBOUNDED
from absjax.policies.round import Arrivals


def _set(array: jax.Array, i, when, value) -> jax.Array:
    """``array`` with entry ``i`` replaced by ``value`` where ``when``."""
    return array.at[i].set(jnp.where(when, value, array[i]))


@dataclasses.dataclass(frozen=True)
class EventLoop:
    """Arrival rule: K accepted arrivals, each finisher restarting at once.

    An event loop over at most ``capacity`` arrivals (plus N - 1 with a discard
    rule: each worker is discarded at most once a round, for its restart is
    fresh), masked after the K-th accepted one. Event ``j``'s restart draws
    from slot ``j + 1`` of the round's key schedule.

    Attributes
    ----------
    discard : bool, optional
        Whether arrivals of staleness ``>= params.policy["discard"]`` are discarded.

    Examples
    --------
    >>> import absjax
    >>> from absjax import policies
    >>> sim = absjax.Simulator(3, policies.rennala(2), "exp:rate=1", "timing",
    ...                        rounds=4, log_every=4)
    >>> sim.arrival_rule
    EventLoop(discard=True)
    """

    discard: bool = False

    def __call__(self, jobs, keys, state, params) -> Arrivals:
        t, k, n, cap = state.version, state.k, jobs.num_workers, jobs.capacity
        threshold = params.policy["discard"] if self.discard else UNBOUNDED

        def event(j, carry):
            a, start = carry
            workers = a.workers
            active = a.jobs_aggregated < k
            i = jnp.argmin(workers.remaining)  # first index among ties
            dt = jnp.where(active, workers.remaining[i], 0.0)
            now = a.duration + dt
            s = t - workers.read[i]
            accept = active & (s < threshold)
            last = accept & (a.jobs_aggregated == k - 1)  # the round's K-th accepted
            mid = active & ~last  # this worker restarts at once on w_t
            omega = jnp.where(
                accept, jobs.weigh(params, s[None], workers, i[None], state.w)[0], 0.0
            )
            update, loss = jax.tree.map(
                lambda g: g[0], jobs.updates(keys, params, workers, i[None], state.w)
            )
            number = workers.job[i] + 1
            duration, slow = jobs.durations(
                keys, t, j + 1, params, state.speed[i], i, workers.slow[i], number
            )
            remaining = workers.remaining - dt
            workers = workers._replace(
                remaining=_set(remaining, i, mid, duration),
                read=_set(workers.read, i, mid, t),
                slot=_set(workers.slot, i, mid, j + 1),
                models=jobs.store.mid_restart(workers.models, i, mid, state.w),
                slow=_set(workers.slow, i, mid, slow),
                job_time=_set(workers.job_time, i, active, now - start[i]),
                job=_set(workers.job, i, mid, number),
            )
            a = a._replace(
                duration=now,
                workers=workers,
                finished=jnp.where(last, jnp.arange(n) == i, a.finished),
                weighted=jax.tree.map(
                    lambda total, g: (
                        total + jnp.where(accept, omega * g, 0.0).astype(total.dtype)
                    ),
                    a.weighted,
                    update,
                ),
                jobs_aggregated=a.jobs_aggregated + accept,
                weight_sum=a.weight_sum + omega,
                loss_sum=a.loss_sum + jnp.where(accept, loss, 0.0),
                staleness_sum=a.staleness_sum + jnp.where(accept, s, 0),
                staleness_max=jnp.maximum(a.staleness_max, jnp.where(accept, s, 0)),
                arrivals=a.arrivals.at[i].add(accept.astype(jnp.int32)),
                arrival_staleness=a.arrival_staleness.at[
                    jnp.where(accept, a.jobs_aggregated, cap)
                ].set(s, mode="drop"),
                jobs_started=a.jobs_started + mid,
                downloads=a.downloads + (mid & (a.workers.read[i] != t)),
                jobs_discarded=a.jobs_discarded + (active & ~accept),
                jobs_dropped=a.jobs_dropped + (accept & (omega == 0)),
                uploads=a.uploads + active,
            )
            return a, _set(start, i, mid, now)

        dtype = state.workers.remaining.dtype
        init = Arrivals(
            duration=jnp.zeros((), dtype),
            workers=state.workers,
            finished=jnp.zeros((n,), bool),
            weighted=jax.tree.map(jnp.zeros_like, state.w),
            jobs_aggregated=jnp.int32(0),
            weight_sum=jnp.zeros((), dtype),
            loss_sum=jnp.zeros((), dtype),
            staleness_sum=jnp.int32(0),
            staleness_max=jnp.int32(0),
            arrivals=jnp.zeros((n,), jnp.int32),
            arrival_staleness=jnp.full((cap,), -1, jnp.int32),
            jobs_started=jnp.int32(0),
            downloads=jnp.int32(0),
            jobs_discarded=jnp.int32(0),
            jobs_dropped=jnp.int32(0),
            uploads=jnp.int32(0),
            idle_time=jnp.zeros((), dtype),
        )
        # Each job's start, relative to the round's start.
        start = -state.workers.age
        events = cap + (n - 1 if self.discard else 0)
        a, start = jax.lax.fori_loop(0, events, event, (init, start))
        return a._replace(workers=a.workers._replace(age=a.duration - start))
