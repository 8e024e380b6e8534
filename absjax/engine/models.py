"""Where the models that jobs read are kept: not at all, a ring, or per worker.

A job computes its update from the model it read (version ``b``), which the
server may have replaced since. Three stores, chosen once when the Simulator is
built, hold exactly what the policy can need:

- :class:`Current` (synchronous policies): every job reads the server's current
  model (all workers restart on ``w_{t+1}``; mid-round restarts of K-batch-sync
  read ``w_t``), so nothing is stored.
- :class:`Ring` (asynchronous policies with a fixed bound ``tau``): every job
  alive in round ``t`` read a version in ``[t - tau, t]`` (the bounded-staleness
  restart rule cancels staler ones), so the last ``tau + 1`` versions suffice,
  ``ring[b % (tau + 1)]``: O(dim) per round to keep instead of O(N dim).
- :class:`PerWorker` (every other policy): the model each worker's job read,
  ``(N, ...)``.

All three give the same numbers (the models read are the same arrays).

>>> import jax.numpy as jnp
>>> store = Ring(size=2)
>>> ring = store.init(jnp.zeros(3), num_workers=4)
>>> ring = store.restart(ring, None, jnp.ones(3), version=1)  # w_1 into slot 1
>>> store.read(ring, jnp.array([1, 0]), jnp.array([0, 1]), None).tolist()
[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp


def _stack(tree, size: int):
    return jax.tree.map(lambda p: jnp.broadcast_to(p, (size,) + p.shape), tree)


@dataclasses.dataclass(frozen=True)
class Current:
    """Synchronous policies: jobs read the server's current model."""

    staleness_bound = None  # the largest tau the store can serve (None: any)

    def init(self, w, num_workers: int):
        return ()

    def read(self, store, read, which, w):
        """The models read by the jobs of workers ``which`` (stacked)."""
        return _stack(w, which.shape[0])

    def restart(self, store, restart, w, version):
        """The store after the round-end restarts on ``w`` (version ``t+1``)."""
        return store

    def mid_restart(self, store, worker, when, w):
        """The store after worker ``worker`` restarted mid-round on ``w_t``."""
        return store


@dataclasses.dataclass(frozen=True)
class Ring:
    """The last ``size`` versions: ``store[b % size]`` is ``w_b``."""

    size: int

    @property
    def staleness_bound(self) -> int:
        return self.size - 1

    def init(self, w, num_workers: int):
        return _stack(w, self.size)

    def read(self, store, read, which, w):
        slots = read[which] % self.size
        return jax.tree.map(lambda m: m[slots], store)

    def restart(self, store, restart, w, version):
        slot = version % self.size
        return jax.tree.map(lambda m, p: m.at[slot].set(p), store, w)

    def mid_restart(self, store, worker, when, w):
        return store  # w_t is already in the ring


@dataclasses.dataclass(frozen=True)
class PerWorker:
    """The model each worker's current job read, ``(N, ...)``."""

    staleness_bound = None

    def init(self, w, num_workers: int):
        return _stack(w, num_workers)

    def read(self, store, read, which, w):
        return jax.tree.map(lambda m: m[which], store)

    def restart(self, store, restart, w, version):
        n = restart.shape[0]
        return jax.tree.map(
            lambda m, p: jnp.where(restart.reshape((n,) + (1,) * p.ndim), p, m),
            store,
            w,
        )

    def mid_restart(self, store, worker, when, w):
        return jax.tree.map(
            lambda m, p: m.at[worker].set(jnp.where(when, p, m[worker])), store, w
        )


def store_for(policy, num_workers: int, read: str = "after"):
    """The least store that serves ``policy`` (see the module docstring);
    ``read="before"`` (arrivers restart on ``w_t``) needs every model kept."""
    if policy.arrivals is not None or policy.restart is not None or read != "after":
        return PerWorker()  # rules of one's own may read any model
    if policy.synchronous:
        return Current()
    bounded = policy.tau is not None and policy.tau_rule is None
    if bounded and policy.discard is None and policy.tau + 1 < num_workers:
        return Ring(policy.tau + 1)
    return PerWorker()
