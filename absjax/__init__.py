"""absjax: a jit-compiled, vmap-batched simulator of parameter-server SGD policies.

Reference: Tan, Zhu, Zhang, "ABS: Adaptive Bounded Staleness Converges Faster and
Communicates Less" (arXiv 2301.08895).
"""

import sys

from absjax import (
    compare,
    delays,
    fitting,
    objectives,
    policies,
    protocols,
    rules,
    staleness,
    theory,
)
from absjax._version import __version__
from absjax.delays import Delay
from absjax.engine import Ensemble, RoundInfo, SimParams, SimState, Simulator
from absjax.objectives import datasets, networks
from absjax.results import Result, load
from absjax.rules import ServerView

# The old module paths absjax.networks and absjax.datasets name the moved modules.
sys.modules.setdefault("absjax.networks", networks)
sys.modules.setdefault("absjax.datasets", datasets)

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
    "load",
    "networks",
    "objectives",
    "policies",
    "protocols",
    "rules",
    "staleness",
    "theory",
]
