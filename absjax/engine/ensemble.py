"""Ensemble: several simulators (policies, learning rates, ...) as one program."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from absjax.engine import layout, memory
from absjax.engine import params as params_lib
from absjax.engine.jobs import root_key
from absjax.engine.simulator import Simulator
from absjax.engine.state import SimParams
from absjax.results import Result


@dataclasses.dataclass(frozen=True, eq=False)
class Ensemble:
    """Several simulators (policies, learning rates, ...) as one program.

    A comparison of policies compiles once: every member's seeds program is
    traced into one jitted function, which runs them one after the other over
    the same seeds (sharded over the local devices like
    :meth:`Simulator.run`). Members may differ in anything (policy, weight,
    optimizer, even N); each member's numbers are bit-identical to its own
    :meth:`Simulator.run` with the same ``chunk``.

    Parameters
    ----------
    simulators : sequence of ~absjax.Simulator
        The members, in order.

    Raises
    ------
    ValueError
        If ``simulators`` is empty or holds something other than a
        :class:`~absjax.Simulator`.

    Examples
    --------
    >>> from absjax import delays, objectives, policies
    >>> sims = [
    ...     Simulator(4, p, delays.exponential(1.0), objectives.quadratic(dim=3),
    ...               rounds=20, log_every=10)
    ...     for p in (policies.sync(), policies.k_async(2), policies.ssp(1))
    ... ]
    >>> [r.policy for r in Ensemble(sims).run(seeds=2)]
    ['sync', 'k_async', 'ssp']
    """

    simulators: tuple[Simulator, ...]

    def __post_init__(self):
        sims = tuple(self.simulators)
        if not sims or not all(isinstance(s, Simulator) for s in sims):
            raise ValueError("simulators must be a non-empty sequence of Simulator")
        object.__setattr__(self, "simulators", sims)
        object.__setattr__(self, "_programs", layout.Programs())

    @property
    def traces(self) -> int:
        """How many times the ensemble's programs were traced (compiled)."""
        return self._programs.traces

    def run(
        self,
        seeds: int = 1,
        seed: int = 0,
        params: Sequence[SimParams | None] | None = None,
        grids: Sequence[dict[str, Any] | None] | None = None,
        history: bool = False,
        seed_offset: int = 0,
        chunk: int | str = "auto",
    ) -> list[Result]:
        """Runs every member over the same seeds; one Result per member.

        ``params`` and ``grids`` hold one entry per member (``None``: its
        defaults, no grid), as in :meth:`Simulator.run`; ``chunk="auto"`` is
        the smallest of the members' automatic chunks.

        Parameters
        ----------
        seeds : int, default 1
            Number of Monte-Carlo seeds (the same for every member).
        seed : int, default 0
            Base seed.
        params : sequence of ~absjax.SimParams or None, optional
            One entry per member (``None``: its defaults).
        grids : sequence of dict or None, optional
            One grid per member (``None``: no grid).
        history : bool, optional
            Also return per-round diagnostics and models.
        seed_offset : int, default 0
            Index of the first seed.
        chunk : int or "auto"
            Seeds vmapped together.

        Returns
        -------
        list of ~absjax.Result
            One per member, in order.

        Raises
        ------
        ValueError
            If ``params`` or ``grids`` does not have one entry per member, or
            a member's arguments are out of range.
        """
        m = len(self.simulators)
        params = [None] * m if params is None else list(params)
        grids = [None] * m if grids is None else list(grids)
        if len(params) != m or len(grids) != m:
            raise ValueError(f"params and grids must have one entry per member ({m})")
        chunk = min(memory.resolve_chunk(sim, chunk, seeds) for sim in self.simulators)
        devices, padded = layout.layout(seeds, seed, seed_offset, chunk)
        prepared = [
            params_lib.prepare(sim, p, g)
            for sim, p, g in zip(self.simulators, params, grids, strict=True)
        ]

        serving = [  # a ring of models too short for a tau: per-worker models
            sim._serving(p)
            for sim, (p, _, _) in zip(self.simulators, prepared, strict=True)
        ]

        def build():
            programs = [
                layout.seeds_program(sim._run_seed, history, chunk, axes)
                for sim, (_, axes, _) in zip(serving, prepared, strict=True)
            ]

            def fn(base_key, seed_indices, params):
                return tuple(
                    program(base_key, seed_indices, p)
                    for (program, _), p in zip(programs, params, strict=True)
                )

            return fn, tuple(spec for _, spec in programs), devices

        key = (
            tuple(layout.grid_key(axes) for _, axes, _ in prepared),
            tuple(type(sim.jobs.store).__name__ for sim in serving),
            history,
            chunk,
            devices,
        )
        seed_indices = jnp.arange(seed_offset, seed_offset + padded, dtype=jnp.uint32)
        args = (root_key(seed), seed_indices, tuple(p for p, _, _ in prepared))
        outs = self._programs.run(key, build, args)
        return [
            sim._result(out, values, seeds, seed, seed_offset)
            for sim, out, (_, _, values) in zip(
                self.simulators, outs, prepared, strict=True
            )
        ]
