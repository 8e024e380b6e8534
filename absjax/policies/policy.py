"""The Policy: one round mechanic (its ``base``) plus optional parts.

Every policy is one of the six round mechanics plus optional parts, each an
explicit parameter (the package docstring of :mod:`absjax.policies` lists
them). A Policy is a static description; the Simulator asks it once, when it
is built, for its mechanics: the arrival rule (:meth:`Policy.arrival_rule`),
the restart rule (:meth:`Policy.restart_rule`) and the loss estimate
(:meth:`Policy.loss_estimator`). ``arrivals=`` and ``restart=`` replace the
defaults of the base by rules of your own (:mod:`absjax.protocols`).

>>> p = Policy("k_async", k=4, tau=3)
>>> p.name, p.k, p.tau, p.synchronous
('k_async', 4, 3, False)
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from absjax import protocols
from absjax import rules as rules_lib
from absjax import staleness as staleness_lib
from absjax._validate import check_int, check_real
from absjax._vocabulary import BASES, SYNCHRONOUS, UNBOUNDED
from absjax.policies import loss_estimate
from absjax.policies.event_loop import EventLoop
from absjax.policies.first_finishers import FirstFinishers
from absjax.policies.restarts import BoundedStaleness, CancelAll, StaleSynchronous
from absjax.protocols import StalenessWeight, check_fits

NAMES = BASES + (
    "abs",
    "adasync",
    "sa_adasync",
    "local_sgd",
    "ssp",
    "rennala",
    "ringmaster",
    "learned",
    "custom",
)


@dataclasses.dataclass(frozen=True)
class Policy:
    """A policy: round mechanics (static), its numbers and its optional parts.

    Attributes
    ----------
    name : str
        The policy's name (one of ``NAMES``; ``custom`` for your own).
    k : int, optional
        Updates per round (initial K under a K rule); ``None`` means all ``num_workers``
        (``sync``) or 1 (``async``).
    tau : int, optional
        Staleness bound of the restart rule (initial bound under a tau rule); ``None``
        means unbounded.
    base : str, optional
        The round mechanics, one of ``BASES`` (default: ``name``).
    k_rule, tau_rule
        :mod:`absjax.rules` rules (``None``: fixed).
    local_steps : int, default 1
        U >= 1 local SGD steps per job.
    local_duration : str, default 'sum'
        ``"sum"`` of U step draws or one draw ``"scaled"`` by U.
    local_lr : float, optional
        Step size of the local steps (``None``: the server's ``lr``, read from
        ``params.lr`` at run time, so that it follows ``lr`` in ``grid=``, ``params=``
        and sweeps).
    loss_estimate : str, default 'minibatch'
        ``"minibatch"`` (what a server sees) or ``"exact"`` (oracle mode) loss for rules
        that read it.
    loss_decay : float, default 0.1
        Weight ``beta`` of a round in the running loss estimate ``L = (1 - beta) L +
        beta * mean(aggregated minibatch losses)``.
    ssp : int, optional
        SSP's bound s on how far a worker may run ahead (base ``async``).
    discard : int, optional
        Staleness ``R`` from which arrivals are discarded (base ``k_batch_async``).
    weight : ~absjax.staleness.Weight, optional
        Staleness weight the policy prescribes (``None``: the Simulator's).
    arrivals : ~absjax.protocols.ArrivalRule, optional
        An arrival rule of your own (``None``: the base's, :class:`FirstFinishers` or
        :class:`EventLoop`).
    restart : ~absjax.protocols.RestartRule, optional
        A restart rule of your own (``None``: the base's, :class:`CancelAll`,
        :class:`BoundedStaleness` or, with ``ssp``, :class:`StaleSynchronous`).
    """

    name: str
    k: int | None = None
    tau: int | None = None
    base: str | None = None
    k_rule: rules_lib.Rule | None = None
    tau_rule: rules_lib.Rule | None = None
    local_steps: int = 1
    local_duration: str = "sum"
    local_lr: float | None = None
    loss_estimate: str = "minibatch"
    loss_decay: float = 0.1
    ssp: int | None = None
    discard: int | None = None
    weight: staleness_lib.Weight | None = None
    arrivals: protocols.ArrivalRule | None = None
    restart: protocols.RestartRule | None = None
    NAMES: ClassVar[tuple[str, ...]] = NAMES

    def __post_init__(self):
        if self.name not in NAMES:
            raise ValueError(f"policy={self.name!r} must be one of {NAMES}")
        base = self.name if self.base is None else self.base
        if base not in BASES:
            raise ValueError(f"base={base!r} must be one of {BASES}")
        if self.name in BASES and base != self.name:
            raise ValueError(f"policy {self.name!r} has base {self.name!r}")
        object.__setattr__(self, "base", base)
        if base in ("sync", "async") and self.k is not None:
            raise ValueError(
                f"policy {self.name!r} takes no k (it is fixed to "
                f"{'num_workers' if base == 'sync' else 1})"
            )
        if base not in ("sync", "async") and self.k is None:
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
        for which in ("k_rule", "tau_rule"):
            rule = getattr(self, which)
            if rule is not None:
                check_fits(which, rule, protocols.Rule, "an absjax.rules Rule")
            if isinstance(rule, rules_lib.Fixed):
                object.__setattr__(self, which, None)
        if self.k_rule is not None and base in ("sync", "async"):
            raise ValueError(f"policy {self.name!r} fixes K: it takes no k_rule")
        if self.tau_rule is not None and self.synchronous:
            raise ValueError(
                f"policy {self.name!r} is synchronous: it takes no tau_rule"
            )
        check_int("local_steps", self.local_steps, 1)
        if self.local_duration not in ("sum", "scaled"):
            raise ValueError(
                f"local_duration={self.local_duration!r} must be 'sum' or 'scaled'"
            )
        if self.local_lr is not None:
            check_real("local_lr", self.local_lr, 0.0, strict_low=True)
        if self.loss_estimate not in ("minibatch", "exact"):
            raise ValueError(
                f"loss_estimate={self.loss_estimate!r} must be 'minibatch' or "
                "'exact' (the oracle mode)"
            )
        check_real("loss_decay", self.loss_decay, 0.0, 1.0 + 1e-12, strict_low=True)
        if self.ssp is not None:
            if base != "async":
                raise ValueError(f"ssp needs base 'async', not {base!r}")
            check_int("ssp", self.ssp, 0)
        if self.discard is not None:
            if base != "k_batch_async":
                raise ValueError(f"discard needs base 'k_batch_async', not {base!r}")
            check_int("discard", self.discard, 1)
        if self.weight is not None:
            check_fits("weight", self.weight, StalenessWeight, "a staleness weight")
        for which in ("arrivals", "restart"):
            rule = getattr(self, which)
            if rule is not None and not callable(rule):
                raise ValueError(
                    f"{which}={rule!r} must be a callable rule (absjax.protocols)"
                )

    @property
    def synchronous(self) -> bool:
        """Whether every worker restarts on the new model after each round."""
        return (self.name if self.base is None else self.base) in SYNCHRONOUS

    @property
    def batch(self) -> bool:
        """Whether finishers restart during the round (the K-batch families)."""
        return self.base in ("k_batch_sync", "k_batch_async")

    @property
    def adaptive(self) -> bool:
        """Whether a rule may change K or tau between rounds."""
        return self.k_rule is not None or self.tau_rule is not None

    @property
    def needs_loss(self) -> bool:
        """Whether a rule reads the server's loss estimate."""
        return any(r is not None and r.needs_loss for r in (self.k_rule, self.tau_rule))

    def resolve_k(self, num_workers: int) -> int:
        """The policy's (initial) K for ``num_workers`` workers, validated.

        Parameters
        ----------
        num_workers : int
            N.

        Returns
        -------
        int
            N for ``sync``, 1 for ``async``, else the policy's K.

        Raises
        ------
        ValueError
            If K is not in ``[1, num_workers]``.
        """
        k = {"sync": num_workers, "async": 1}.get(self.base, self.k)
        if not 1 <= k <= num_workers:
            raise ValueError(f"k={k} must be in [1, num_workers={num_workers}]")
        return k

    def check_numbers(self, k, tau, num_workers: int, capacity: int) -> None:
        """Check values of K and tau against this policy's invariants.

        Parameters
        ----------
        k, tau : ArrayLike
            ``params.k`` and ``params.tau``, possibly gridded.
        num_workers : int
            N.
        capacity : int
            The arrivals per round a simulator was built for.

        Raises
        ------
        ValueError
            For values that break this policy's invariants.
        """
        n = num_workers
        k = np.asarray(k)
        if np.any(k < 1) or np.any(k > n) or not np.issubdtype(k.dtype, np.integer):
            raise ValueError(f"k={k.tolist()} must be integers in [1, num_workers={n}]")
        if np.any(k > capacity):
            raise ValueError(
                f"k={k.tolist()} exceeds k_max={capacity}, the "
                "arrivals per round this simulator was built for; "
                "build it with a larger k_max"
            )
        tau = np.asarray(tau)
        if np.any(tau < 0) or not np.issubdtype(tau.dtype, np.integer):
            raise ValueError(f"tau={tau.tolist()} must be integers >= 0")
        if self.synchronous and np.any(tau != UNBOUNDED):
            raise ValueError(
                f"tau is a staleness bound; policy {self.name!r} "
                "is synchronous: leave tau unset"
            )
        if self.base in ("sync", "async"):
            fixed = n if self.base == "sync" else 1
            if np.any(k != fixed):
                raise ValueError(f"policy {self.name!r} fixes k={fixed}")

    def resolve_tau(self) -> int:
        """The policy's (initial) staleness bound, ``UNBOUNDED`` for none.

        Returns
        -------
        int
        """
        return UNBOUNDED if self.tau is None else self.tau

    def numbers(self) -> dict[str, jax.Array]:
        """The policy's sweepable numbers (``SimParams.policy``).

        Only the policy's own numbers: none is copied from another one. A
        ``local_lr`` left unset has no entry, so the local steps read the
        server's ``params.lr`` wherever it is set (``grid=``, ``params=``,
        sweeps, Ensemble); a ``local_lr`` that is set is a number of its own
        (``grid={"policy.local_lr": ...}``).
        """
        numbers: dict[str, Any] = {}
        if self.k_rule is not None:
            numbers["k_rule"] = self.k_rule.params
        if self.tau_rule is not None:
            numbers["tau_rule"] = self.tau_rule.params
        if self.local_steps > 1 and self.local_lr is not None:
            numbers["local_lr"] = jnp.asarray(float(self.local_lr))
        if self.needs_loss and self.loss_estimate == "minibatch":
            numbers["loss_decay"] = jnp.asarray(float(self.loss_decay))
        if self.ssp is not None:
            numbers["ssp"] = jnp.int32(self.ssp)
        if self.discard is not None:
            numbers["discard"] = jnp.int32(self.discard)
        return numbers

    def arrival_rule(self):
        """When a round ends and what arrives: the K first finishers, or the
        event loop of the batch families (with the discard rule)."""
        if self.arrivals is not None:
            return self.arrivals
        if self.batch:
            return EventLoop(discard=self.discard is not None)
        return FirstFinishers()

    def restart_rule(self):
        """Who restarts after a round: all (synchronous), the free and the
        over-stale workers (asynchronous), with SSP's blocking."""
        if self.restart is not None:
            return self.restart
        if self.synchronous:
            return CancelAll()
        if self.ssp is not None:
            return StaleSynchronous()
        return BoundedStaleness()

    def loss_estimator(self):
        """The server's loss estimate (none unless a rule reads the loss)."""
        if not self.needs_loss:
            return loss_estimate.NoEstimate()
        if self.loss_estimate == "exact":
            return loss_estimate.ExactLoss()
        return loss_estimate.MinibatchAverage()
