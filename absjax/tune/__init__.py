"""Tuning policies' numbers on a cluster: batched successive halving,
Hyperband and Optuna's samplers, with a fair comparison of the choices.

>>> from absjax import tune
>>> tune.parse_range("policy.k_rule.t0=1:100:log").log
True
"""

from absjax.tune.scores import OBJECTIVES, bootstrap
from absjax.tune.search import ALGORITHMS, SAMPLERS
from absjax.tune.space import Choice, Range, parse_range
from absjax.tune.study import TUNE_OFFSET, Method, Tuned, tune

__all__ = [
    "ALGORITHMS",
    "OBJECTIVES",
    "SAMPLERS",
    "TUNE_OFFSET",
    "Choice",
    "Method",
    "Range",
    "Tuned",
    "bootstrap",
    "parse_range",
    "tune",
]
