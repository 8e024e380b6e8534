"""Rules that change K and the staleness bound tau between rounds.

After each round's aggregation the engine builds a :class:`ServerView`, what a
real parameter server knows at that moment, and asks the policy's K rule for
``K^{t+1}`` and then its tau rule for ``tau^{t+1}`` (the tau rule sees the new K
in ``view.k``). A rule is a pure JAX function ``rule(view, params) -> value`` of
the view and of its own numbers ``params`` (a dict of arrays, part of the
simulation's params pytree, so they can be swept without recompiling). The
engine clips K to ``[1, k_max]`` and tau to ``[0, UNBOUNDED]``.

What the server may know (docs: Concepts > K and tau rules,
docs/concepts.md#concepts-rules): arrival
times, job durations, staleness and pushes per worker, and the losses of the
minibatches it aggregated. ``view.loss`` is the server's running estimate built
from those losses (``loss_estimate="minibatch"``, the default) unless the policy
asks for the oracle mode ``loss_estimate="exact"``, which reads the exact
objective ``F(w_{t+1})``, something no real server knows. Rules that read the
loss declare ``needs_loss = True``; the engine computes losses only for them.

Built-in rules:

- :class:`Fixed`: keeps the value (constant K or tau);
- :class:`Schedule`: piecewise constant in wall-clock time or in rounds;
- :class:`AdaSync`: the K rule of AdaSync (Dutta et al., arXiv 2003.10579):
  every ``t0`` of wall-clock time ``K = min(N, ceil(K0 sqrt(F_0 / F_t)))``,
  never decreasing; ABS's default K rule **[our reading]**;
- :class:`LossRatio`: every ``t0`` ``K = min(N, floor(K0 F_0 / F_t))``, never
  decreasing, the linear rule of the ABS authors' STSyn code **[our reading]**;
- :class:`ExpDelayRoot`: every ``t0`` the root ``K`` of ``K^2 / (N - K) =
  (K0^2 / (N - K0)) F_0 / F_t``, rounded up, never decreasing: AdaSync's rule
  for K-sync with exponential delays (arXiv 2003.10579);
- :class:`StalenessBound`: ``tau = ceil(kappa (N - K) / K)``, the mean staleness
  of K-async with exponential delays times ``kappa``; ABS's default tau rule
  **[our reading]** (Tan, Zhu, Zhang, arXiv 2301.08895);
- :class:`Function`: any user function of the view.

A user rule, for example K = N minus the workers currently slower than twice
the median (their last job took more than twice the median job time):

>>> import jax.numpy as jnp
>>> def k_without_slow(view, params):
...     median = jnp.nanmedian(view.job_time)
...     slow = jnp.sum(view.job_time > params["factor"] * median)
...     return view.num_workers - slow
>>> rule = Function(k_without_slow, {"factor": 2.0})
>>> view = ServerView.initial(num_workers=4, k=4, tau=0)._replace(
...     job_time=jnp.array([1.0, 3.0, 1.2, 1.0]))
>>> int(rule(view, rule.params))
3
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from absjax._validate import check_real


class ServerView(NamedTuple):
    """What the parameter server knows after a round: all that rules may read.

    Parameters
    ----------
    round : jax.Array
        ``()`` int32: aggregations so far (t + 1 after round t).
    clock : jax.Array
        ``()`` float: wall clock at the end of the round.
    last_clock : jax.Array
        ``()`` float: wall clock at the end of the round before.
    k : jax.Array
        ``()`` int32: K in force (the new K for a tau rule).
    tau : jax.Array
        ``()`` int32: staleness bound in force.
    k0 : jax.Array
        ``()`` int32: the initial K (params.k).
    tau0 : jax.Array
        ``()`` int32: the initial bound (params.tau).
    loss : jax.Array
        ``()`` float: the server's loss estimate (nan before round 0).
    loss0 : jax.Array
        ``()`` float: the first loss estimate (nan before round 0).
    pushes : jax.Array
        ``(N,)`` int32: updates aggregated from each worker so far.
    job_time : jax.Array
        ``(N,)`` float: duration of each worker's last finished job.
    age : jax.Array
        ``(N,)`` float: time since each worker's current job started.
    staleness : jax.Array
        ``(N,)`` int32: versions behind of each current job.
    """

    round: jax.Array  # () int32, aggregations so far (t + 1 after round t)
    clock: jax.Array  # () float, wall clock at the end of the round
    last_clock: jax.Array  # () float, wall clock at the end of the round before
    k: jax.Array  # () int32, K in force (the new K for a tau rule)
    tau: jax.Array  # () int32, staleness bound in force
    k0: jax.Array  # () int32, the initial K (params.k)
    tau0: jax.Array  # () int32, the initial bound (params.tau)
    loss: jax.Array  # () float, the server's loss estimate (nan before round 0)
    loss0: jax.Array  # () float, the first loss estimate (nan before round 0)
    pushes: jax.Array  # (N,) int32, updates aggregated from each worker so far
    job_time: jax.Array  # (N,) float, duration of each worker's last finished job
    age: jax.Array  # (N,) float, time since each worker's current job started
    staleness: jax.Array  # (N,) int32, versions behind of each current job

    @property
    def num_workers(self) -> int:
        """N, the number of workers."""
        return self.pushes.shape[0]

    @classmethod
    def initial(cls, num_workers: int, k, tau) -> ServerView:
        """The view at time 0, before any round (``job_time`` is nan).

        Parameters
        ----------
        num_workers : int
            N.
        k, tau : int or jax.Array
            The initial K and bound.

        Returns
        -------
        ~absjax.ServerView
        """
        n = num_workers
        return cls(
            round=jnp.int32(0),
            clock=jnp.zeros(()),
            last_clock=jnp.zeros(()),
            k=jnp.asarray(k, jnp.int32),
            tau=jnp.asarray(tau, jnp.int32),
            k0=jnp.asarray(k, jnp.int32),
            tau0=jnp.asarray(tau, jnp.int32),
            loss=jnp.asarray(jnp.nan),
            loss0=jnp.asarray(jnp.nan),
            pushes=jnp.zeros((n,), jnp.int32),
            job_time=jnp.full((n,), jnp.nan),
            age=jnp.zeros((n,)),
            staleness=jnp.zeros((n,), jnp.int32),
        )


@dataclasses.dataclass(frozen=True)
class Rule:
    """Base class: ``rule(view, params) -> value`` with numbers ``rule.params``."""

    name: ClassVar[str]
    needs_loss = False  # whether the rule reads view.loss (a class attribute)

    @property
    def params(self) -> dict[str, jax.Array]:
        """The rule's numbers as a dict of arrays (sweepable, vmappable)."""
        return {}

    def __call__(self, view: ServerView, params: dict[str, Any]) -> jax.Array:
        """The value (K or tau) for the next round.

        Parameters
        ----------
        view : ~absjax.ServerView
            What the server knows after the round.
        params : dict
            The rule's numbers (``params``, or a grid's values).

        Returns
        -------
        jax.Array
            ``()`` the new value (clipped by the engine to its range).
        """
        raise NotImplementedError

    def check(self, params: dict[str, Any], low: int, high: int) -> None:
        """Check the rule's numbers; its values must lie in ``[low, high]``.

        Parameters
        ----------
        params : dict
            The rule's numbers, possibly gridded.
        low, high : int
            The allowed range of the rule's values.

        Raises
        ------
        ValueError
            For numbers out of range.
        """


