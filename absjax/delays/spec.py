"""SPEC strings of the delay laws and of the cluster delay model.

``parse_law("pareto:scale=1,alpha=2.5")`` builds a law (the registry is
:data:`LAW_REGISTRY`: every law of ``LAWS``, the alias ``exponential`` and
``trace:path=FILE``); ``parse_delay`` also takes the :class:`~absjax.delays.Delay`
modifiers (:data:`MODIFIERS`); ``as_delay`` accepts a ``Delay``, a bare law or
a SPEC string. ``absjax list delays`` prints both registries.

>>> print(LAW_REGISTRY["exp"].describe("exp"))
exp: Exponential durations with the given rate (mean 1/rate).
  rate=1 (float)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from absjax._spec import Entry, Param, build_from_spec, split_spec
from absjax.delays._csv import FORMATS
from absjax.delays.cluster import SPEED_MODES, Delay
from absjax.delays.laws import LAWS, Law
from absjax.delays.traces import ENDS, MODES, Trace
from absjax.protocols import DelayLaw, check_fits


def _trace_from_spec(
    path: str | None = None,
    format: str = "auto",
    mode: str = "resample",
    end: str = "cycle",
    start: int | None = None,
) -> Trace:
    if path is None:
        raise ValueError(
            "delay law 'trace' needs path=FILE, a CSV file of measured durations "
            "(e.g. 'trace:path=durations.csv,format=wide')"
        )
    return Trace.from_csv(path, format, mode=mode, end=end, start=start)


def _law_registry() -> dict[str, Entry]:
    registry = {
        name: Entry(cls, {f.name: float for f in dataclasses.fields(cls)})
        for name, cls in LAWS.items()
    }
    registry["exponential"] = registry["exp"]  # an alias: the same entry
    registry["trace"] = Entry(
        _trace_from_spec,
        {
            "path": Param(
                str, shown="required", note="a CSV file of measured durations"
            ),
            "format": Param(str, choices=FORMATS),
            "mode": Param(
                str, choices=MODES, note="replay: each worker's jobs in file order"
            ),
            "end": Param(str, choices=ENDS, note="a replay past a column's end"),
            "start": Param(
                int,
                low=0,
                none=("random",),
                shown="random",
                note="the row every seed's replay starts at",
            ),
        },
        source=Trace,
    )
    return registry


LAW_REGISTRY: dict[str, Entry] = _law_registry()
MODIFIERS = Entry(
    Delay,
    {
        "speeds": Param(str, choices=SPEED_MODES),
        "speed_spread": float,
        "straggler_prob": float,
        "straggler_factor": float,
        "markov_slow": float,
        "markov_recover": float,
        "markov_factor": float,
    },
    meaning="after any law's parameters: per-worker speeds (sqrt: worker i is "
    "sqrt(i + 1) times slower), random stragglers and persistent (Markov) "
    "stragglers (absjax.delays.Delay)",
)


def parse_law(spec: str) -> Law:
    """Builds a law from a SPEC such as ``"pareto:scale=1,alpha=2.5"``.

    ``"trace:path=FILE,format=auto|wide|long|pooled"`` reads a :class:`Trace`
    (a relative path is taken from the working directory; it may not hold a
    comma); ``mode=replay`` replays each worker's column in order, with
    ``end=cycle|stop`` and ``start=ROW|random``.

    Parameters
    ----------
    spec : str
        ``"NAME:key=value,..."``, NAME one of ``LAWS`` or ``trace``.

    Returns
    -------
    ~absjax.delays.Law

    Raises
    ------
    ValueError
        For an unknown law, an unknown key or a value out of range.

    Examples
    --------
    >>> parse_law("pareto:scale=1,alpha=2.5")
    Pareto(scale=1.0, alpha=2.5)
    """
    return build_from_spec(spec, LAW_REGISTRY, "delay law")


def parse_startup(text: str) -> Law | tuple[float, ...]:
    """A start-up SPEC: a delay law (``"uniform:low=0,high=8"``) or per-worker
    times separated by ``;`` (``"0;2.5;7"``).

    >>> parse_startup("0;2.5;7")
    (0.0, 2.5, 7.0)
    """
    name = text.strip().partition(":")[0]
    if name in LAW_REGISTRY:
        return parse_law(text)
    try:
        return tuple(float(x) for x in text.split(";"))
    except ValueError:
        raise ValueError(
            f"startup={text!r} must be a delay law SPEC or per-worker times "
            "separated by ';' (e.g. '0;2.5;7')"
        ) from None


def parse_delay(
    spec: str,
    upload: str | None = None,
    download: str | None = None,
    startup: str | None = None,
    first_job: str | None = None,
):
    """Builds a :class:`Delay` from a SPEC; modifiers may follow the law's keys.

    Modifiers: ``speeds``, ``speed_spread``, ``straggler_prob``,
    ``straggler_factor``, ``markov_slow``, ``markov_recover``,
    ``markov_factor`` (the :class:`Delay` fields); ``upload``,
    ``download`` and ``first_job`` are law SPECs, ``startup`` a law SPEC or
    per-worker times (:func:`parse_startup`), e.g.
    ``"trace:path=durations.csv,markov_slow=0.01,markov_recover=0.2,
    markov_factor=3"``.

    Parameters
    ----------
    spec : str
        The compute law's SPEC, optionally followed by modifiers.
    upload : str, optional
        SPEC of the upload time's law (``None``: instantaneous).
    download : str, optional
        SPEC of the download time's law (``None``: instantaneous).
    startup : str, optional
        A law SPEC or per-worker times separated by ``;``
        (:func:`parse_startup`; ``None``: every worker starts at 0).
    first_job : str, optional
        SPEC of the law of a worker's first compute time (``None``: the
        compute law's).

    Returns
    -------
    ~absjax.Delay

    Raises
    ------
    ValueError
        For an unknown law or key, or a value out of range.

    Examples
    --------
    >>> parse_delay("exp:rate=2,straggler_prob=0.1,straggler_factor=4").compute
    Exponential(rate=2.0)
    """

    name, raw = split_spec(spec)
    modifiers = MODIFIERS.params
    law_items = {k: v for k, v in raw.items() if k not in modifiers}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key in modifiers:
            extra[key] = modifiers[key].parse("delay", key, value, {})
    law_spec = name + (
        ":" + ",".join(f"{k}={v}" for k, v in law_items.items()) if law_items else ""
    )
    return Delay(
        compute=parse_law(law_spec),
        upload=parse_law(upload) if upload else None,
        download=parse_law(download) if download else None,
        startup=parse_startup(startup) if startup else None,
        first_job=parse_law(first_job) if first_job else None,
        **extra,
    )


def as_delay(delay: Delay | Law | str) -> Delay:
    """Accepts a :class:`Delay`, a bare law or a SPEC string.

    Parameters
    ----------
    delay : ~absjax.Delay or ~absjax.delays.Law or str
        The delay model, a bare law (no stragglers, no communication) or a SPEC.

    Returns
    -------
    ~absjax.Delay

    Raises
    ------
    ValueError
        For anything else, or a bad SPEC.

    Examples
    --------
    >>> as_delay("exp:rate=2").compute
    Exponential(rate=2.0)
    """
    if isinstance(delay, Delay):
        return delay
    if isinstance(delay, str):
        return parse_delay(delay)
    check_fits("delay", delay, DelayLaw, "a Delay, a delay law or a SPEC string")
    return Delay(delay)
