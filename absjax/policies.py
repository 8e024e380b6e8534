"""Aggregation policies of the parameter server and their round mechanics.

A policy says when a round ends, which workers restart on the new model, which
keep computing on an old one and which jobs are cancelled (spec section 2):

============== ===================================== ============ =============
policy          round ends when                       restart      cancelled
============== ===================================== ============ =============
sync            all N finished                        all          -
k_sync(K)       K-th of the N jobs started on w_t     all          N-K slowest
k_batch_sync(K) K updates in total, finishers at      all          in progress
                once recompute on the same w_t
k_async(K)      K-th finish among current jobs        the K        -
k_batch_async   K arrivals, each finisher pulls the   each on      -
                current model and restarts at once    arrival
async           every arrival (= k_async(1))          the arriver  -
============== ===================================== ============ =============

A staleness bound ``tau`` (asynchronous policies) adds the restart rule: after
round t every worker whose job would have staleness ``(t+1) - b > tau`` in the
next round abandons it (wasted) and restarts on ``w_{t+1}``.

References: Dutta, Joshi, Ghosh, Dube, Nagpurkar, "Slow and Stale Gradients Can
Win the Race" (AISTATS 2018, arXiv 1803.01113) for the K-sync, K-batch-sync,
K-async and K-batch-async families; Tan, Zhu, Zhang, "ABS: Adaptive Bounded
Staleness" (arXiv 2301.08895) for the bounded-staleness restart rule.

>>> p = k_async(k=4, tau=3)
>>> p.name, p.k, p.tau, p.synchronous
('k_async', 4, 3, False)
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from absjax._validate import check_int

UNBOUNDED = 2**30  # the staleness bound that stands for "no bound" (tau=None)


@dataclasses.dataclass(frozen=True)
class Policy:
    """A policy: its family (static) and its numbers ``k`` and ``tau``.

    Attributes:
      name: the policy's name (``sync``, ``k_sync``, ..., ``async``).
      k: updates per round; ``None`` means all ``num_workers`` (``sync``).
      tau: staleness bound of the restart rule; ``None`` means unbounded.
    """

    name: str
    k: int | None = None
    tau: int | None = None
    NAMES: ClassVar[tuple[str, ...]] = (
        "sync",
        "k_sync",
        "k_batch_sync",
        "k_async",
        "k_batch_async",
        "async",
    )

    def __post_init__(self):
        if self.name not in self.NAMES:
            raise ValueError(f"policy={self.name!r} must be one of {self.NAMES}")
        if self.name in ("sync", "async") and self.k is not None:
            raise ValueError(
                f"policy {self.name!r} takes no k (it is fixed to "
                f"{'num_workers' if self.name == 'sync' else 1})"
            )
        if self.name not in ("sync", "async") and self.k is None:
            raise ValueError(f"policy {self.name!r} needs k, an integer >= 1")
        if self.k is not None:
            check_int("k", self.k, 1)
        if self.tau is not None:
            if self.synchronous:
                raise ValueError(
                    f"tau={self.tau} is a staleness bound; policy "
                    f"{self.name!r} is synchronous (staleness is "
                    "always 0): leave tau unset"
                )
            check_int("tau", self.tau, 0)

    @property
    def synchronous(self) -> bool:
        """Whether every worker restarts on the new model after each round."""
        return self.name in ("sync", "k_sync", "k_batch_sync")

    @property
    def batch(self) -> bool:
        """Whether finishers restart during the round (the K-batch families)."""
        return self.name in ("k_batch_sync", "k_batch_async")

    def resolve_k(self, num_workers: int) -> int:
        """The policy's K for ``num_workers`` workers, validated."""
        k = {"sync": num_workers, "async": 1}.get(self.name, self.k)
        if not 1 <= k <= num_workers:
            raise ValueError(f"k={k} must be in [1, num_workers={num_workers}]")
        return k

    def resolve_tau(self) -> int:
        return UNBOUNDED if self.tau is None else self.tau


def sync() -> Policy:
    """Fully synchronous SGD: each round waits for all N workers."""
    return Policy("sync")


def k_sync(k: int) -> Policy:
    """K-sync SGD (Dutta et al. 2018): wait for the K fastest of N fresh jobs."""
    return Policy("k_sync", k)


def k_batch_sync(k: int) -> Policy:
    """K-batch-sync SGD (Dutta et al. 2018): K fresh updates, finishers recompute."""
    return Policy("k_batch_sync", k)


def k_async(k: int, tau: int | None = None) -> Policy:
    """K-async SGD (Dutta et al. 2018), optionally with staleness bound ``tau``."""
    return Policy("k_async", k, tau)


def k_batch_async(k: int, tau: int | None = None) -> Policy:
    """K-batch-async SGD (Dutta et al. 2018), optionally bounded by ``tau``."""
    return Policy("k_batch_async", k, tau)


def asynchronous(tau: int | None = None) -> Policy:
    """Fully asynchronous SGD (``k_async(1)``), optionally bounded by ``tau``."""
    return Policy("async", None, tau)


def make(name: str, k: int | None = None, tau: int | None = None) -> Policy:
    """Builds a policy from its name, as the CLI does."""
    return Policy(name, k, tau)


def finish_rank(remaining: jax.Array) -> jax.Array:
    """Each job's position in finishing order, ties broken by worker index.

    Pairwise comparisons (O(N^2) elementwise) instead of a sort: for the small
    N of a cluster this is far faster than a sort on CPU and GPU alike.

    >>> finish_rank(jnp.array([3.0, 1.0, 1.0, 2.0])).tolist()
    [3, 0, 1, 2]
    """
    index = jnp.arange(remaining.shape[0])
    earlier = (remaining[None, :] < remaining[:, None]) | (
        (remaining[None, :] == remaining[:, None]) & (index[None, :] < index[:, None])
    )
    return jnp.sum(earlier, axis=1)


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
    rank = finish_rank(remaining)
    arrived = rank < k
    duration = jnp.max(jnp.where(arrived, remaining, -jnp.inf))
    first = jnp.argmax(rank[None, :] == jnp.arange(capacity)[:, None], axis=1)
    return duration, arrived, first