@dataclasses.dataclass(frozen=True)
class Fixed(Rule):
    """Keeps the value: K or tau stay as given by the policy."""

    name: ClassVar[str] = "fixed"

    def __call__(self, view, params):
        raise NotImplementedError("the engine applies Fixed itself")


@dataclasses.dataclass(frozen=True)
class Schedule(Rule):
    """Piecewise-constant values: ``values[j]`` from ``boundaries[j-1]`` on.

    ``values[0]`` holds before ``boundaries[0]``; ``by`` is ``"clock"`` (wall
    clock) or ``"round"`` (the aggregation count). The value for round ``t + 1``
    is looked up at the end of round ``t``. For a K schedule ``values[0]``
    should equal the policy's initial K (checked).

    Parameters
    ----------
    boundaries : tuple of float
        Increasing finite switch points (wall clock or rounds).
    values : tuple of int
        One more value than boundaries.
    by : {"clock", "round"}
        What the boundaries measure.

    Raises
    ------
    ValueError
        For boundaries that do not increase, or the wrong number of values.

    Examples
    --------
    >>> s = Schedule(boundaries=(10.0, 20.0), values=(1, 2, 4))
    >>> v = ServerView.initial(8, 1, 0)
    >>> [int(s(v._replace(clock=jnp.asarray(c)), s.params)) for c in (5, 10, 25)]
    [1, 2, 4]
    """

    boundaries: tuple[float, ...] = ()
    values: tuple[int, ...] = (1,)
    by: str = "clock"
    name: ClassVar[str] = "schedule"

    def __post_init__(self):
        if self.by not in ("clock", "round"):
            raise ValueError(f"by={self.by!r} must be 'clock' or 'round'")
        b = np.asarray(self.boundaries, float)
        if b.ndim != 1 or np.any(~np.isfinite(b)) or np.any(np.diff(b) <= 0):
            raise ValueError(
                f"boundaries={self.boundaries!r} must be increasing finite numbers"
            )
        v = np.asarray(self.values)
        if v.shape != (b.size + 1,) or not np.all(v == np.round(v)):
            raise ValueError(
                f"values={self.values!r} must be {b.size + 1} integers "
                "(one more than the boundaries)"
            )

    @property
    def params(self):
        return {
            "boundaries": jnp.asarray(self.boundaries, float),
            "values": jnp.asarray(self.values, jnp.int32),
        }

    def __call__(self, view, params):
        x = view.clock if self.by == "clock" else view.round
        index = jnp.sum(params["boundaries"] <= x)
        return params["values"][index]

    def check(self, params, low, high):
        values = np.asarray(params["values"])
        if np.any(values < low) or np.any(values > high):
            raise ValueError(
                f"schedule values={values.tolist()} must be in [{low}, {high}]"
            )


