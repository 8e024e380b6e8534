"""absjax: a jit-compiled, vmap-batched simulator of parameter-server SGD policies.

Reference: Tan, Zhu, Zhang, "ABS: Adaptive Bounded Staleness Converges Faster and
Communicates Less" (arXiv 2301.08895).
"""

import importlib
import sys

from absjax import delays, objectives, policies, protocols, rules, staleness
from absjax._version import __version__
from absjax.delays import Delay
from absjax.engine import Ensemble, RoundInfo, SimParams, SimState, Simulator
from absjax.objectives import datasets, networks
from absjax.results import Result, load
from absjax.rules import ServerView

# The old module paths absjax.networks and absjax.datasets name the moved modules.
sys.modules.setdefault("absjax.networks", networks)
sys.modules.setdefault("absjax.datasets", datasets)

# Imported on first use: they pull in SciPy and pandas, which a simulation does
# not need (a second off every command's start).
_LAZY = ("compare", "fitting", "learn", "theory", "tune")


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"absjax.{name}")
    raise AttributeError(f"module 'absjax' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Delay",
    "Ensemble",
    "Result",
    "RoundInfo",
    "ServerView",
    "SimParams",
    "SimState",
    "Simulator",
    "__version__",
    "compare",
    "datasets",
    "delays",
    "fitting",
    "learn",
    "load",
    "networks",
    "objectives",
    "policies",
    "protocols",
    "rules",
    "staleness",
    "theory",
    "tune",
]
