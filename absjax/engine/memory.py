"""Memory: an estimate of one seed's bytes, the device's limit, the auto chunk.

The estimate is computed from the traced program before anything compiles:
the state carried through the scan (twice: the old and the new state of a
round), one round's peak of live intermediate arrays (a walk over the step's
jaxpr that frees each array after its last use, recursing into loops), the
logged rows and, with ``history=True``, every round's diagnostics. XLA fuses
and reuses buffers, so the estimate is an upper bound of what a seed needs
more often than not; it is meant to stop a run that cannot fit with a clear
message, not to be exact.

``chunk="auto"`` for a model run depends only on the backend, the
simulator's structure and the device's memory, never on the number of seeds
or devices, so a seed's numbers are the same whether it runs alone, batched or
sharded:

- CPU: the largest power of two, at most 64, whose chunk's round working set
  (:func:`working_bytes` per seed) fits in :data:`CPU_CACHE_BYTES`, so that a
  round's arrays stay in the caches (64 for the standard workload, 16 at N =
  64, 4 at N = 256 or dim 1000, 1 from N = 1024 on);
- GPU and TPU: the largest power of two whose chunk fits in half of the
  device's memory, at most 2^17 seeds.

A timing-only run has no model and no sum over a batch: its numbers do not
depend on the chunk at all (tested), so on the CPU its chunk is the power of
two that holds the seeds per device (no padding lanes), at most 1024 and at
most the working-set fit (a power of two: few distinct programs).
"""

from __future__ import annotations

import math
import weakref

import jax
import numpy as np
from jax.extend import core as jax_core

from absjax._limits import LIMIT_SHARE, device_limit
from absjax._validate import check_int
from absjax.engine import step as step_lib
from absjax.engine.jobs import root_key, seed_keys

CPU_CHUNK = 64  # the most seeds per chunk of a model run on the CPU
CPU_TIMING_CHUNK = 1024  # ... of a timing-only run on the CPU
# A chunk's round working set on the CPU: measured on a 2-core Zen 5 (1 MiB
# L2 per core, 32 MiB L3), standard workload at N = 64 and 256 or dim 1000:
# chunks of 1.7-7 MiB ran 1.7-2.7x faster than ones of 13-55 MiB.
CPU_CACHE_BYTES = 4 * 2**20
ACCELERATOR_SHARE = 0.5  # the share of an accelerator's memory the auto chunk uses
ACCELERATOR_MAX_CHUNK = 2**17


def _bytes(avals) -> int:
    """Bytes of arrays (typed keys count 16 bytes each)."""
    total = 0
    for a in avals:
        if not (hasattr(a, "shape") and hasattr(a, "dtype")):
            continue
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.extended):
            total += 16 * math.prod(a.shape)
        elif a.dtype != jax.dtypes.float0:
            total += math.prod(a.shape) * np.dtype(a.dtype).itemsize
    return total


def _aval(v):
    return getattr(v, "aval", None)


def _peak(jaxpr) -> int:
    """Peak bytes of the arrays a jaxpr's equations hold live at once."""
    last_use: dict = {}
    for index, eqn in enumerate(jaxpr.eqns):
        for v in eqn.invars:
            if not isinstance(v, jax_core.Literal):
                last_use[v] = index
    live = {v: _bytes([_aval(v)]) for v in jaxpr.invars}
    live.update({v: _bytes([_aval(v)]) for v in jaxpr.constvars})
    peak = sum(live.values())
    for index, eqn in enumerate(jaxpr.eqns):
        subs = jax_core.jaxprs_in_params(eqn.params)
        inner = max((_peak(sub) for sub in subs), default=0)
        for v in eqn.outvars:
            live[v] = _bytes([_aval(v)])
        peak = max(peak, sum(live.values()) + inner)
        for v in eqn.invars:
            if not isinstance(v, jax_core.Literal) and last_use.get(v) == index:
                live.pop(v, None)
    return peak


def _round(sim, params):
    """A seed's keys, state and one round's traced step (shapes only)."""
    keys = jax.eval_shape(lambda: seed_keys(root_key(0), np.uint32(0)))
    state = jax.eval_shape(lambda k, p: step_lib.init(sim, k, p), keys, params)
    closed = jax.make_jaxpr(lambda k, s, p: step_lib.step(sim, k, s, p))(
        keys, state, params
    )
    return keys, state, closed


def _working_bytes(params, state, closed) -> int:
    data = _bytes(jax.tree.leaves(jax.eval_shape(lambda: params.data)))
    round_peak = max(_peak(closed.jaxpr) - data, 0)  # the data set is shared
    return 2 * _bytes(jax.tree.leaves(state)) + round_peak


_WORKING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def working_bytes(sim) -> int:
    """One seed's round working set with ``sim.params``: its state twice (old
    and new) and the round's peak of live intermediate arrays, in bytes
    (traced once per simulator)."""
    if sim not in _WORKING:
        _, state, closed = _round(sim, sim.params)
        _WORKING[sim] = _working_bytes(sim.params, state, closed)
    return _WORKING[sim]


def bytes_per_seed(sim, params, history: bool) -> int:
    """The estimated bytes one seed needs on a device (see the module docstring)."""
    keys, state, closed = _round(sim, params)
    total = _working_bytes(params, state, closed)
    logs = sim.rounds // sim.log_every
    per_log = 32 * 8  # a LogRow: 17 scalars
    total += logs * per_log
    if history:
        info = jax.eval_shape(
            lambda k, s, p: step_lib.step(sim, k, s, p)[1], keys, state, params
        )
        total += sim.rounds * _bytes(jax.tree.leaves(info)) + logs * _bytes(
            jax.tree.leaves(state.w)
        )
    return int(total)


def program_bytes(closed_jaxpr) -> int:
    """The estimated peak bytes of a traced program on one device."""
    return _peak(closed_jaxpr.jaxpr)


def check_fits(need: int) -> None:
    """Raises ``ValueError`` (one line) if ``need`` bytes cannot fit a device."""
    limit, what = device_limit()
    if need > LIMIT_SHARE * limit:
        raise ValueError(
            f"the simulation needs an estimated {need / 2**30:.3g} GiB per device, "
            f"more than {LIMIT_SHARE:.0%} of the {limit / 2**30:.3g} GiB of {what}: "
            "use fewer workers, fewer rounds per log row or a smaller chunk "
            "(chunk=...)"
        )


def resolve_chunk(sim, chunk, seeds: int) -> int:
    """``chunk``: ``"auto"`` (see the module docstring; ``seeds``: the run's
    number of seeds) or an integer >= 1."""
    if chunk != "auto":
        return check_int("chunk", chunk)
    if jax.default_backend() == "cpu":
        fit = _power_of_two(CPU_CACHE_BYTES // max(working_bytes(sim), 1))
        if sim.objective.has_loss:
            return min(CPU_CHUNK, fit)
        per_device = -(-check_int("seeds", seeds) // jax.local_device_count())
        wanted = 2 ** math.ceil(math.log2(max(per_device, 1)))
        return min(CPU_TIMING_CHUNK, fit, wanted)
    per_seed = bytes_per_seed(sim, sim.params, history=False)
    limit, _ = device_limit()
    fit = int(ACCELERATOR_SHARE * limit) // max(per_seed, 1)
    return min(ACCELERATOR_MAX_CHUNK, _power_of_two(fit))


def _power_of_two(n: int) -> int:
    """The largest power of two <= ``n``, and 1 for ``n < 1``."""
    return 2 ** int(math.log2(max(n, 1)))
