"""The compared methods of each setting, their configurations and programs.

**Gradient setting** (the first versions of the paper; U = 1): ABS and the
baselines AdaSync, SA-AdaSync, sync, K-sync and async. **Local-update setting**
(its latest version; asynchronous *local* SGD): every method runs U local
steps per job, from the same U grid, a job lasting the sum of its U step
times: ABS, local SGD, AdaSync and SA-AdaSync.

Each method gets the same number of configurations (``Setting``): a learning
rate times U times its knob (K^0 of the adaptive methods, K of K-sync and of
local SGD); sync and async, which have no knob, a finer learning-rate grid of
as many points over the same range.

**Programs.** ABS, SA-AdaSync and their readings are numbers of one
``k_async`` program per U, AdaSync, K-sync and local SGD of one ``k_sync``
program per U (:mod:`paper_figures.readings`); sync and async have their own
programs in the gradient setting (``policies.sync()``,
``policies.asynchronous()``), whose rounds are much cheaper there. Every
program simulates a fixed number of rounds; :func:`rounds_for` sizes it so
that every seed of every configuration covers the wall-clock budget, from a
lower bound on the mean round time of its fastest configuration.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import absjax
from absjax import delays, policies, theory
from paper_figures import readings

MARGIN = 1.3  # rounds simulated beyond the horizon / (lower bound of round time)


@dataclasses.dataclass(frozen=True)
class Method:
    key: str  # the name in files and tables
    label: str  # the name in figures
    program: str  # "k_async", "k_sync", "sync" or "async"
    knob: str | None  # "K^0", "K" or None (sync, async)

    @property
    def point(self) -> readings.Point | None:
        return readings.POINTS[self.key] if self.program.startswith("k_") else None


GRADIENT = (
    Method("abs", "ABS", "k_async", "K^0"),
    Method("adasync", "AdaSync", "k_sync", "K^0"),
    Method("sa_adasync", "SA-AdaSync", "k_async", "K^0"),
    Method("sync", "sync", "sync", None),
    Method("k_sync", "K-sync", "k_sync", "K"),
    Method("async", "async", "async", None),
)
LOCAL = (
    Method("abs", "ABS", "k_async", "K^0"),
    Method("local_sgd", "local SGD", "k_sync", "K"),
    Method("adasync", "AdaSync", "k_sync", "K^0"),
    Method("sa_adasync", "SA-AdaSync", "k_async", "K^0"),
)
SETTINGS = {"gradient": GRADIENT, "local": LOCAL}
SETTING_TITLES = {
    "gradient": "Gradient setting (U = 1, the first versions of the paper)",
    "local": "Local-update setting (U local steps, the latest version)",
}
LABELS = {m.key: m.label for m in GRADIENT + LOCAL}


def baselines(setting: str) -> tuple[str, ...]:
    return tuple(m.key for m in SETTINGS[setting] if m.key != "abs")


@dataclasses.dataclass(frozen=True)
class Config:
    """One configuration of one method (its point's numbers, lr, U, knob)."""

    method: str
    point: readings.Point | None
    lr: float
    u: int
    k: int | None  # K^0 or K; None: sync, async

    def describe(self) -> str:
        parts = [] if self.u == 1 else [f"U={self.u}"]
        knob = {"abs": "K^0", "adasync": "K^0", "sa_adasync": "K^0"}.get(
            self.method, "K"
        )
        if self.k is not None:
            parts.append(f"{knob}={self.k}")
        return ", ".join([*parts, f"lr={self.lr:g}"])


def configurations(method: Method, setting, n: int, point=None) -> list[Config]:
    """The method's configurations, knob-major (``point``: a reading of it)."""
    point = point or method.point
    if method.knob is None:
        return [Config(method.key, point, lr, 1, None) for lr in setting.fine_lr_grid()]
    ks = setting.k0_grid if method.knob == "K^0" else setting.k_grid
    return [
        Config(method.key, point, lr, u, min(k, n))
        for u in setting.u_grid
        for k in ks
        for lr in setting.lr_grid
    ]


def params(sim: absjax.Simulator, config: Config, c: float | None = None):
    """The simulator's numbers for ``config`` (``c``: the distance step's C)."""
    p = sim.params
    if config.point is not None:
        p = readings.numbers(p, config.point, c)
    p = p._replace(lr=config.lr)
    if config.k is not None:
        p = p._replace(k=config.k)
    return p


# ------------------------------------------------------------------ programs
def round_time_lower_bound(program: str, k: int, u: int, n: int, delay: str) -> float:
    """A lower bound on the mean round time (simulated time units).

    ``k_async`` family: ``K U E[X] / N``, the long-run round time of
    K-batch-async (renewal theory, Dutta et al. arXiv 1803.01113 Lemma 4), which
    K-async (finishers idle) and restarts only lengthen. ``k_sync`` family:
    ``E[X_(K:N)]`` of a job's duration (exact for a fixed K; AdaSync's K only
    grows), a job of U exponential steps lasting a Gamma(U) time; ``sync``:
    ``E[X_(N:N)]``; ``async``: ``E[X] / N``.
    """
    law = delays.as_delay(delay)
    mean = float(law.mean(law.params))
    if program == "async":
        return mean / n
    if program == "k_async":
        return k * u * mean / n
    k = n if program == "sync" else k
    if u == 1:
        return theory.expected_round_time("k_sync", delay, n, k)
    compute = law.compute
    if isinstance(compute, delays.Exponential) and law.homogeneous:
        gamma = f"gamma:shape={u},scale={1.0 / compute.rate}"
        return theory.expected_round_time("k_sync", gamma, n, k)
    return k * u * mean / n


def rounds_for(horizon: float, lower_bound: float) -> int:
    """``MARGIN`` times the rounds that the horizon needs at the lower-bound
    round time."""
    return max(1, math.ceil(MARGIN * horizon / lower_bound))


def program_policy(program: str, u: int, t0: float, kappa: float):
    if program in ("k_async", "k_sync"):
        return readings.policy(program, t0, kappa, local_steps=u)
    if u != 1:
        raise ValueError(f"program {program!r} has no local steps here")
    return policies.sync() if program == "sync" else policies.asynchronous()


@functools.cache  # one Simulator (and compiled program) per process and setting
def simulator(
    program: str,
    u: int,
    k_min: int,
    n: int,
    delay: str,
    objective,
    horizon: float,
    t0: float,
    kappa: float,
) -> absjax.Simulator:
    """The program of ``program`` with U = ``u`` whose rounds cover the horizon
    for its fastest configuration (smallest K ``k_min``)."""
    bound = round_time_lower_bound(program, k_min, u, n, delay)
    rounds = rounds_for(horizon, bound)
    adaptive = program in ("k_async", "k_sync")
    return absjax.Simulator(
        n,
        program_policy(program, u, t0, kappa),
        delay,
        objective,
        lr=0.1,
        rounds=rounds,
        log_every=1,  # every model the server had: exact first passages
        k_max=n if adaptive else None,
    )


def k_min(setting, program: str, n: int) -> int:
    """The smallest K that a program of the setting runs (its rounds' size)."""
    if program == "k_async":
        return min(setting.k0_grid)
    if program == "k_sync":
        return min(setting.k0_grid + setting.k_grid)
    return n if program == "sync" else 1
