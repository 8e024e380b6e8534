"""Restart rules: who starts a new job on the new model after a round.

A restart rule is called after the aggregation and the K and tau rules, as
``rule(view, running, numbers) -> Restarts``: ``view`` is the
:class:`~absjax.rules.ServerView` (with the K and tau of the next round, each
running job's ``age`` and ``staleness`` and each worker's last ``job_time``),
``running`` the ``(num_workers,)`` mask of jobs still computing after the
round's arrivals, and ``numbers`` the policy's numbers (``params.policy``).
Every restarted worker draws a new duration and computes its update from
``w_{t+1}``; cancelled jobs count as wasted; blocked workers have no job until
a later round's end.

- :class:`CancelAll` (sync, K-sync, K-batch-sync): every worker restarts; the
  jobs still running are cancelled.
- :class:`BoundedStaleness` (the asynchronous policies): the free workers
  restart, and so does every running job that would be staler than ``tau``
  next round, ``(t + 1) - b > tau`` (cancelled, wasted): the restart rule of
  bounded staleness and ABS (Tan, Zhu, Zhang, arXiv 2301.08895).
- :class:`StaleSynchronous` (SSP, Ho et al., NIPS 2013): as
  :class:`BoundedStaleness`, but a free worker whose push count is more than
  ``s = numbers["ssp"]`` ahead of the slowest worker's is blocked.

A rule of your own is any function or object with this call. For example,
restart (cancel) every job that has run longer than twice the median duration
of the last finished jobs, on top of bounded staleness:

>>> import jax.numpy as jnp
>>> from absjax.rules import ServerView
>>> def restart_long_jobs(view, running, numbers):
...     out = BoundedStaleness()(view, running, numbers)
...     long = running & (view.age > 2 * jnp.nanmedian(view.job_time))
...     return out._replace(restart=out.restart | long,
...                         cancelled=out.cancelled | long)
>>> view = ServerView.initial(num_workers=3, k=1, tau=10)._replace(
...     job_time=jnp.array([1.0, 1.0, 1.2]), age=jnp.array([0.0, 2.5, 1.0]))
>>> out = restart_long_jobs(view, jnp.array([False, True, True]), {})
>>> out.restart.tolist(), out.cancelled.tolist()
([True, True, False], [False, True, False])
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from absjax.policies.round import Restarts


@dataclasses.dataclass(frozen=True)
class CancelAll:
    """Synchronous rounds: every worker restarts on the new model."""

    def __call__(self, view, running: jax.Array, numbers) -> Restarts:
        return Restarts(
            restart=jnp.ones(running.shape, bool),
            cancelled=running,
            blocked=jnp.zeros(running.shape, bool),
        )


@dataclasses.dataclass(frozen=True)
class BoundedStaleness:
    """Asynchronous rounds: free workers restart, over-stale jobs are cancelled."""

    def _over_stale(self, view, running: jax.Array) -> jax.Array:
        return running & (view.staleness > view.tau)

    def __call__(self, view, running: jax.Array, numbers) -> Restarts:
        over_stale = self._over_stale(view, running)
        return Restarts(
            restart=~running | over_stale,
            cancelled=over_stale,
            blocked=jnp.zeros(running.shape, bool),
        )


@dataclasses.dataclass(frozen=True)
class StaleSynchronous(BoundedStaleness):
    """SSP: a free worker more than ``numbers["ssp"]`` pushes ahead of the
    slowest is blocked; it restarts at the round end at which it is not."""

    def __call__(self, view, running: jax.Array, numbers) -> Restarts:
        over_stale = self._over_stale(view, running)
        free = ~running  # finished, or blocked before
        blocked = free & (view.pushes - jnp.min(view.pushes) > numbers["ssp"])
        return Restarts(
            restart=(free & ~blocked) | over_stale,
            cancelled=over_stale,
            blocked=blocked,
        )