@dataclasses.dataclass(frozen=True)
class _LossRule(Rule):
    """Base class of the K rules that follow the loss ratio ``F_0 / F_t``.

    At the end of each round in which the wall clock passed a multiple of
    ``t0``: ``K = max(K, target)``, where ``target`` is the subclass's
    :meth:`target` of ``r = max(F_0, 0) / F_t`` (``N`` when the estimate
    ``F_t <= 0``; K unchanged when the target is nan); ``K0`` is the initial K
    and ``F`` the server's loss estimate. K therefore never decreases.
    """

    t0: float = 1.0
    needs_loss: ClassVar[bool] = True

    def __post_init__(self):
        check_real("t0", self.t0, 0.0, strict_low=True)

    @property
    def params(self):
        return {"t0": jnp.asarray(float(self.t0))}

    def target(
        self, view: ServerView, ratio: jax.Array, params: dict[str, Any]
    ) -> jax.Array:
        """The new K (a float, at most ``N``) for ``ratio = max(F_0, 0) / F_t``.

        Parameters
        ----------
        view : ~absjax.ServerView
            What the server knows after the round.
        ratio : jax.Array
            ``()`` float, ``max(F_0, 0) / F_t``.
        params : dict
            The rule's numbers.

        Returns
        -------
        jax.Array
            ``()`` float, the target K (nan: K unchanged).
        """
        raise NotImplementedError

    def __call__(self, view, params):
        t0 = params["t0"]
        crossed = jnp.floor(view.clock / t0) > jnp.floor(view.last_clock / t0)
        ratio = jnp.maximum(view.loss0, 0.0) / view.loss
        target = self.target(view, ratio, params)
        target = jnp.where(view.loss > 0, target, view.num_workers)
        target = jnp.where(jnp.isnan(target), view.k, target)
        return jnp.where(crossed, jnp.maximum(view.k, target), view.k)

    def check(self, params, low, high):
        check_real("t0", np.asarray(params["t0"]).min(), 0.0, strict_low=True)


