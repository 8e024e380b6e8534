"""The engine: simulator state, one round's step, the jitted run, ensembles.

Modules: :mod:`~absjax.engine.state` (the types), :mod:`~absjax.engine.jobs`
(the key schedule and what a job computes: the reproducibility contract),
:mod:`~absjax.engine.simulator` (init, step, scan, run),
:mod:`~absjax.engine.params` (numbers and grids), :mod:`~absjax.engine.layout`
(chunks, devices, compiled programs), :mod:`~absjax.engine.ensemble`.
"""

from absjax.engine.ensemble import Ensemble
from absjax.engine.jobs import Jobs, RunKeys
from absjax.engine.simulator import Simulator
from absjax.engine.state import LogRow, RoundInfo, SimParams, SimState

__all__ = [
    "Ensemble",
    "Jobs",
    "LogRow",
    "RoundInfo",
    "RunKeys",
    "SimParams",
    "SimState",
    "Simulator",
]
