"""threefry2x32 lowered unrolled on XLA:CPU: the same bits, fewer kernels.

JAX lowers its threefry2x32 hash on the CPU as a rolled loop of 5 steps (small
programs) and everywhere else as 20 unrolled rounds. In absjax's programs every
job draws a few words from its own key, so on the CPU the rolled loop runs many
small kernels per round (a profile of 50 rounds of the standard workload, one
64-seed chunk: 2,107 kernel launches rolled, 224 unrolled).
:func:`unrolled_on_cpu` lowers the programs compiled inside it with JAX's
own unrolled rule: the same function of the same inputs (a seed's numbers do
not change, which the digest tests check), fewer kernels to run (measured
against the rolled loop by ``benchmarks/threefry.py``). It is scoped to
absjax's compilations; the user's other programs keep JAX's choice.

The rule lives in JAX's private modules; if a JAX release moves it, the
context does nothing and the programs keep the rolled loop (same numbers,
slower on the CPU).
"""

from __future__ import annotations

import contextlib


def _cpu_rules():
    """JAX's table of CPU lowering rules, the primitive and its unrolled rule
    (``None`` where this JAX does not have them)."""
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as threefry

        table = mlir._platform_specific_lowerings["cpu"]
        entry = mlir.LoweringRuleEntry(threefry._threefry2x32_lowering_rule, False)
        return table, threefry.threefry2x32_p, entry
    except (ImportError, AttributeError, TypeError):
        return None


@contextlib.contextmanager
def unrolled_on_cpu():
    """Within the context, threefry2x32 lowers unrolled on the CPU."""
    rules = _cpu_rules()
    if rules is None:
        yield
        return
    table, primitive, unrolled = rules
    before = table.get(primitive)
    table[primitive] = unrolled
    try:
        yield
    finally:
        if before is None:
            table.pop(primitive, None)
        else:
            table[primitive] = before
