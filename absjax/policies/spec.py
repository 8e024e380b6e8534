"""Policies from SPEC strings (CLI and TOML): ``"abs:k0=1,t0=5,local_steps=2"``.

Every policy of :data:`REGISTRY` works by its bare name: the parameters the
Python constructors require get documented defaults here, resolved from the
run's context (``absjax list policies`` prints them):

- ``k``, ``k0`` and ``b`` (K-type knobs): ``max(1, N // 4)``, a quarter of
  the N workers (:func:`default_k`);
- ``t0`` (the AdaSync rule's period): 5 mean job durations of the delay model
  (``Delay.mean``, a unit-speed worker), times U for U local steps per job,
  so that K is first revisited after about 5 rounds of work per worker;
- ``s = 1`` (SSP), ``r = 2`` (Ringmaster: only fresh or once-stale updates),
  ``local_steps = 4`` (local SGD).

The readings are chosen by name: ``abs:k_rule=adasync|loss_ratio|exp_root``,
``adasync:k_rule=...`` (:class:`~absjax.rules.AdaSync`,
:class:`~absjax.rules.LossRatio`, :class:`~absjax.rules.ExpDelayRoot` with
period ``t0``), ``sa_adasync:step=inverse|distance,c=...`` (Zhang et al.'s
``1 / max(1, s)`` or :func:`absjax.staleness.distance`); ``abs:tau=3`` is a
constant bound instead of the tau rule.

>>> parse_policy("rennala:b=4").name
'rennala'
>>> p = parse_policy("abs", num_workers=16, delay="exp:rate=2")
>>> p.k, p.k_rule.t0  # max(1, 16 // 4); 5 x the mean 0.5
(4, 2.5)
"""

from __future__ import annotations

from typing import Any

from absjax import rules as rules_lib
from absjax import staleness as staleness_lib
from absjax._spec import Derived, Entry, Param, build_from_spec, show
from absjax.delays import as_delay
from absjax.policies.learned import learned
from absjax.policies.named import (
    abs_,
    adasync,
    asynchronous,
    k_async,
    k_batch_async,
    k_batch_sync,
    k_sync,
    local_sgd,
    rennala,
    ringmaster,
    sa_adasync,
    ssp,
    sync,
)
from absjax.policies.policy import Policy

T0_DURATIONS = 5.0  # t0's default, in mean job durations (times U)
K_RULES = {
    "adasync": rules_lib.AdaSync,
    "loss_ratio": rules_lib.LossRatio,
    "exp_root": rules_lib.ExpDelayRoot,
}


