"""Shared by the tests of :mod:`absjax.theory` (``tests/theory/``).

The delay SPECs with and without closed-form order statistics, job durations
drawn with numpy (independent of the JAX samplers of :mod:`absjax.delays`),
and the z-statistic of a Monte-Carlo mean: the tests check ``|estimate -
theory| / SE < Z = 4``, with ``SE = sd / sqrt(M)`` for ``M`` independent
replicas, or over batch means for a Markov chain (batches long against its
mixing time).
"""

import dataclasses
import math

import numpy as np

from absjax import delays

Z = 4.0  # |estimate - theory| / SE < Z: a false alarm rate of about 6e-5
CLOSED = [
    "exp:rate=1.5",
    "shifted_exp:shift=0.5,rate=2",
    "pareto:scale=1,alpha=2.5",
    "pareto:scale=1,alpha=3.5",
    "uniform:low=0.5,high=1.5",
    "constant:value=1.25",
]
NUMERIC = [
    "lognormal:mu=0,sigma=0.5",
    "gamma:shape=2,scale=0.5",
    "weibull:shape=1.5,scale=1",
    "exp:rate=2,straggler_prob=0.1,straggler_factor=5",
]


def _fields(law):
    return {f.name: float(getattr(law, f.name)) for f in dataclasses.fields(law)}


def sample(delay, rng, shape, speeds=None):
    """Job durations drawn with numpy (independent of the JAX samplers)."""
    delay = delays.as_delay(delay)
    law, f = delay.compute, _fields(delay.compute)
    if isinstance(law, delays.ShiftedExponential):
        x = f["shift"] + rng.exponential(1 / f["rate"], shape)
    elif isinstance(law, delays.Exponential):
        x = rng.exponential(1 / f["rate"], shape)
    elif isinstance(law, delays.Pareto):
        x = f["scale"] * (1 + rng.pareto(f["alpha"], shape))  # Lomax + 1
    elif isinstance(law, delays.LogNormal):
        x = rng.lognormal(f["mu"], f["sigma"], shape)
    elif isinstance(law, delays.Gamma):
        x = rng.gamma(f["shape"], f["scale"], shape)
    elif isinstance(law, delays.Weibull):
        x = f["scale"] * rng.weibull(f["shape"], shape)
    elif isinstance(law, delays.Uniform):
        x = rng.uniform(f["low"], f["high"], shape)
    else:
        x = np.full(shape, f["value"])
    slow = rng.random(shape) < delay.straggler_prob
    x = np.where(slow, x * delay.straggler_factor, x)
    return x if speeds is None else x * np.asarray(speeds)


def z_mean(samples, theory_mean):
    """``|mean - theory| / SE`` of independent samples, ``SE = sd / sqrt(size)``."""
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    return abs(samples.mean() - theory_mean) / se


def batch_means(x, batches=50):
    """Means of ``batches`` consecutive blocks of a chain's path (a trailing
    remainder is dropped): nearly independent when blocks outlast mixing."""
    means = x[: x.size // batches * batches].reshape(batches, -1).mean(axis=1)
    return means
