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
  the loss is logged (not to be confused with the base class
  ``absjax.objectives.Objective``, which implements it).
- :class:`StalenessWeight`: ``omega(s)`` of an aggregated update
  (:mod:`absjax.staleness`).
- :class:`Rule`: how K or tau change between rounds (:mod:`absjax.rules`).
- :class:`ArrivalRule`: when a round ends and what arrives
  (:mod:`absjax.policies.first_finishers`, :mod:`absjax.policies.event_loop`).
- :class:`RestartRule`: who starts a new job after a round
  (:mod:`absjax.policies.restarts`).

A policy takes an arrival rule and a restart rule of one's own
(``policies.custom(base, arrivals=..., restart=...)``), a rule of one's own as
``k_rule``/``tau_rule`` (``absjax.rules.Function`` wraps a function), a law and
an objective wherever absjax takes one.

A leaf module: it imports nothing of absjax. :func:`check_fits` is the
check absjax makes wherever it takes one of these parts: the members must
exist, and those the protocol calls must be callable.

>>> from absjax import delays, objectives
>>> isinstance(delays.exponential(rate=2.0), DelayLaw)
True
>>> isinstance(objectives.quadratic(dim=3), Objective)
True
>>> from absjax import policies, rules, staleness
>>> isinstance(staleness.inverse(), StalenessWeight)
True
>>> isinstance(rules.AdaSync(t0=5.0), Rule)
True
>>> isinstance(policies.FirstFinishers(), ArrivalRule)
True
>>> isinstance(policies.BoundedStaleness(), RestartRule)
True
>>> class Half:
...     params = {}
...     def __call__(self, s, params):
...         return 0.5 + 0 * s
>>> try:
...     check_fits("weight", Half(), StalenessWeight, "a staleness weight")
... except ValueError as e:
...     print(str(e).split(": ")[-1])
it has no 'check'
"""

from __future__ import annotations

import re
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
        """Durations of the given shape drawn from ``key``.

        Parameters
        ----------
        key : jax.Array
            A typed PRNG key.
        params : dict
            The part's numbers.
        shape : sequence of int
            The shape of the draws.

        Returns
        -------
        jax.Array
            Durations of shape ``shape``.
        """
        ...

    def mean(self, params: Params) -> jax.Array:
        """The mean duration (``inf`` where it does not exist).

        Parameters
        ----------
        params : dict
            The part's numbers.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        ...

    def variance(self, params: Params) -> jax.Array:
        """The variance of a duration (``inf`` where it does not exist).

        Parameters
        ----------
        params : dict
            The part's numbers.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        ...

    def cdf(self, params: Params, x: jax.typing.ArrayLike) -> jax.Array:
        """``P(duration <= x)``.

        Parameters
        ----------
        params : dict
            The part's numbers.
        x : jax.typing.ArrayLike
            Where to evaluate it.

        Returns
        -------
        jax.Array
            ``x``'s shape.
        """
        ...

    def check(self, params: Params) -> None:
        """Check the law's numbers.

        Parameters
        ----------
        params : dict
            The part's numbers.

        Raises
        ------
        ValueError
            If ``params`` are outside the law's ranges.
        """
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
        """The initial model ``w_0``, a pytree.

        Parameters
        ----------
        data : dict
            The objective's data set.

        Returns
        -------
        PyTree
            ``w_0``.
        """
        ...

    def sample(self, key: jax.Array, data: Data, worker: jax.Array) -> Any:
        """The randomness of one job (a minibatch) of worker ``worker``.

        Parameters
        ----------
        key : jax.Array
            The job's key.
        data : dict
            The objective's data set.
        worker : jax.Array
            ``()`` int32, the worker's index.

        Returns
        -------
        PyTree
            The minibatch.
        """
        ...

    def gradient(self, data: Data, w: Any, batch: Any) -> Any:
        """The stochastic gradient of one job at ``w``, shaped like ``w``.

        Parameters
        ----------
        data : dict
            The objective's data set.
        w : PyTree
            The model.
        batch : PyTree
            One job's minibatch (:meth:`sample`).

        Returns
        -------
        PyTree
            The gradient.
        """
        ...

    def batch_loss(self, data: Data, w: Any, batch: Any) -> jax.Array:
        """The loss of that minibatch at ``w``, a scalar.

        Parameters
        ----------
        data : dict
            The objective's data set.
        w : PyTree
            The model.
        batch : PyTree
            One job's minibatch (:meth:`sample`).

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        ...

    def loss(self, data: Data, w: Any) -> jax.Array:
        """The logged training loss at ``w``, a scalar.

        Parameters
        ----------
        data : dict
            The objective's data set.
        w : PyTree
            The model.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        ...

    def metric(self, data: Data, w: Any) -> jax.Array:
        """The logged test metric at ``w``, a scalar (``nan`` for none).

        Parameters
        ----------
        data : dict
            The objective's data set.
        w : PyTree
            The model.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        ...

    def check_workers(self, num_workers: int) -> None:
        """Check that the data can serve ``num_workers`` workers.

        Parameters
        ----------
        num_workers : int
            N.

        Raises
        ------
        ValueError
            If the data cannot serve ``num_workers``.
        """
        ...