@dataclasses.dataclass(frozen=True)
class AdaSync(_LossRule):
    """AdaSync's K rule (Dutta et al., journal version, arXiv 2003.10579).

    At the end of each round in which the wall clock passed a multiple of
    ``t0``: ``K = max(K, target)`` with ``target = min(N, ceil(K0 * sqrt(F_0 /
    F_t)))`` (``N`` when the estimate ``F_t <= 0``); ``K0`` is the initial K
    and ``F`` the server's loss estimate. K therefore never decreases and grows
    as the loss falls.

    Parameters
    ----------
    t0 : float, default 1.0
        The period of the rule's wall-clock checks, ``> 0``.

    Examples
    --------
    >>> rule = AdaSync(t0=1.0)
    >>> view = ServerView.initial(8, 1, 0)._replace(
    ...     clock=jnp.asarray(1.5), loss0=jnp.asarray(4.0), loss=jnp.asarray(1.0))
    >>> int(rule(view, rule.params))  # ceil(1 * sqrt(4 / 1))
    2
    """

    name: ClassVar[str] = "adasync"

    def target(self, view, ratio, params):
        return jnp.minimum(view.num_workers, jnp.ceil(view.k0 * jnp.sqrt(ratio)))


@dataclasses.dataclass(frozen=True)
class LossRatio(_LossRule):
    """The linear loss-ratio K rule **[our reading]** of ABS.

    At the end of each round in which the wall clock passed a multiple of
    ``t0``: ``K = max(K, target)`` with ``target = min(N, floor(K0 * r))``,
    ``r = max(F_0, 0) / F_t`` (``N`` when the estimate ``F_t <= 0``); ``K0``
    is the initial K and ``F`` the server's loss estimate. The rule is found,
    commented out, in STSyn, the public code of the ABS authors' group (Tan,
    Zhu, Zhang, arXiv 2301.08895; docs: Concepts > What the ABS paper leaves
    open, docs/concepts.md#concepts-readings-k); it grows K
    linearly in the loss ratio where AdaSync grows it with its square root.

    Parameters
    ----------
    t0 : float, default 1.0
        The period of the rule's wall-clock checks, ``> 0``.

    Examples
    --------
    >>> rule = LossRatio(t0=1.0)
    >>> view = ServerView.initial(8, 2, 0)._replace(
    ...     clock=jnp.asarray(1.5), loss0=jnp.asarray(5.0), loss=jnp.asarray(2.0))
    >>> int(rule(view, rule.params))  # floor(2 * 5 / 2)
    5
    """

    name: ClassVar[str] = "loss_ratio"

    def target(self, view, ratio, params):
        return jnp.minimum(view.num_workers, jnp.floor(view.k0 * ratio))


@dataclasses.dataclass(frozen=True)
class ExpDelayRoot(_LossRule):
    """AdaSync's K rule for K-sync with exponential delays (arXiv 2003.10579).

    At the end of each round in which the wall clock passed a multiple of
    ``t0``: ``K = max(K, target)``, where ``target`` is the root ``K`` of
    ``K^2 / (N - K) = (K0^2 / (N - K0)) * r``, ``r = max(F_0, 0) / F_t``,
    rounded up: the smallest integer ``K`` in ``[1, N]`` with ``K^2 (N - K0) >=
    K0^2 (N - K) r`` (``N`` when the estimate ``F_t <= 0``). Written without
    division, ``r = 1`` gives exactly ``K0`` and ``K0 = N`` gives ``N``. The
    rule is that of Dutta et al.'s journal version for K-sync with exponential
    delays, as in a public re-implementation of AdaSync (docs: Concepts > What
    the ABS paper leaves open, docs/concepts.md#concepts-readings-k); the
    search over the N candidates costs O(N) per evaluation.

    Parameters
    ----------
    t0 : float, default 1.0
        The period of the rule's wall-clock checks, ``> 0``.

    Examples
    --------
    >>> rule = ExpDelayRoot(t0=1.0)
    >>> view = ServerView.initial(5, 2, 0)._replace(
    ...     clock=jnp.asarray(1.5), loss0=jnp.asarray(3.0), loss=jnp.asarray(1.0))
    >>> int(rule(view, rule.params))  # K^2 * 3 >= 4 * (5 - K) * 3 from K = 3
    3
    """

    name: ClassVar[str] = "exp_delay_root"

    def target(self, view, ratio, params):
        n = view.num_workers
        candidates = jnp.arange(1, n + 1, dtype=ratio.dtype)
        k0 = view.k0.astype(ratio.dtype)
        holds = candidates**2 * (n - k0) >= k0**2 * (n - candidates) * ratio
        holds = holds | (candidates == n)  # K = N always holds (also r = inf)
        return jnp.where(jnp.isnan(ratio), jnp.nan, 1 + jnp.argmax(holds))


