"""absjax: a jit-compiled, vmap-batched simulator of parameter-server SGD policies.

Reference: Tan, Zhu, Zhang, "ABS: Adaptive Bounded Staleness Converges Faster and
Communicates Less" (arXiv 2301.08895).
"""

from absjax import (
    compare,
    datasets,
    delays,
    fitting,
    networks,
    objectives,
    policies,
    rules,
    staleness,
    theory,
)
from absjax._version import __version__
from absjax.delays import Delay
from absjax.engine import Ensemble, RoundInfo, SimParams, SimState, Simulator
from absjax.results import Result
from absjax.rules import ServerView

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
    "networks",
    "objectives",
    "policies",
    "rules",
    "staleness",
    "theory",
]