@runtime_checkable
class StalenessWeight(Protocol):
    """``omega(s)``: the weight of an update aggregated with staleness ``s``.

    ``params`` are its numbers (gridded as ``weight.NAME``); ``check``
    validates a point of a grid before anything compiles.
    """

    @property
    def params(self) -> Params:
        """The weight's numbers as a dict of arrays."""
        ...

    def __call__(self, s: jax.Array, params: Params) -> jax.Array:
        """The weights of the staleness values ``s`` (any shape)."""
        ...

    def check(self, params: Params) -> None:
        """Check the weight's numbers.

        Parameters
        ----------
        params : dict
            The part's numbers.

        Raises
        ------
        ValueError
            If ``params`` are outside the weight's ranges.
        """
        ...


@runtime_checkable
class Rule(Protocol):
    """``rule(view, params) -> value``: K or tau of the next round from what
    the server knows (an :class:`absjax.rules.ServerView`).

    ``needs_loss`` says whether it reads ``view.loss`` (the engine computes the
    loss estimate only then); ``check(params, low, high)`` validates its
    numbers, whose values must lie in ``[low, high]``.
    """

    needs_loss: bool

    @property
    def params(self) -> Params:
        """The rule's numbers (gridded as ``policy.k_rule.NAME``, ...)."""
        ...

    def __call__(self, view: Any, params: Params) -> jax.Array:
        """The next value (the engine clips K to [1, k_max], tau to >= 0)."""
        ...

    def check(self, params: Params, low: int, high: int) -> None:
        """Check the rule's numbers.

        Parameters
        ----------
        params : dict
            The part's numbers.
        low, high : int
            The allowed range of the rule's values.

        Raises
        ------
        ValueError
            For numbers out of range.
        """
        ...


@runtime_checkable
class ArrivalRule(Protocol):
    """``rule(jobs, keys, state, params) -> Arrivals``: a round up to its end.

    ``jobs`` is the engine's job machinery (:class:`absjax.engine.Jobs`:
    ``updates``, ``weigh``, ``durations``, ``capacity``, ``num_workers``),
    ``keys`` the seed's :class:`absjax.engine.RunKeys`, ``state`` the
    :class:`absjax.SimState` at the round's start and ``params`` the
    :class:`absjax.SimParams`. The result is an
    :class:`absjax.policies.Arrivals`: the round's length, every worker's job
    at its end, the weighted sum of the aggregated updates and the counts.
    """

    def __call__(self, jobs: Any, keys: Any, state: Any, params: Any) -> Any: ...


@runtime_checkable
class RestartRule(Protocol):
    """``rule(view, running, numbers) -> Restarts``: who restarts after a round.

    ``view`` is the :class:`absjax.rules.ServerView` with the next round's K
    and tau, ``running`` the ``(num_workers,)`` mask of jobs still computing,
    ``numbers`` the policy's numbers (``params.policy``). The result is an
    :class:`absjax.policies.Restarts`: ``restart`` (start a new job on the new
    model), ``cancelled`` (wasted) and ``blocked`` (no job until later).
    """

    def __call__(self, view: Any, running: jax.Array, numbers: Params) -> Any: ...


def members(protocol: type) -> dict[str, bool]:
    """The members a protocol lists, each with whether it must be callable.

    Parameters
    ----------
    protocol : type
        One of this module's protocols.

    Returns
    -------
    dict
        Member name -> whether it must be callable, sorted by name.

    Examples
    --------
    >>> members(StalenessWeight)
    {'__call__': True, 'check': True, 'params': False}
    """
    names = {name: False for name in getattr(protocol, "__annotations__", {})}
    for name, value in vars(protocol).items():
        if name == "__call__" or not name.startswith("_"):
            names[name] = callable(value) and not isinstance(value, property)
    return dict(sorted(names.items()))


def check_fits(name: str, value: Any, protocol: type, what: str) -> None:
    """Raises ``ValueError`` unless ``value`` has every member of ``protocol``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : Any
        The object given.
    protocol : type
        One of this module's protocols.
    what : str
        What the argument must be, for the message (``"a delay law"``).

    Raises
    ------
    ValueError
        Naming the first member ``value`` lacks, or has but cannot call.
    """
    for member, must_call in members(protocol).items():
        found = hasattr(value, member) if member != "__call__" else callable(value)
        problem = None if found else f"it has no {member!r}"
        if found and must_call and not callable(getattr(value, member)):
            problem = f"its {member!r} is not callable"
        if problem:
            shown = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))
            raise ValueError(
                f"{name}={shown} must be {what} "
                f"(absjax.protocols.{protocol.__name__}): {problem}"
            )
