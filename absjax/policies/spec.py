"""Policies from SPEC strings (CLI and TOML): ``"abs:k0=1,t0=5,local_steps=2"``.

>>> parse_policy("rennala:b=4").name
'rennala'
"""

from __future__ import annotations

from absjax import rules as rules_lib
from absjax._spec import build_from_spec, split_spec
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


def _abs_from_spec(k0: int, t0: float, tau: int | None = None, **parts) -> Policy:
    """ABS for a SPEC: ``tau`` given means a constant bound (no tau rule)."""
    if tau is not None:
        parts["tau_rule"] = rules_lib.Fixed()
    return abs_(k0, t0, tau=tau, **parts)


_LOCAL = {"local_steps": int, "local_duration": str, "local_lr": float}
_LOSS = {"loss_estimate": str, "loss_decay": float}
_REGISTRY = {
    "sync": (sync, {}),
    "k_sync": (k_sync, {"k": int}),
    "k_batch_sync": (k_batch_sync, {"k": int}),
    "k_async": (k_async, {"k": int, "tau": int}),
    "k_batch_async": (k_batch_async, {"k": int, "tau": int}),
    "async": (asynchronous, {"tau": int}),
    "abs": (
        _abs_from_spec,
        {"k0": int, "t0": float, "kappa": float, "tau": int, **_LOCAL, **_LOSS},
    ),
    "adasync": (adasync, {"k0": int, "t0": float, "base": str, **_LOCAL, **_LOSS}),
    "sa_adasync": (sa_adasync, {"k0": int, "t0": float, **_LOCAL, **_LOSS}),
    "local_sgd": (local_sgd, {"local_steps": int, "k": int, **_LOCAL}),
    "ssp": (ssp, {"s": int}),
    "rennala": (rennala, {"b": int}),
    "ringmaster": (ringmaster, {"r": int, "variant": str}),
}


def parse_policy(spec: str) -> Policy:
    """Builds a policy from a SPEC such as ``"abs:k0=1,t0=5,local_steps=2"``.

    Names and parameters: ``sync``; ``k_sync:k``; ``k_batch_sync:k``;
    ``k_async:k,tau``; ``k_batch_async:k,tau``; ``async:tau``;
    ``abs:k0,t0,kappa,tau`` (``tau``: a constant bound instead of the rule);
    ``adasync:k0,t0,base``; ``sa_adasync:k0,t0``; ``local_sgd:local_steps,k``;
    ``ssp:s``; ``rennala:b``; ``ringmaster:r,variant``; the adaptive ones and
    ``local_sgd`` also take ``local_steps``, ``local_duration``, ``local_lr``,
    and the AdaSync ones ``loss_estimate`` and ``loss_decay``.

    >>> p = parse_policy("ringmaster:r=3,variant=stop")
    >>> p.name, p.base, p.tau
    ('ringmaster', 'async', 2)
    """
    try:
        return build_from_spec(spec, _REGISTRY, "policy")
    except TypeError as e:  # a required parameter is missing
        name = split_spec(spec)[0]
        needed = ", ".join(_REGISTRY[name][1])
        raise ValueError(
            f"policy {name!r} is missing a parameter ({e}); its parameters: {needed}"
        ) from None