def default_k(num_workers: int) -> int:
    """The default K (also K0 and B) of a SPEC: a quarter of the workers.

    >>> default_k(16), default_k(3)
    (4, 1)
    """
    return max(1, num_workers // 4)


def _k_rule(name: str, t0: float) -> rules_lib.Rule:
    return K_RULES[name](t0)


def _abs(k0: int, t0: float, tau: int | None = None, k_rule="adasync", **parts):
    """ABS for a SPEC: ``k_rule`` by name; ``tau`` given means a constant bound."""
    if tau is not None:
        parts["tau_rule"] = rules_lib.Fixed()
    return abs_(k0, t0, tau=tau, k_rule=_k_rule(k_rule, t0), **parts)


def _adasync(k0: int, t0: float, k_rule="adasync", **parts) -> Policy:
    return adasync(k0, t0, k_rule=_k_rule(k_rule, t0), **parts)


def _sa_adasync(k0: int, t0: float, step="inverse", c: float | None = None, **parts):
    if step == "distance":
        weight = staleness_lib.distance() if c is None else staleness_lib.distance(c)
    elif c is not None:
        raise ValueError(f"c={c!r} is the distance step's C: give step=distance")
    else:
        weight = staleness_lib.inverse()
    return sa_adasync(k0, t0, weight=weight, **parts)


_N = "num_workers"
_K = Param(
    int,
    low=1,
    high=_N,
    default=Derived("max(1, N // 4)", (_N,), lambda c, v: default_k(c[_N])),
)
_T0 = Param(
    float,
    low=0.0,
    strict=True,
    default=Derived(
        f"{show(T0_DURATIONS)} x mean job duration x local_steps",
        ("mean_duration",),
        lambda c, v: T0_DURATIONS * c["mean_duration"] * v["local_steps"],
    ),
)
_TAU = Param(int, low=0, none=("none", "inf"), note="none = unbounded")
_LOCAL = {
    "local_steps": Param(int, low=1),
    "local_duration": Param(str, choices=("sum", "scaled")),
    "local_lr": Param(
        float, low=0.0, strict=True, none=("none",), note="none = the server's lr"
    ),
}
_LOSS = {
    "loss_estimate": Param(str, choices=("minibatch", "exact")),
    "loss_decay": Param(float, low=0.0, high=1.0, strict=True),
}
_K_RULE = Param(str, choices=tuple(K_RULES), note="the K rule, period t0")
_DISTANCE_C = staleness_lib.Distance().c

REGISTRY: dict[str, Entry] = {
    "sync": Entry(sync, {}),
    "k_sync": Entry(k_sync, {"k": _K}),
    "k_batch_sync": Entry(k_batch_sync, {"k": _K}),
    "k_async": Entry(k_async, {"k": _K, "tau": _TAU}),
    "k_batch_async": Entry(k_batch_async, {"k": _K, "tau": _TAU}),
    "async": Entry(asynchronous, {"tau": _TAU}),
    "abs": Entry(
        _abs,
        {
            "k0": _K,
            "t0": _T0,
            "kappa": Param(float, low=0.0),
            "tau": Param(
                int,
                low=0,
                none=("none",),
                note="none = the rule ceil(kappa (N - K) / K); a number = a "
                "constant bound",
            ),
            "k_rule": _K_RULE,
            **_LOCAL,
            **_LOSS,
        },
        source=abs_,
        fallback=Policy,
    ),
    "adasync": Entry(
        _adasync,
        {
            "k0": _K,
            "t0": _T0,
            "base": Param(str, choices=("k_sync", "k_async")),
            "k_rule": _K_RULE,
            **_LOCAL,
            **_LOSS,
        },
        source=adasync,
        fallback=Policy,
    ),
    "sa_adasync": Entry(
        _sa_adasync,
        {
            "k0": _K,
            "t0": _T0,
            "step": Param(
                str,
                choices=("inverse", "distance"),
                note="lr / max(1, s), or Dutta et al.'s min(c / (lr d^2), 1)",
            ),
            "c": Param(
                float,
                low=0.0,
                strict=True,
                shown=show(_DISTANCE_C),
                note="the distance step's C (step=distance only)",
            ),
            **_LOCAL,
            **_LOSS,
        },
        source=sa_adasync,
        fallback=Policy,
    ),
    "local_sgd": Entry(
        local_sgd,
        {
            "local_steps": Param(int, low=1, default=4),
            "k": Param(
                int, low=1, high=_N, none=("none",), note="none = all N workers"
            ),
            "local_duration": _LOCAL["local_duration"],
            "local_lr": _LOCAL["local_lr"],
        },
    ),
    "ssp": Entry(ssp, {"s": Param(int, low=0, default=1)}),
    "rennala": Entry(rennala, {"b": _K}),
    "learned": Entry(
        learned,
        {
            "path": Param(
                str,
                shown="packaged",
                note="a rule saved by absjax.learn (packaged: AdaSync's, N = 8)",
            ),
            "num_workers": Param(
                int,
                low=1,
                default=Derived("N", (_N,), lambda c, v: c[_N]),
                note="the N to run the table on",
            ),
        },
    ),
    "ringmaster": Entry(
        ringmaster,
        {
            "r": Param(int, low=1, default=2),
            "variant": Param(str, choices=("discard", "stop")),
        },
    ),
}


def parse_policy(
    spec: str, num_workers: int | None = None, delay: Any = None
) -> Policy:
    """Builds a policy from a SPEC such as ``"abs:k0=1,t0=5,local_steps=2"``.

    Parameters
    ----------
    spec : str
        ``NAME`` or ``NAME:key=value,...``; the names and parameters are
        :data:`REGISTRY`'s (``absjax list policies``).
    num_workers : int, optional
        N, for the defaults ``max(1, N // 4)`` of ``k``, ``k0``, ``b`` and the range
        checks ``[1, N]``.
    delay : object, optional
        The delay model (a :class:`~absjax.delays.Delay`, a law or a SPEC), for the
        default of ``t0`` (5 mean job durations times U).

    Examples
    --------
    >>> p = parse_policy("ringmaster:r=3,variant=stop")
    >>> p.name, p.base, p.tau
    ('ringmaster', 'async', 2)
    >>> parse_policy("rennala:b=0")
    Traceback (most recent call last):
    ValueError: policy 'rennala': b=0 must be an integer >= 1
    """
    context: dict[str, Any] = {"num_workers": num_workers}
    if delay is not None:
        context["mean_duration"] = lambda: _mean_duration(delay)
    return build_from_spec(spec, REGISTRY, "policy", context)


def _mean_duration(delay: Any) -> float:
    model = as_delay(delay)
    return float(model.mean(model.params))