@dataclasses.dataclass(frozen=True)
class StalenessBound(Rule):
    """``tau = ceil(kappa * (N - K) / K)``, ABS's default tau rule [our reading].

    ``(N - K) / K`` is the mean staleness of K-async SGD with exponential
    delays (docs: Concepts > Theory, docs/concepts.md#concepts-theory), so
    with ``kappa = 1`` a job is restarted when it
    is staler than K-async's mean staleness, and the bound shrinks as K grows.

    Parameters
    ----------
    kappa : float, default 1.0
        The factor, ``>= 0``.

    Examples
    --------
    >>> rule = StalenessBound(kappa=1.0)
    >>> view = ServerView.initial(8, 2, 0)
    >>> int(rule(view, rule.params))
    3
    """

    kappa: float = 1.0
    name: ClassVar[str] = "staleness_bound"

    def __post_init__(self):
        check_real("kappa", self.kappa, 0.0)

    @property
    def params(self):
        return {"kappa": jnp.asarray(float(self.kappa))}

    def __call__(self, view, params):
        n, k = view.num_workers, view.k
        return jnp.ceil(params["kappa"] * (n - k) / k)

    def check(self, params, low, high):
        check_real("kappa", np.asarray(params["kappa"]).min(), 0.0)


@dataclasses.dataclass(frozen=True, eq=False)
class Function(Rule):
    """A user rule: ``fn(view, params) -> value``, a pure JAX function.

    ``numbers`` are the rule's numbers, passed to ``fn`` as ``params``
    (sweepable as ``policy.k_rule.NAME`` or ``policy.tau_rule.NAME``); set
    ``needs_loss=True`` if ``fn`` reads ``view.loss`` or ``view.loss0``.

    Parameters
    ----------
    fn : callable
        ``fn(view, params) -> value``, a pure JAX function.
    numbers : dict, default {}
        The rule's numbers.
    needs_loss : bool, optional
        Whether ``fn`` reads the loss estimate.

    Raises
    ------
    ValueError
        If ``fn`` is not callable or a number is not real.

    Examples
    --------
    >>> rule = Function(lambda view, p: view.k + p["step"], {"step": 1.0})
    >>> int(rule(ServerView.initial(8, 2, 0), rule.params))
    3
    """

    fn: Callable[[ServerView, dict[str, Any]], jax.typing.ArrayLike] | None = None
    numbers: dict[str, float] = dataclasses.field(default_factory=dict)
    needs_loss: bool = False
    name: ClassVar[str] = "function"

    def __post_init__(self):
        if not callable(self.fn):
            raise ValueError(f"fn={self.fn!r} must be a function (view, params)")
        for key, value in self.numbers.items():
            check_real(f"numbers[{key!r}]", value, -np.inf)

    @property
    def params(self):
        return {name: jnp.asarray(v) for name, v in self.numbers.items()}

    def __call__(self, view, params):
        return self.fn(view, params)


fixed = Fixed
schedule = Schedule
adasync = AdaSync
loss_ratio = LossRatio
exp_delay_root = ExpDelayRoot
staleness_bound = StalenessBound
function = Function
