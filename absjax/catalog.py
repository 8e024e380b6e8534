"""What a SPEC may name: every policy, delay law, objective and staleness
weight with its parameters, defaults and meaning (``absjax list``).

The text is generated from the SPEC registries
(:data:`absjax.policies.spec.REGISTRY`, :data:`absjax.delays.spec.LAW_REGISTRY`
and ``MODIFIERS``,
:data:`absjax.objectives.spec.REGISTRY`, :data:`absjax.staleness.REGISTRY`),
whose entries read their defaults from the constructors' signatures and their
meanings from the docstrings, so the listing cannot go stale. One block per
name: ``name: meaning``, then ``  param=default (type)`` lines.

>>> print(describe("weights").splitlines()[2])
constant: omega(s) = 1: every update counts the same.
>>> sorted(KINDS)
['delays', 'objectives', 'policies', 'weights']
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from absjax._spec import Entry
from absjax.delays import spec as delay_spec
from absjax.objectives import spec as objective_spec
from absjax.policies import spec as policy_spec
from absjax.staleness import NORMALIZATIONS
from absjax.staleness import REGISTRY as WEIGHTS

# kind -> (registry, how a SPEC of that kind is given)
KINDS: dict[str, tuple[Mapping[str, Entry], str]] = {
    "policies": (
        policy_spec.REGISTRY,
        "--policy NAME or NAME:key=value,... (N is --workers; the six base "
        "mechanics also take --k and --tau)",
    ),
    "delays": (
        delay_spec.LAW_REGISTRY,
        "--delay NAME:key=value,... (also --upload and --download), then any modifiers",
    ),
    "objectives": (objective_spec.REGISTRY, "--objective NAME:key=value,..."),
    "weights": (
        WEIGHTS,
        "--weight NAME:key=value,... (staleness weights omega(s); "
        f"--normalization {'|'.join(NORMALIZATIONS)})",
    ),
}


def registry(kind: str) -> Mapping[str, Entry]:
    """The registry of ``kind``, one of :data:`KINDS`."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} must be one of {', '.join(KINDS)}")
    return KINDS[kind][0]


def describe(kind: str) -> str:
    """The listing of one kind: a header line, then one block per name
    (an alias as ``alias: same as name``)."""
    entries = registry(kind)
    blocks = [f"{kind}: {KINDS[kind][1]}"]
    first: dict[int, str] = {}
    for name, entry in entries.items():
        if id(entry) in first:
            blocks.append(f"{name}: same as {first[id(entry)]}")
            continue
        first[id(entry)] = name
        blocks.append(entry.describe(name))
    if kind == "delays":
        blocks.append(delay_spec.MODIFIERS.describe("modifiers"))
    return "\n\n".join(blocks)


def _names() -> str:
    """One paragraph per kind: the kind, then its names."""
    return "\n".join(
        textwrap.fill(
            ", ".join(registry(kind)),
            width=88,
            initial_indent=f"  {kind:11s} ",
            subsequent_indent=" " * 14,
            break_on_hyphens=False,
        )
        for kind in KINDS
    )


def overview() -> str:
    """``absjax list``: the four kinds with their names."""
    return (
        "absjax list KIND prints every name of a kind with its parameters, "
        "defaults and types:\n" + _names()
    )


def epilog() -> str:
    """The end of ``absjax simulate --help``: the names of each kind."""
    return (
        "SPEC names (absjax list policies|delays|objectives|weights prints "
        "each with its parameters and defaults):\n" + _names()
    )
