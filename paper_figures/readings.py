"""Our readings of ABS and SA-AdaSync, as numbers of one compiled program.

The ABS text does not give us its K rule, its staleness bound, nor (for the
baseline SA-AdaSync) which staleness-aware step is meant (docs: Concepts > What
the ABS paper leaves open, docs/concepts.md#concepts-readings). Each is an
explicit option here, and every option is a *number* of the simulation, so
that one compiled program per round mechanics runs all readings (compiling is
what costs most on a CPU; a new number never recompiles):

========== ============================== ====================================
part       options (``which``)             absjax implementation
========== ============================== ====================================
K rule     0 AdaSync's ``ceil(K0 sqrt(     ``rules.AdaSync(t0)`` (default)
           F0/Ft))``; 1 linear loss ratio  ``rules.LossRatio(t0)``
           (STSyn code); 2 AdaSync's       ``rules.ExpDelayRoot(t0)``
           exponential-delay root; 3 fixed K
tau rule   0 ``ceil(kappa (N - K^t)/K^t)``;  ``rules.StalenessBound(kappa)``
           1 the same at K^0, constant;    (default; 1 evaluates it at K^0)
           2 no bound
step       0 constant; 1 Zhang et al.'s     ``staleness.Inverse()``
           ``eta / max(1, s)``; 2 Dutta et   ``staleness.Distance(c)``
           al.'s ``min(C / ||w - w_read||^2,
           eta_max)``
========== ============================== ====================================

:func:`policy` builds the program's policy over ``k_async`` (ABS, SA-AdaSync
and async are points of it) or ``k_sync`` (AdaSync, K-sync, sync and local SGD
are points of it; it takes the K rule only); :data:`POINTS` names the points.
Every option delegates to the absjax rule or weight it names, so a point's
numbers are those of the named policy (``policies.abs_``,
``policies.sa_adasync``, ``policies.asynchronous``, ``policies.adasync``,
``policies.k_sync``, ``policies.local_sgd``); ``tests/test_paper_figures.py``
checks this equivalence run against run.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax.numpy as jnp

from absjax import policies, rules, staleness
from absjax.results import UNBOUNDED

K_RULES = ("adasync", "loss_ratio", "exp_delay_root", "fixed")
TAU_RULES = ("staleness_bound", "frozen", "none")
STEPS = ("constant", "inverse", "distance")
_K_CLASSES = (rules.AdaSync, rules.LossRatio, rules.ExpDelayRoot)


def _k_reading(view, params):
    """K of the next round under reading ``params["which"]`` (see module)."""
    sub = {"t0": params["t0"]}
    out = view.k.astype(params["t0"].dtype)  # 3: K stays fixed
    for which, rule in enumerate(_K_CLASSES):
        out = jnp.where(params["which"] == which, rule()(view, sub), out)
    return out


def _tau_reading(view, params):
    """Staleness bound of the next round under reading ``params["which"]``."""
    bound = rules.StalenessBound()
    sub = {"kappa": params["kappa"]}
    shrinking = bound(view, sub)
    frozen = bound(view._replace(k=view.k0), sub)
    unbounded = jnp.asarray(float(UNBOUNDED), shrinking.dtype)
    return jnp.where(
        params["which"] == 0,
        shrinking,
        jnp.where(params["which"] == 1, frozen, unbounded),
    )


@dataclasses.dataclass(frozen=True)
class Step(staleness.Weight):
    """SA-AdaSync's staleness-aware step as a number: ``which`` 0 constant
    (no step change), 1 ``staleness.Inverse()``, 2 ``staleness.Distance(c)``
    (see the module docstring)."""

    which: float = 0.0
    c: float = 0.01
    name: ClassVar[str] = "reading"
    needs_distance: ClassVar[bool] = True  # the engine passes distance2, lr

    def __post_init__(self):
        if self.which not in (0.0, 1.0, 2.0):
            raise ValueError(f"which={self.which!r} must be 0, 1 or 2 ({STEPS})")
        staleness.Distance(c=self.c)  # validates c > 0

    def __call__(self, s, params, distance2=None, lr=None):
        inverse = staleness.Inverse()(s, {})
        distance = staleness.Distance()(
            s, {"c": params["c"]}, distance2=distance2, lr=lr
        )
        which = params["which"]
        return jnp.where(which == 0, 1.0, jnp.where(which == 1, inverse, distance))


def policy(base: str, t0: float, kappa: float = 1.0, local_steps: int = 1):
    """The policy of one program: ``base`` ``"k_async"`` (K rule, tau rule and
    step readings) or ``"k_sync"`` (K rule only), ``local_steps`` U per job
    (their durations summed). Its numbers start at the defaults (AdaSync's K
    rule, the shrinking bound, a constant step); :func:`numbers` sets a point.
    """
    k_rule = rules.Function(_k_reading, {"which": 0.0, "t0": t0}, needs_loss=True)
    if base == "k_sync":
        return policies.custom("k_sync", k=1, k_rule=k_rule, local_steps=local_steps)
    if base != "k_async":
        raise ValueError(f"base={base!r} must be 'k_async' or 'k_sync'")
    tau_rule = rules.Function(_tau_reading, {"which": 0.0, "kappa": kappa})
    return policies.custom(
        "k_async",
        k=1,
        k_rule=k_rule,
        tau_rule=tau_rule,
        weight=Step(),
        local_steps=local_steps,
    )


@dataclasses.dataclass(frozen=True)
class Point:
    """A method as numbers of a program: its base and its readings."""

    base: str  # "k_async" or "k_sync"
    k_rule: str = "adasync"
    tau_rule: str = "none"
    step: str = "constant"


# The named methods as points (the defaults are ours; see the module).
POINTS = {
    "abs": Point("k_async", "adasync", "staleness_bound", "constant"),
    "sa_adasync": Point("k_async", "adasync", "none", "inverse"),
    "async": Point("k_async", "fixed", "none", "constant"),
    "adasync": Point("k_sync", "adasync"),
    "k_sync": Point("k_sync", "fixed"),
    "sync": Point("k_sync", "fixed"),
    "local_sgd": Point("k_sync", "fixed"),
}


def numbers(params, point: Point, c: float | None = None):
    """``params`` (a ``SimParams`` of a :func:`policy` program) set to
    ``point``; ``c`` is the distance step's C (needed when ``point.step`` is
    ``"distance"``)."""
    policy_numbers = dict(params.policy)
    policy_numbers["k_rule"] = dict(
        policy_numbers["k_rule"], which=float(K_RULES.index(point.k_rule))
    )
    if point.base == "k_sync":
        if (point.tau_rule, point.step) != ("none", "constant"):
            raise ValueError(f"{point} has no staleness (base k_sync)")
        return params._replace(policy=policy_numbers)
    policy_numbers["tau_rule"] = dict(
        policy_numbers["tau_rule"], which=float(TAU_RULES.index(point.tau_rule))
    )
    weight = dict(params.weight, which=float(STEPS.index(point.step)))
    if point.step == "distance":
        if c is None:
            raise ValueError("the distance step needs c")
        weight["c"] = float(c)
    return params._replace(policy=policy_numbers, weight=weight)
