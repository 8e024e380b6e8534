"""Where seeds run: fixed-width vmapped chunks, devices, grids, compiled programs.

Every seed is computed in a vmapped batch of exactly ``chunk`` lanes (``lax.map``
with ``batch_size=chunk``) on one of the local devices, whatever the number of
seeds: XLA may sum in another order for another batch width, so a fixed width
is what makes a seed's numbers identical alone, batched, chunked or sharded.
Padding lanes are cut off; keys depend only on the global seed index
(:mod:`absjax.engine.jobs`). Grid points run one after the other with the same
chunked program, so a grid point's numbers equal a single run's.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from absjax._validate import check_int
from absjax.engine import memory
from absjax.engine._threefry import unrolled_on_cpu


def use_host_cores(count: int | None = None) -> None:
    """Asks XLA for ``count`` CPU devices (default: one per core) so that
    chunks of seeds run on every core, unless ``XLA_FLAGS`` already sets a
    count. It has no effect once JAX's backend has started, and none on the
    numbers (a seed's numbers do not depend on the devices), only on speed.
    The commands call it first; a script may too, before it first uses JAX."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        count = count or os.cpu_count() or 1
        flags += f" --xla_force_host_platform_device_count={count}"
        os.environ["XLA_FLAGS"] = flags.strip()


def layout(seeds: int, seed: int, seed_offset: int, chunk: int) -> tuple[int, int]:
    """Validates the seed arguments; the devices used and the padded seeds."""
    check_int("seeds", seeds)
    check_int("seed", seed, low=0)
    check_int("seed_offset", seed_offset, low=0)
    check_int("chunk", chunk)
    if seed >= 2**32 or seed_offset + seeds > 2**32:
        raise ValueError(
            f"seed={seed} must be < 2**32 and seed_offset + seeds="
            f"{seed_offset + seeds} <= 2**32 (seed indices are uint32)"
        )
    devices = min(jax.local_device_count(), -(-seeds // chunk))
    per_device = -(-seeds // (devices * chunk)) * chunk
    return devices, per_device * devices


def seeds_program(run_seed: Callable, history: bool, chunk: int, grid_axes):
    """The program over seeds (and grid points), not jitted, and the layout of
    its outputs: ``fn(base_key, seed_indices, params)``.

    ``run_seed(base_key, seed_index, params, history)`` simulates one seed;
    seeds run in vmapped chunks of ``chunk`` (``lax.map``).
    """

    def seeds_fn(base_key, seed_indices, params):
        def one(seed_index):
            return run_seed(base_key, seed_index, params, history)

        return jax.lax.map(one, seed_indices, batch_size=chunk)

    if grid_axes is None:
        return seeds_fn, ("seeds",)
    return map_over_grid(seeds_fn, grid_axes), (None, "seeds")


def map_over_grid(seeds_fn, grid_axes):
    """Runs ``seeds_fn`` for each grid point in turn (``lax.map``).

    The leaves not gridded (the data set) are not copied.
    """

    def fn(base_key, seed_indices, params):
        leaves, treedef = jax.tree.flatten(params)
        axes = treedef.flatten_up_to(grid_axes)
        gridded = [leaf for leaf, axis in zip(leaves, axes, strict=True) if axis == 0]

        def one_point(point):
            point = iter(point)
            merged = [
                next(point) if axis == 0 else leaf
                for leaf, axis in zip(leaves, axes, strict=True)
            ]
            return seeds_fn(base_key, seed_indices, treedef.unflatten(merged))

        return jax.lax.map(one_point, gridded)

    return fn


def jit_over_devices(fn, out_spec, devices: int):
    """``jax.jit(fn)``, with the seeds axis split over ``devices`` devices.

    ``fn(base_key, seed_indices, params)``; ``out_spec`` names the seeds axis
    of each output (a tuple, or a tuple of them for several outputs).
    """
    if devices > 1:
        mesh = jax.sharding.Mesh(np.array(jax.local_devices()[:devices]), ("seeds",))
        spec = jax.sharding.PartitionSpec
        if isinstance(out_spec[0], tuple):
            out_specs = tuple(spec(*s) for s in out_spec)
        else:
            out_specs = spec(*out_spec)
        fn = jax.shard_map(
            fn,
            mesh=mesh,
            in_specs=(spec(), spec("seeds"), spec()),
            out_specs=out_specs,
            check_vma=False,
        )
    return jax.jit(fn)


def to_host(x, dtype=None) -> np.ndarray:
    """A NumPy copy of a program output, cast to ``dtype`` while each device's
    shard is copied into its place: no gathered intermediate (``np.asarray``
    of a sharded array gathers it into new memory first, and on the CPU
    touching new memory costs more than the copy). Building the Result of
    65,536 seeds x 100 rows of timing-only metrics on two devices: 3.7-3.8 s
    with a gather then a cast, 3.1-3.2 s this way (medians of 4, 2-core Zen 5)."""
    shards = getattr(x, "addressable_shards", ())
    if len(shards) < 2 or not x.is_fully_addressable:  # the latter: np.array raises
        return np.array(x, dtype)
    out = np.empty(x.shape, dtype or x.dtype)
    for shard in shards:
        if shard.replica_id == 0:
            out[shard.index] = np.asarray(shard.data)
    return out


def grid_key(grid_axes) -> tuple:
    """A hashable key of a grid's layout (``None``: no grid)."""
    return jax.tree.structure(grid_axes), tuple(jax.tree.leaves(grid_axes))


class Programs:
    """Compiled programs, one per structure and input shapes, and a count of
    traces.

    A program is traced once per input signature; before it compiles, its
    traced jaxpr's peak memory (:func:`absjax.engine.memory.program_bytes`)
    is checked against the device, so a run that cannot fit stops with a
    one-line ``ValueError`` instead of an out-of-memory error mid-compile.
    ``traces`` counts the traces (each is a compilation): the no-recompile
    guarantee is ``traces`` staying put when only numbers change.
    """

    def __init__(self):
        self._programs: dict = {}
        self._compiled: dict = {}
        self.traces = 0

    def run(self, key, build: Callable, args: tuple):
        """Runs the program of ``key`` on ``args``; ``build()`` returns ``(fn,
        out_spec, devices)`` the first time."""
        if key not in self._programs:
            fn, out_spec, devices = build()
            self._programs[key] = jit_over_devices(fn, out_spec, devices)
        signature = (key, jax.tree.structure(args)) + tuple(
            (jnp.shape(x), jnp.result_type(x)) for x in jax.tree.leaves(args)
        )
        if signature not in self._compiled:
            traced = self._programs[key].trace(*args)
            self.traces += 1
            memory.check_fits(memory.program_bytes(traced.jaxpr))
            with unrolled_on_cpu():
                lowered = traced.lower()
            self._compiled[signature] = lowered.compile()
        return self._compiled[signature](*args)
