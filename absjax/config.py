"""Configurations of ``absjax simulate`` and ``absjax sweep``: defaults, TOML
files and flags merged into one dict, and the Simulator it builds.

A configuration holds the keys of :data:`DEFAULTS`; values come from the
defaults, then a TOML file, then the command-line flags (flags win). A bad key
or value is a :class:`UsageError` (one line, exit code 2) before anything is
compiled.

>>> config = merge(flags={"workers": "8", "policy": "k_sync", "k": "2"})
>>> config["workers"], config["policy"], config["k"], config["tau"]
(8, 'k_sync', 2, None)
>>> build_simulator(config).policy.name
'k_sync'
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from absjax import delays, policies, staleness
from absjax._validate import check_int
from absjax.engine import Simulator
from absjax.policies.spec import default_k

DEFAULTS: dict[str, Any] = {
    "workers": 16,
    "policy": "k_async",
    "k": 4,
    "tau": None,
    "delay": "shifted_exp:shift=0.5,rate=2",
    "objective": "linreg:dim=100,samples=4096,batch=32",
    "lr": 0.05,
    "rounds": 1000,
    "seeds": 16,
    "seed": 0,
    "log_every": 10,
    "weight": "constant",
    "normalization": "count",
    "read": "after",
    "upload": None,
    "download": None,
    "startup": None,
    "first_job": None,
    "out": None,
}
TYPES: dict[str, type] = {
    "workers": int,
    "policy": str,
    "k": int,
    "tau": int,
    "delay": str,
    "objective": str,
    "lr": float,
    "rounds": int,
    "seeds": int,
    "seed": int,
    "log_every": int,
    "weight": str,
    "normalization": str,
    "read": str,
    "upload": str,
    "download": str,
    "startup": str,
    "first_job": str,
    "out": str,
}


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


def convert(name: str, value: Any) -> Any:
    """A flag's or TOML value's type: ``TYPES[name]`` (``tau`` may be
    ``none``/``inf``: unbounded)."""
    kind = TYPES[name]
    if value is None:
        return None
    if name == "tau" and isinstance(value, str) and value.lower() in ("none", "inf"):
        return None  # unbounded
    if kind is int:
        if isinstance(value, bool) or isinstance(value, float):
            raise UsageError(f"{name}={value!r} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise UsageError(f"{name}={value!r} must be an integer") from None
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise UsageError(f"{name}={value!r} must be a number") from None
    if not isinstance(value, str):
        raise UsageError(f"{name}={value!r} must be a string")
    return value


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file's table; a ``UsageError`` naming the file if it is missing
    or invalid."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"config file {path} is not valid TOML: {e}") from None


def merge(path: str | None = None, flags: dict[str, Any] | None = None) -> dict:
    """Defaults, then the TOML file at ``path``, then ``flags`` (``None``
    values are not given); every value converted."""
    config = dict(DEFAULTS)
    given: dict[str, Any] = {}
    if path:
        for key, value in read_toml(path).items():
            name = key.replace("-", "_")
            if name not in DEFAULTS:
                raise UsageError(
                    f"config file {path}: unknown key {key!r} (known: "
                    f"{', '.join(sorted(DEFAULTS))})"
                )
            given[name] = convert(name, value)
    for name, value in (flags or {}).items():
        if value is not None:
            given[name] = convert(name, value)
    if given.get("policy", DEFAULTS["policy"]) != DEFAULTS["policy"]:
        config["k"] = None  # the default K belongs to the default policy only
    config.update(given)
    return config


def build_simulator(config: dict[str, Any]):
    """Builds (and thereby validates) the Simulator of a configuration.

    Defaults that depend on the run are resolved here, where N and the delay
    model are known: a K-type number left unset (``k`` of ``k_sync``, ...,
    ``k0``, ``b`` of a SPEC) is ``max(1, N // 4)`` and a SPEC's ``t0`` is 5
    mean job durations (:mod:`absjax.policies.spec`). A policy that prescribes
    a staleness weight (``sa_adasync``) uses it unless ``weight`` is set to
    another one than the default ``constant``.
    """
    num_workers = check_int("num_workers", config["workers"])
    delay = delays.parse_delay(
        config["delay"],
        config["upload"],
        config["download"],
        config["startup"],
        config["first_job"],
    )
    spec = config["policy"]
    if ":" in spec or spec not in policies.BASES:  # a SPEC, e.g. abs:k0=1,t0=5
        if config["k"] is not None or config["tau"] is not None:
            raise ValueError(
                f"policy {spec!r} takes its numbers in the SPEC (e.g. "
                "'abs:k0=1,t0=5' or 'k_async:k=4,tau=2'), not in k/tau"
            )
        policy = policies.parse_policy(spec, num_workers=num_workers, delay=delay)
    else:
        k = config["k"]
        if k is None and spec not in ("sync", "async"):
            k = default_k(num_workers)
        policy = policies.make(spec, k, config["tau"])
    weight = staleness.parse_weight(config["weight"])
    if policy.weight is not None and config["weight"] == DEFAULTS["weight"]:
        weight = None  # the weight a policy prescribes (SA-AdaSync's) wins
    return Simulator(
        num_workers,
        policy,
        delay,
        config["objective"],
        lr=config["lr"],
        rounds=config["rounds"],
        log_every=config["log_every"],
        weight=weight,
        normalization=config["normalization"],
        read=config["read"],
    )
