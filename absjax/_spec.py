"""Parsing of ``name:key=value,...`` specification strings (CLI and TOML).

A SPEC names a registered constructor and its keyword arguments, e.g.
``"shifted_exp:shift=0.5,rate=2"``. Values are converted with ``float``/``int``
according to the constructor's registered types; anything else raises a
``ValueError`` naming the offending key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Splits ``"name:k=v,k2=v2"`` into ``("name", {"k": "v", "k2": "v2"})``.

    >>> split_spec("pareto:scale=1,alpha=2.5")
    ('pareto', {'scale': '1', 'alpha': '2.5'})
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(
            f"spec={spec!r} must be a non-empty string 'name:key=value,...'"
        )
    name, _, rest = spec.strip().partition(":")
    kwargs: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ValueError(f"spec={spec!r}: item {item!r} must look like key=value")
        if key.strip() in kwargs:
            raise ValueError(f"spec={spec!r}: key {key.strip()!r} given twice")
        kwargs[key.strip()] = value.strip()
    return name.strip(), kwargs


def build_from_spec(
    spec: str,
    registry: Mapping[str, tuple[Callable[..., Any], Mapping[str, type]]],
    what: str,
) -> Any:
    """Builds an object from a SPEC using ``registry[name] = (factory, types)``."""
    name, raw = split_spec(spec)
    if name not in registry:
        known = ", ".join(sorted(registry))
        raise ValueError(f"unknown {what} {name!r}; choose one of: {known}")
    factory, types = registry[name]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in types:
            allowed = ", ".join(types) or "none"
            raise ValueError(
                f"{what} {name!r} has no parameter {key!r} (allowed: {allowed})"
            )
        kwargs[key] = convert(f"{what} {name!r}", key, value, types[key])
    return factory(**kwargs)


def convert(where: str, key: str, value: str, kind: type) -> Any:
    """``kind(value)``, or a ValueError naming ``where``, the key and the type."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(
            f"{where}: {key}={value!r} is not a valid {kind.__name__}"
        ) from None
