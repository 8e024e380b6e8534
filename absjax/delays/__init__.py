"""Job-duration models: base laws and the per-worker delay model built on them.

A *law* is a distribution of positive durations with a sampler
``sample(key, params, shape)`` and the moments theory needs (``mean``,
``variance``, ``cdf``). Its numbers live in a ``params`` dict so that a sweep can
vmap over them without recompiling. :class:`Trace` replays measured durations
(resampled per worker). :class:`Delay` adds what makes a cluster: per-worker
speed factors, random stragglers, persistent (Markov) stragglers and
communication time.

References: the shifted exponential model is from Lee et al., "Speeding Up
Distributed Machine Learning Using Codes" (arXiv 1512.02673) and Dutta et al.,
"Slow and Stale Gradients Can Win the Race" (arXiv 1803.01113); the per-worker
fixed speeds follow Tyurin & Richtarik (arXiv 2305.12387).

The modules: :mod:`~absjax.delays.laws` (``Law`` and the eight parametric
laws), :mod:`~absjax.delays.traces` (``Trace``; its CSV files are read by the
private ``_csv``, shared with :mod:`absjax.fitting`),
:mod:`~absjax.delays.cluster` (``Delay``) and :mod:`~absjax.delays.spec`
(``parse_law``, ``parse_delay``, ``as_delay``).

>>> import jax
>>> law = shifted_exponential(shift=0.5, rate=2.0)
>>> float(law.mean(law.params))
1.0
>>> x = law.sample(jax.random.key(0), law.params, (3,))
>>> bool((x >= 0.5).all())
True
"""

from absjax.delays.cluster import CHAIN_STREAM, SPEED_MODES, Delay
from absjax.delays.laws import (
    LAWS,
    Constant,
    Exponential,
    Gamma,
    Law,
    LogNormal,
    Params,
    Pareto,
    ShiftedExponential,
    Uniform,
    Weibull,
    constant,
    exponential,
    gamma,
    lognormal,
    pareto,
    shifted_exponential,
    uniform,
    weibull,
)
from absjax.delays.spec import as_delay, parse_delay, parse_law
from absjax.delays.traces import Trace, trace

__all__ = [
    "CHAIN_STREAM",
    "LAWS",
    "SPEED_MODES",
    "Constant",
    "Delay",
    "Exponential",
    "Gamma",
    "Law",
    "LogNormal",
    "Params",
    "Pareto",
    "ShiftedExponential",
    "Trace",
    "Uniform",
    "Weibull",
    "as_delay",
    "constant",
    "exponential",
    "gamma",
    "lognormal",
    "parse_delay",
    "parse_law",
    "pareto",
    "shifted_exponential",
    "trace",
    "uniform",
    "weibull",
]
