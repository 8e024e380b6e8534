"""What the engine needs from its pluggable parts, as ``typing.Protocol`` classes.

Each protocol lists the members the simulator reads from one kind of part;
they are ``runtime_checkable``, so ``isinstance`` checks that the members exist
(not their signatures). The built-in parts do not inherit from them: any
object with these members fits.

- :class:`DelayLaw`: a law of job durations (:mod:`absjax.delays`: the
  ``Law`` subclasses and ``Trace``), the part a ``Delay`` draws its compute,
  upload and download times from.
- :class:`Objective`: a training objective (:mod:`absjax.objectives`: the
  convex objectives, the networks, timing only), what a job computes and how
  the loss is logged.

A leaf module: it imports nothing of absjax.

>>> from absjax import delays, objectives
>>> isinstance(delays.exponential(rate=2.0), DelayLaw)
True
>>> isinstance(objectives.quadratic(dim=3), Objective)
True
>>> isinstance(delays.Delay(delays.exponential()), DelayLaw)  # a cluster, no check
False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import jax

Params = dict[str, Any]  # a part's numbers: a pytree of arrays, vmappable
Data = dict[str, jax.Array]  # an objective's data set: a pytree of arrays


@runtime_checkable
class DelayLaw(Protocol):
    """A distribution of positive job durations whose numbers live in ``params``.

    The numbers are a pytree so that a sweep can vmap over them without a new
    compile; ``check`` validates a (gridded) copy of them eagerly, before any
    tracing, and theory reads the moments.
    """

    @property
    def params(self) -> Params:
        """The law's numbers as a dict of arrays (the vmappable part)."""
        ...

    def sample(self, key: jax.Array, params: Params, shape: Sequence[int]) -> jax.Array:
        """Durations of the given shape drawn from ``key``."""
        ...

    def mean(self, params: Params) -> jax.Array:
        """The mean duration (``inf`` where it does not exist)."""
        ...

    def variance(self, params: Params) -> jax.Array:
        """The variance of a duration (``inf`` where it does not exist)."""
        ...

    def cdf(self, params: Params, x: jax.typing.ArrayLike) -> jax.Array:
        """``P(duration <= x)``."""
        ...

    def check(self, params: Params) -> None:
        """Raises ``ValueError`` if ``params`` are outside the law's ranges."""
        ...


@runtime_checkable
class Objective(Protocol):
    """A training objective: its data, the model, one job's work and the loss.

    ``data`` is built once (from a data seed, the same for every simulated
    seed) and passed back to the pure functions, so that it is part of the
    params pytree rather than a constant baked into the compiled graph.
    """

    has_loss: bool  # False: the logged loss is nan by design, never divergence
    metric_name: str  # the name of the logged test metric; "" for none

    @property
    def data(self) -> Data:
        """The data set, a pytree of arrays."""
        ...

    def init(self, data: Data) -> Any:
        """The initial model ``w_0``, a pytree."""
        ...

    def sample(self, key: jax.Array, data: Data, worker: jax.Array) -> Any:
        """The randomness of one job (a minibatch) of worker ``worker``."""
        ...

    def gradient(self, data: Data, w: Any, batch: Any) -> Any:
        """The stochastic gradient of one job at ``w``, shaped like ``w``."""
        ...

    def batch_loss(self, data: Data, w: Any, batch: Any) -> jax.Array:
        """The loss of that minibatch at ``w``, a scalar."""
        ...

    def loss(self, data: Data, w: Any) -> jax.Array:
        """The logged training loss at ``w``, a scalar."""
        ...

    def metric(self, data: Data, w: Any) -> jax.Array:
        """The logged test metric at ``w``, a scalar (``nan`` for none)."""
        ...

    def check_workers(self, num_workers: int) -> None:
        """Raises ``ValueError`` if the data cannot serve ``num_workers``."""
        ...
