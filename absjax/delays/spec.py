"""SPEC strings of the delay laws and of the cluster delay model.

``parse_law("pareto:scale=1,alpha=2.5")`` builds a law (the registry is
``LAWS``, plus the alias ``exponential`` and ``trace:path=FILE``);
``parse_delay`` also takes the :class:`~absjax.delays.Delay` modifiers;
``as_delay`` accepts a ``Delay``, a bare law or a SPEC string.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from absjax._spec import build_from_spec, convert, split_spec
from absjax.delays.cluster import Delay
from absjax.delays.laws import LAWS, Law
from absjax.delays.traces import Trace


def _law_registry():
    registry: dict[str, tuple[Any, dict[str, type]]] = {}
    for name, cls in LAWS.items():
        types = {f.name: float for f in dataclasses.fields(cls)}
        registry[name] = (cls, types)
    registry["exponential"] = registry["exp"]
    registry["trace"] = (_trace_from_spec, {"path": str, "format": str})
    return registry


def _trace_from_spec(path: str | None = None, format: str = "auto") -> Trace:
    if path is None:
        raise ValueError(
            "delay law 'trace' needs path=FILE, a CSV file of measured durations "
            "(e.g. 'trace:path=durations.csv,format=wide')"
        )
    return Trace.from_csv(path, format)


_MODIFIERS = {
    "speeds": str,
    "speed_spread": float,
    "straggler_prob": float,
    "straggler_factor": float,
    "markov_slow": float,
    "markov_recover": float,
    "markov_factor": float,
}


def parse_law(spec: str) -> Law:
    """Builds a law from a SPEC such as ``"pareto:scale=1,alpha=2.5"``.

    ``"trace:path=FILE,format=auto|wide|long|pooled"`` reads a :class:`Trace`
    (a relative path is taken from the working directory; it may not hold a
    comma).
    """
    return build_from_spec(spec, _law_registry(), "delay law")


def parse_delay(spec: str, upload: str | None = None, download: str | None = None):
    """Builds a :class:`Delay` from a SPEC; modifiers may follow the law's keys.

    Modifiers: ``speeds``, ``speed_spread``, ``straggler_prob``,
    ``straggler_factor``, ``markov_slow``, ``markov_recover``,
    ``markov_factor`` (the :class:`Delay` fields), e.g.
    ``"trace:path=durations.csv,markov_slow=0.01,markov_recover=0.2,
    markov_factor=3"``.

    >>> parse_delay("exp:rate=2,straggler_prob=0.1,straggler_factor=4").compute
    Exponential(rate=2.0)
    """

    name, raw = split_spec(spec)
    law_items = {k: v for k, v in raw.items() if k not in _MODIFIERS}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _MODIFIERS:
            extra[key] = convert("delay", key, value, _MODIFIERS[key])
    law_spec = name + (
        ":" + ",".join(f"{k}={v}" for k, v in law_items.items()) if law_items else ""
    )
    return Delay(
        compute=parse_law(law_spec),
        upload=parse_law(upload) if upload else None,
        download=parse_law(download) if download else None,
        **extra,
    )


def as_delay(delay: Delay | Law | str) -> Delay:
    """Accepts a :class:`Delay`, a bare law or a SPEC string."""
    if isinstance(delay, Delay):
        return delay
    if isinstance(delay, Law):
        return Delay(delay)
    if isinstance(delay, str):
        return parse_delay(delay)
    raise ValueError(f"delay={delay!r} must be a Delay, a law or a SPEC string")
