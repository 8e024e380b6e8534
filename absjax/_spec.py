"""Parsing of ``name:key=value,...`` specification strings (CLI and TOML), and
registries that describe themselves.

A SPEC names a registered constructor and its keyword arguments, e.g.
``"shifted_exp:shift=0.5,rate=2"``. A registry maps each name to an
:class:`Entry`: the constructor and, per parameter, a :class:`Param` (the
conversion of its text, its range or choices, its default). An entry takes
its defaults from the constructor's signature and its one-line meaning from
the constructor's docstring, so that the listing (``absjax list``) cannot go
stale. A default that depends on the run, such as a quarter of the workers, is
a :class:`Derived`, resolved from the ``context`` the caller passes
(``num_workers``, ``mean_duration``). Every error is a ``ValueError`` that
names the kind, the name and the user's own parameter.

>>> def power(base: float, exp: int = 2) -> float:
...     '''The power ``base ** exp``.'''
...     return base**exp
>>> registry = {"power": Entry(power, {"base": float, "exp": Param(int, low=0)})}
>>> build_from_spec("power:base=3", registry, "function")
9.0
>>> print(registry["power"].describe("power"))
power: The power base ** exp.
  base=required (float)
  exp=2 (int >= 0)
>>> build_from_spec("power:base=3,exp=-1", registry, "function")
Traceback (most recent call last):
ValueError: function 'power': exp=-1 must be an integer >= 0
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

REQUIRED = inspect.Parameter.empty  # a parameter without a default
FROM_SIGNATURE = object()  # Param.default: read it from the constructor
SYMBOLS = {"num_workers": "N"}  # how the listing writes a context key


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


def convert(where: str, key: str, value: str, kind: Callable[[str], Any]) -> Any:
    """``kind(value)``, or a ValueError naming ``where``, the key and the type."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(
            f"{where}: {key}={value!r} is not a valid {kind.__name__}"
        ) from None


@dataclasses.dataclass(frozen=True)
class Derived:
    """A default computed from the run, e.g. ``max(1, N // 4)``.

    Attributes:
      text: how the listing shows it.
      needs: the context keys it reads (``num_workers``, ``mean_duration``).
      fn: ``fn(context, values) -> value``, with ``context`` holding the keys
        of ``needs`` and ``values`` the SPEC's other parameters (given or
        defaulted).
    """

    text: str
    needs: tuple[str, ...]
    fn: Callable[[Mapping[str, Any], Mapping[str, Any]], Any]


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a SPEC: its conversion, range and default.

    Attributes:
      kind: text -> value: ``int``, ``float``, ``str`` or a parser whose
        ``__name__`` names the type.
      default: a value, a :class:`Derived`, ``REQUIRED``, or (unset) the
        constructor's own default.
      low, high: the range of a number, both included unless ``strict``
        (``low`` excluded); ``high`` may be a context key (``"num_workers"``).
      strict: whether ``low`` itself is refused.
      choices: the words a text parameter allows.
      none: words read as ``None`` (e.g. ``("none", "inf")``: unbounded).
      note: what a default such as ``none`` means, shown in the listing.
      shown: the default as the listing shows it, when the constructor's
        (``None``) stands for another one.
    """

    kind: Callable[[str], Any] = str
    default: Any = FROM_SIGNATURE
    low: float | None = None
    high: float | str | None = None
    strict: bool = False
    choices: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    note: str = ""
    shown: str | None = None

    def parse(self, where: str, key: str, text: str, context: Mapping[str, Any]):
        """The value of ``key=text``, checked (``where`` starts the errors)."""
        if text.lower() in self.none:
            return None
        if self.choices and text not in self.choices:
            raise ValueError(
                f"{where}: {key}={text!r} must be one of {', '.join(self.choices)}"
            )
        value = convert(where, key, text, self.kind)
        self.check(where, key, value, context)
        return value

    def check(self, where: str, key: str, value: Any, context: Mapping[str, Any]):
        """Raises a ``ValueError`` naming ``key`` if ``value`` is out of range."""
        if self.low is None and self.high is None:
            return
        high, label = self.high, None
        if isinstance(high, str):  # a context key, unknown without the context
            high, label = context.get(high), f"{high}={context.get(high)}"
        ok = not isinstance(value, float) or math.isfinite(value)
        if self.low is not None:
            ok = ok and (value > self.low if self.strict else value >= self.low)
        ok = ok and (high is None or value <= high)
        if not ok:
            noun = "an integer" if self.kind is int else "a number"
            span = self._span(label if label and high is not None else high)
            raise ValueError(f"{where}: {key}={value!r} must be {noun} {span}")

    def _span(self, high: Any) -> str:
        low = f"{self.low:g}" if self.low is not None else None
        high = f"{high:g}" if isinstance(high, int | float) else high
        if high is None:
            return f"{'>' if self.strict else '>='} {low}"
        if low is None:
            return f"<= {high}"
        return f"in {'(' if self.strict else '['}{low}, {high}]"

    def type_text(self) -> str:
        """The type as the listing shows it, e.g. ``int in [1, N]``."""
        if self.choices:
            text = "|".join(self.choices)
        else:
            text = getattr(self.kind, "__name__", str(self.kind))
            if self.low is not None or self.high is not None:
                text += " " + self._span(SYMBOLS.get(self.high, self.high))
        return text + (" or none" if self.none else "")

    def default_text(self) -> str:
        """The default as the listing shows it."""
        default = self.default
        if self.shown is not None:
            return self.shown
        if default is REQUIRED:
            return "required"
        if isinstance(default, Derived):
            return default.text
        return show(default)


def show(value: Any) -> str:
    """A value as a SPEC writes it: ``none``, ``0.5``, ``64x32``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value) if value else "none"
    return str(value)


