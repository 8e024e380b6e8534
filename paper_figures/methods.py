"""The compared methods, their tuning knobs, and their simulators.

Seven methods (spec section 7): ABS and the baselines AdaSync, SA-AdaSync,
local SGD, sync, K-sync and async, each built from ``absjax.policies``. Each
has at most one knob besides the learning rate, tuned on a grid of the same
size for every method that has one:

========== ============================================= ======================
method     policy                                        knob
========== ============================================= ======================
ABS        ``abs_(k0, t0, kappa)``                       K^0 (``k_grid``)
AdaSync    ``adasync(k0, t0)`` (over K-sync)             K^0 (``k_grid``)
SA-AdaSync ``sa_adasync(k0, t0)``                        K^0 (``k_grid``)
local SGD  ``local_sgd(U)`` (all N workers, U steps)     U (``u_grid``)
sync       ``sync()``                                    none
K-sync     ``k_sync(K)``                                 K (``k_grid``)
async      ``asynchronous()``                            none
========== ============================================= ======================

K^0 and K are numbers of the simulation (``params.k``): one compiled program
serves the whole grid. U is structure (the shape of a job's local steps):
local SGD has one program per U.

A simulator runs a fixed number of rounds; :func:`rounds_for` sizes it so that
every seed of every configuration covers the wall-clock budget (the
``horizon``), from a lower bound on the mean round time. Simulators are built
once per process (:func:`simulator` is cached), so a second run in the same
process reuses their compiled programs.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import absjax
from absjax import delays, policies, theory

MARGIN = 1.3  # rounds simulated beyond the horizon / (lower bound of round time)


@dataclasses.dataclass(frozen=True)
class Method:
    key: str  # the name in files and tables
    label: str  # the name in figures
    knob: str | None  # "k" (a number), "u" (structure) or None


METHODS = (
    Method("abs", "ABS", "k"),
    Method("adasync", "AdaSync", "k"),
    Method("sa_adasync", "SA-AdaSync", "k"),
    Method("local_sgd", "local SGD", "u"),
    Method("sync", "sync", None),
    Method("k_sync", "K-sync", "k"),
    Method("async", "async", None),
)
BY_KEY = {m.key: m for m in METHODS}
BASELINES = tuple(m.key for m in METHODS if m.key != "abs")
KNOB_NAMES = {"abs": "K^0", "adasync": "K^0", "sa_adasync": "K^0", "k_sync": "K"}
KNOB_NAMES["local_sgd"] = "U"


def policy(key: str, knob: int | None, t0: float, kappa: float):
    """The method's policy; ``knob`` is K^0, K or U (``None`` for sync/async)."""
    if key == "abs":
        return policies.abs_(k0=knob, t0=t0, kappa=kappa)
    if key == "adasync":
        return policies.adasync(k0=knob, t0=t0)
    if key == "sa_adasync":
        return policies.sa_adasync(k0=knob, t0=t0)
    if key == "local_sgd":
        return policies.local_sgd(knob)
    if key == "sync":
        return policies.sync()
    if key == "k_sync":
        return policies.k_sync(knob)
    if key == "async":
        return policies.asynchronous()
    raise ValueError(f"method={key!r} must be one of {list(BY_KEY)}")


def round_time_lower_bound(key: str, knob: int, n: int, delay: str) -> float:
    """A lower bound on the mean round time (simulated time units).

    K-sync family (AdaSync, K-sync, sync): ``E[X_(K:N)]`` for the smallest K
    (exact for fixed K; AdaSync's K only grows). K-async family (ABS,
    SA-AdaSync, async): ``K E[X] / N``, the long-run round time of K-batch-async
    (renewal theory), which K-async (finishers idle) and restarts only
    lengthen. Local SGD: ``U E[X]``, the mean of one worker's U steps (the
    round waits for the slowest of N).
    """
    law = delays.as_delay(delay)
    mean = float(law.mean(law.params))
    if key in ("abs", "sa_adasync", "async"):
        return (1 if key == "async" else knob) * mean / n
    if key == "local_sgd":
        return knob * mean
    k = n if key == "sync" else knob
    return theory.expected_round_time("k_sync", delay, n, k)


def rounds_for(horizon: float, lower_bound: float, logs: int) -> tuple[int, int]:
    """``(rounds, log_every)``: about ``logs`` rows covering ``MARGIN`` times the
    rounds that the horizon needs at the lower-bound round time."""
    needed = max(1, math.ceil(MARGIN * horizon / lower_bound))
    log_every = max(1, math.ceil(needed / logs))
    return log_every * math.ceil(needed / log_every), log_every


@functools.cache  # one Simulator (and compiled program) per process and setting
def simulator(
    key: str,
    n: int,
    delay: str,
    objective,
    horizon: float,
    logs: int,
    knobs: tuple[int, ...] | int | None,
    lr: float,
    t0: float,
    kappa: float,
    cover: tuple[str, ...] = (),
) -> absjax.Simulator:
    """One compiled program of a method: K-type knobs (``knobs``, a tuple) are
    swept as numbers up to their largest value; U is a single static value.
    Its rounds cover the horizon under ``delay`` and the laws in ``cover``
    (other numbers of the same law family, passed later through ``params``)."""
    method = BY_KEY[key]
    if method.knob == "k":
        knobs = tuple(knobs)
        smallest, k_max = min(knobs), max(knobs)
        if key != "k_sync":
            k_max = n  # an adaptive K grows up to N
    else:
        smallest, k_max = knobs, None
    bound = min(
        round_time_lower_bound(key, smallest, n, law) for law in (delay, *cover)
    )
    rounds, log_every = rounds_for(horizon, bound, logs)
    return absjax.Simulator(
        n,
        policy(key, smallest, t0, kappa),
        delay,
        objective,
        lr=lr,
        rounds=rounds,
        log_every=log_every,
        k_max=k_max,
    )