def meaning_of(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring on one line, without the
    reStructuredText quotes."""
    doc = inspect.getdoc(obj) or ""
    paragraph = doc.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.replace("``", "").split())


@dataclasses.dataclass(frozen=True)
class Entry:
    """A registered name: its constructor and its parameters.

    Attributes:
      factory: what :meth:`build` calls with the SPEC's keyword arguments.
      params: per parameter a :class:`Param` (or a bare type); a parameter
        whose ``Param.default`` is unset takes the default of the first of
        ``factory``, ``source``, ``fallback`` that names it.
      source: the documented constructor ``factory`` wraps, whose docstring
        gives the meaning (``None``: ``factory``).
      fallback: where the defaults of ``**kwargs`` passed through live (e.g.
        the :class:`~absjax.policies.Policy` fields).
      meaning: the one-line meaning (``None``: from ``source``'s docstring).
    """

    factory: Callable[..., Any]
    params: Mapping[str, Param | Callable[[str], Any]]
    source: Callable[..., Any] | None = None
    fallback: Callable[..., Any] | None = None
    meaning: str | None = None

    def __post_init__(self):
        params, filled = {}, set()
        for key, param in self.params.items():
            param = param if isinstance(param, Param) else Param(param)
            if param.default is FROM_SIGNATURE:
                param = dataclasses.replace(param, default=self._signature(key))
            elif param.default is not REQUIRED:
                filled.add(key)  # a default of ours: the factory has none
            params[key] = param
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "_filled", frozenset(filled))
        if self.meaning is None:
            doc = self.source if self.source is not None else self.factory
            object.__setattr__(self, "meaning", meaning_of(doc))

    def _signature(self, key: str) -> Any:
        """``key``'s default in the first callable that names it."""
        for fn in (self.factory, self.source, self.fallback):
            if fn is None:
                continue
            parameters = inspect.signature(fn).parameters
            if key in parameters:
                return parameters[key].default
            if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
                break
        raise TypeError(f"{self.factory!r} takes no parameter {key!r}")

    def allowed(self) -> str:
        """``key=default`` of every parameter, for error messages."""
        return (
            ", ".join(f"{k}={p.default_text()}" for k, p in self.params.items())
            or "none"
        )

    def describe(self, name: str) -> str:
        """``name: meaning``, then one ``  key=default (type)`` line each."""
        lines = [f"{name}: {self.meaning}"]
        for key, param in self.params.items():
            note = f": {param.note}" if param.note else ""
            lines.append(f"  {key}={param.default_text()} ({param.type_text()}){note}")
        return "\n".join(lines)

    def build(
        self,
        what: str,
        name: str,
        raw: Mapping[str, str],
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """``factory(**kwargs)`` of the SPEC's ``raw`` texts and the defaults.

        Context values may be callables, called only when a default needs them.
        """
        where, context = f"{what} {name!r}", dict(context or {})
        kwargs: dict[str, Any] = {}
        for key, text in raw.items():
            if key not in self.params:
                raise ValueError(
                    f"{where} has no parameter {key!r} (allowed: {self.allowed()})"
                )
            kwargs[key] = self.params[key].parse(where, key, text, context)
        values = {
            k: p.default
            for k, p in self.params.items()
            if p.default is not REQUIRED and not isinstance(p.default, Derived)
        }
        values.update(kwargs)
        for key, param in self.params.items():
            if key in kwargs:
                continue
            if param.default is REQUIRED:
                raise ValueError(
                    f"{where} is missing {key} (its parameters: {self.allowed()})"
                )
            if isinstance(param.default, Derived):
                kwargs[key] = self._derive(where, key, param.default, context, values)
            elif key in self._filled:
                kwargs[key] = param.default
        try:
            return self.factory(**kwargs)
        except ValueError as e:
            message = str(e)
            if not message.startswith(where):
                message = f"{where}: {message}"
            raise ValueError(message) from None

    @staticmethod
    def _derive(where, key, derived: Derived, context, values) -> Any:
        known = {}
        for need in derived.needs:
            value = context.get(need)
            value = value() if callable(value) else value
            if value is None:
                raise ValueError(
                    f"{where}: {key} has no default without {need} "
                    f"({key}={derived.text}); give {key}=..."
                )
            known[need] = value
        return derived.fn(known, values)


def build_from_spec(
    spec: str,
    registry: Mapping[str, Entry | tuple],
    what: str,
    context: Mapping[str, Any] | None = None,
) -> Any:
    """Builds an object from a SPEC using ``registry[name]``, an :class:`Entry`
    (or a ``(factory, types)`` pair); ``context`` resolves the :class:`Derived`
    defaults."""
    name, raw = split_spec(spec)
    if name not in registry:
        known = ", ".join(sorted(registry))
        raise ValueError(f"unknown {what} {name!r}; choose one of: {known}")
    entry = registry[name]
    if not isinstance(entry, Entry):
        entry = Entry(*entry)
    return entry.build(what, name, raw, context)
