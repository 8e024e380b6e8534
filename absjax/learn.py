"""Learning a K rule by evolution strategies, a population in one program.

A learned policy (:class:`~absjax.policies.LearnedRule`) is K-async with a
monotone table ``K(z)`` over ``z = log(F_0 / F_t)`` (why a table:
:mod:`absjax.policies.learned`), ABS's staleness bound ``ceil(kappa (N - K) /
K)`` and a learning rate. :func:`~absjax.learn.evolve` searches the table,
``kappa`` and the learning rate with a separable natural evolution strategy (SNES,
Wierstra et
al., JMLR 15, 2014; or OpenAI-ES, Salimans et al., arXiv 1703.03864, or CMA-ES,
Hansen, arXiv 1604.00772) from ``evosax`` (Lange, arXiv 2212.04180): every
generation, the whole population times the training seeds runs as one
compiled program of the Simulator (the candidates' numbers are a leading
axis of its params; they are traced numbers, so no generation compiles
again), and the fitness is computed from the runs' logged losses.

Fitness (lower is better), on the same training seeds in every generation:

- ``"auc"``: the mean over seeds of ``(1 / h) int_0^h log(F(t) / F_0) dt``,
  the area under the log-loss curve up to the horizon ``h`` (the loss
  between two logged rows is the earlier row's; a diverged run counts as
  ``F = e^5 F_0`` from its divergence on);
- ``"time_to_target"``: the median over seeds of the time to reach
  ``target``, divided by ``h``; a run that does not reach it within ``h``
  (or diverges) counts as ``h``.

``evosax`` is an optional dependency (``pip install absjax[tune]``).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from absjax._validate import check_int, check_real
from absjax.engine import layout, memory
from absjax.engine.jobs import root_key
from absjax.engine.simulator import Simulator
from absjax.policies.learned import KNOTS, LearnedRule, LossTable, check_table
from absjax.results import Result
from absjax.rules import StalenessBound

__all__ = [
    "FITNESS",
    "STRATEGIES",
    "TRAIN_OFFSET",
    "Evolution",
    "adasync_start",
    "decode",
    "encode",
    "evolve",
    "fitness",
    "initial_loss",
    "run_candidates",
]

FITNESS = ("auc", "time_to_target")
STRATEGIES = ("snes", "open_es", "cma_es")
TRAIN_OFFSET = 1_000_000  # training seeds' first index: disjoint from 0, 1, ...
DIVERGED_LOG = 5.0  # log(F / F_0) charged to a diverged run (auc)
SCALE_LOG = 3.0  # the log lr and log kappa coordinates move 3x the table's


def adasync_start(
    num_workers: int,
    k0: int = 1,
    t0: float = 1.0,
    lr: float = 0.1,
    kappa: float = 1.0,
    knots: tuple[float, ...] = KNOTS,
) -> LearnedRule:
    """AdaSync's rule ``K = ceil(K0 sqrt(F_0 / F_t))`` as a table.

    The rule :func:`~absjax.learn.evolve` starts from by default (Dutta et al.,
    arXiv 2003.10579): at each knot ``z``, ``K = min(N, ceil(K0 e^(z / 2)))``
    as the fraction ``(K - 1) / (N - 1)``.

    Parameters
    ----------
    num_workers : int
        N.
    k0 : int, default 1
        K0, the initial K.
    t0 : float, default 1.0
        The period of the rule's wall-clock checks, ``> 0``.
    lr : float, default 0.1
        The learning rate, ``> 0``.
    kappa : float, default 1.0
        ABS's staleness factor, ``>= 0``.
    knots : tuple of float, default ``KNOTS``
        Increasing ``z = log(F_0 / F_t)`` of the table's values.

    Returns
    -------
    ~absjax.policies.LearnedRule

    Raises
    ------
    ValueError
        If a number is outside its range.

    Examples
    --------
    >>> adasync_start(9, k0=1, knots=(0.0, 2.0)).values  # K = 1, then e
    (0.0, 0.25)
    """
    check_int("k0", k0)
    z = np.asarray(knots, float)
    k = np.minimum(num_workers, np.ceil(k0 * np.exp(z / 2)))
    values = np.clip((k - 1) / max(num_workers - 1, 1), 0.0, 1.0)
    return LearnedRule(tuple(values.tolist()), t0, kappa, lr, num_workers, knots)


def encode(rule: LearnedRule) -> np.ndarray:
    """The search vector of a rule.

    Parameters
    ----------
    rule : ~absjax.policies.LearnedRule
        The rule to encode.

    Returns
    -------
    numpy.ndarray
        ``(knots + 2,)`` float: the table's first value and its increments,
        then ``log(lr) / 3`` and ``log(kappa) / 3`` (``kappa`` floored at
        1e-3).
    """
    v = np.asarray(rule.values, float)
    logs = np.log([rule.lr, max(rule.kappa, 1e-3)]) / SCALE_LOG
    return np.concatenate([v[:1], np.diff(v), logs])


def decode(theta) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numbers of search vectors, the inverse of :func:`encode`.

    The table is ``clip(cumsum(theta_0, |theta_1|, ...), 0, 1)``, monotone for
    any vector.

    Parameters
    ----------
    theta : numpy.ndarray
        ``(..., knots + 2)`` search vectors.

    Returns
    -------
    values, lr, kappa : numpy.ndarray
        ``(..., knots)``, ``(...)`` and ``(...)`` float.
    """
    theta = np.asarray(theta, np.float64)
    steps = np.concatenate([theta[..., :1], np.abs(theta[..., 1:-2])], axis=-1)
    values = np.clip(np.cumsum(steps, axis=-1), 0.0, 1.0)
    lr, kappa = np.exp(SCALE_LOG * theta[..., -2]), np.exp(SCALE_LOG * theta[..., -1])
    return values, lr, kappa


def _check_simulator(sim: Simulator) -> LossTable:
    policy = sim.policy
    if not isinstance(sim, Simulator):
        raise ValueError(f"sim={sim!r} must be a Simulator")
    rule = policy.k_rule
    if not isinstance(rule, LossTable) or not isinstance(
        policy.tau_rule, StalenessBound
    ):
        raise ValueError(
            "sim must run a learned policy (LearnedRule.policy(): a LossTable "
            "K rule and a StalenessBound tau rule)"
        )
    if sim.capacity != sim.num_workers:
        raise ValueError(f"sim's k_max={sim.capacity} must be num_workers")
    return rule


def run_candidates(
    sim: Simulator,
    values,
    lr,
    kappa,
    seeds: int,
    seed: int = 0,
    seed_offset: int = 0,
    chunk: int | str = "auto",
) -> Result:
    """Runs candidate rules in one compiled program.

    Each candidate's numbers equal those of a Simulator built with its own
    rule.

    Parameters
    ----------
    sim : ~absjax.Simulator
        A Simulator of a learned policy
        (:meth:`~absjax.policies.LearnedRule.policy`) with ``k_max`` N.
    values : numpy.ndarray
        ``(candidates, knots)`` (or one row): the candidates' tables.
    lr : float or numpy.ndarray
        The candidates' learning rates, ``> 0`` (one, or one per candidate).
    kappa : float or numpy.ndarray
        The candidates' staleness factors, ``>= 0`` (one, or one per
        candidate).
    seeds : int
        Seeds per candidate.
    seed : int, default 0
        Base seed.
    seed_offset : int, default 0
        Index of the first seed.
    chunk : int or "auto", default "auto"
        Seeds vmapped together, as in :meth:`absjax.Simulator.run`.

    Returns
    -------
    ~absjax.Result
        With a ``candidate`` grid axis (the rows of ``values``).

    Raises
    ------
    ValueError
        If ``sim`` does not run a learned policy, or a number is outside its
        range.
    """
    table = _check_simulator(sim)
    values = np.atleast_2d(np.asarray(values, np.float64))
    count = values.shape[0]
    check_table(table.knots, values)
    lr = np.broadcast_to(np.asarray(lr, np.float64), (count,))
    kappa = np.broadcast_to(np.asarray(kappa, np.float64), (count,))
    if not np.all(np.isfinite(lr) & (lr > 0)):
        raise ValueError(f"lr={lr.tolist()} must be numbers > 0")
    if not np.all(np.isfinite(kappa) & (kappa >= 0)):
        raise ValueError(f"kappa={kappa.tolist()} must be numbers >= 0")
    check_int("seeds", seeds)
    base = sim.params
    n = sim.num_workers
    k = np.round(1 + (n - 1) * values[:, 0]).astype(np.int32)
    rules = base.policy
    policy = {
        **rules,
        "k_rule": {**rules["k_rule"], "values": values},
        "tau_rule": {**rules["tau_rule"], "kappa": kappa},
    }
    params = base._replace(k=k, lr=lr, policy=policy)
    params = jax.tree.map(lambda d, x: jnp.asarray(x, d.dtype), base, params)
    axes = jax.tree.map(lambda _: None, base)
    axes = axes._replace(
        k=0,
        lr=0,
        policy={
            **axes.policy,
            "k_rule": {**axes.policy["k_rule"], "values": 0},
            "tau_rule": {**axes.policy["tau_rule"], "kappa": 0},
        },
    )
    chunk = memory.resolve_chunk(sim, chunk, seeds)
    devices, padded = layout.layout(seeds, seed, seed_offset, chunk)
    indices = jnp.arange(seed_offset, seed_offset + padded, dtype=jnp.uint32)
    args = (root_key(seed), indices, params)
    out = sim._execute(axes, False, chunk, devices, args)
    grid = {"candidate": np.arange(count)}
    return sim._result(out, grid, seeds, seed, seed_offset, chunk)


def initial_loss(sim: Simulator) -> float:
    """``F(w_0)``, the objective's loss at the initial model.

    Parameters
    ----------
    sim : ~absjax.Simulator
        The Simulator whose objective is evaluated.

    Returns
    -------
    float
    """
    objective, data = sim.objective, sim.objective.data
    return float(objective.loss(data, objective.init(data)))


def fitness(
    result: Result, name: str, horizon: float, loss0: float, target=None
) -> np.ndarray:
    """Per grid point, the fitness of ``result``'s seeds (lower is better).

    The fitnesses are defined in :mod:`absjax.learn`'s introduction.

    Parameters
    ----------
    result : ~absjax.Result
        The runs.
    name : {"auc", "time_to_target"}
        The fitness (``FITNESS``).
    horizon : float
        The wall-clock budget the fitness looks at.
    loss0 : float
        ``F_0``, the loss at the initial model (:func:`initial_loss`).
    target : float, optional
        The loss to reach (``"time_to_target"`` only).

    Returns
    -------
    numpy.ndarray
        ``grid_shape`` float.
    """
    if name == "time_to_target":
        times = result.time_to_target(target)
        times = np.where(np.isfinite(times) & (times <= horizon), times, horizon)
        return np.median(times, axis=-1) / horizon
    clock = np.clip(result.wall_clock, 0.0, horizon)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(result.loss / loss0)
    logs = np.where(np.isfinite(logs), logs, DIVERGED_LOG)
    start = np.zeros(clock.shape[:-1] + (1,))
    edges = np.concatenate([start, clock, np.full_like(start, horizon)], axis=-1)
    levels = np.concatenate([np.zeros_like(start), logs], axis=-1)
    area = (levels * np.diff(edges, axis=-1)).sum(-1) / horizon
    return area.mean(-1)


@dataclasses.dataclass
class Evolution:
    """What :func:`~absjax.learn.evolve` found.

    Attributes
    ----------
    rule : ~absjax.policies.LearnedRule
        The best rule.
    score : float
        Its training fitness.
    initial_score : float
        The starting rule's training fitness.
    history : list of dict
        One row per generation: ``generation``, the generation's ``best`` and
        ``median`` fitness, and ``best_so_far``.
    """

    rule: LearnedRule
    score: float
    initial_score: float
    history: list[dict[str, Any]]


def _strategy(name: str, population: int, dims: int, std: float):
    import evosax.algorithms as algorithms

    solution = jnp.zeros(dims)
    if name == "snes":
        es = algorithms.SNES(population, solution)
    elif name == "open_es":
        es = algorithms.Open_ES(population, solution)
    else:
        es = algorithms.CMA_ES(population, solution)
    params = es.default_params
    if hasattr(params, "std_init"):
        params = params.replace(std_init=jnp.asarray(std))
    return es, params


def evolve(
    sim: Simulator,
    horizon: float,
    start: LearnedRule | None = None,
    *,
    objective: str = "auc",
    target: float | None = None,
    population: int = 16,
    generations: int = 20,
    seeds: int = 8,
    seed: int = 0,
    seed_offset: int = TRAIN_OFFSET,
    strategy: str = "snes",
    std: float = 0.1,
) -> Evolution:
    """Optimises a learned rule by evolution strategies on training seeds.

    The strategies are SNES (Wierstra et al., JMLR 15, 2014), OpenAI-ES
    (Salimans et al., arXiv 1703.03864) and CMA-ES (Hansen, arXiv 1604.00772),
    from ``evosax`` (Lange, arXiv 2212.04180).

    Parameters
    ----------
    sim : ~absjax.Simulator
        A Simulator of a learned policy (``start.policy()``) whose rounds
        cover ``horizon`` of wall clock (warned otherwise); its numbers are
        replaced by the candidates'.
    horizon : float
        The wall-clock budget the fitness looks at.
    start : ~absjax.policies.LearnedRule, optional
        The rule the search starts from (default:
        :func:`~absjax.learn.adasync_start` from ``K0 = 1`` with the
        Simulator's lr and t0).
    objective : {"auc", "time_to_target"}, default "auc"
        The fitness (``FITNESS``).
    target : float, optional
        The loss to reach (``time_to_target``; default ``0.2 F_0``).
    population : int, default 16
        Candidates per generation (at least 2).
    generations : int, default 20
        Generations to run.
    seeds : int, default 8
        Training seeds, indices ``seed_offset, ...`` (the same seeds in every
        generation; evaluate the result on other ones).
    seed : int, default 0
        Base seed of the runs and of the strategy.
    seed_offset : int, default ``TRAIN_OFFSET``
        Index of the first training seed.
    strategy : {"snes", "open_es", "cma_es"}, default "snes"
        The evolution strategy (evosax).
    std : float, default 0.1
        Initial search width (the table's values are fractions of N).

    Returns
    -------
    ~absjax.learn.Evolution
        Its rule is the best of the candidates, the strategy's final mean and
        ``start`` on the training seeds.

    Raises
    ------
    ValueError
        For an unknown objective or strategy, or numbers out of range, before
        anything compiles.
    """
    if objective not in FITNESS:
        raise ValueError(f"objective={objective!r} must be one of {FITNESS}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} must be one of {STRATEGIES}")
    check_int("population", population, 2)
    check_int("generations", generations)
    check_int("seeds", seeds)
    check_real("horizon", horizon, 0.0, strict_low=True)
    check_real("std", std, 0.0, strict_low=True)
    table = _check_simulator(sim)
    n = sim.num_workers
    if start is None:
        start = adasync_start(n, 1, table.t0, sim.lr, 1.0, table.knots)
    if tuple(start.knots) != tuple(table.knots) or start.t0 != table.t0:
        raise ValueError("start must have the Simulator's knots and t0")
    loss0 = initial_loss(sim)
    if target is None:
        target = 0.2 * loss0
    check_real("target", target, -np.inf)

    def score(theta) -> tuple[np.ndarray, Result]:
        values, lr, kappa = decode(theta)
        result = run_candidates(sim, values, lr, kappa, seeds, seed, seed_offset)
        return fitness(result, objective, horizon, loss0, target), result

    theta0 = encode(start)
    es, params = _strategy(strategy, population, theta0.size, std)
    key = jax.random.key(seed)
    key, key_init = jax.random.split(key)
    state = es.init(key_init, jnp.asarray(theta0, jnp.float32), params)
    best_theta, best, history = theta0, np.inf, []
    for generation in range(generations):
        key, key_ask, key_tell = jax.random.split(key, 3)
        thetas, state = es.ask(key_ask, state, params)
        thetas = np.asarray(thetas, np.float64)
        scores, result = score(thetas)
        if generation == 0:
            _warn_short(result, horizon)
        state, _ = es.tell(
            key_tell, jnp.asarray(thetas), jnp.asarray(scores), state, params
        )
        i = int(np.argmin(scores))
        if scores[i] < best:
            best, best_theta = float(scores[i]), thetas[i]
        history.append(
            {
                "generation": generation,
                "best": float(scores[i]),
                "median": float(np.median(scores)),
                "best_so_far": best,
            }
        )
    mean = np.asarray(es.get_mean(state), np.float64)
    last = np.stack([theta0, best_theta, mean])
    # padded to the population, so that the program compiled for it is reused
    if population > 3:
        last = np.concatenate([last, np.repeat(last[:1], population - 3, 0)])
    finals = score(last)[0][:3]
    choice = int(np.argmin(finals))
    values, lr, kappa = decode(last[choice])
    rule = dataclasses.replace(
        start,
        values=tuple(values.tolist()),
        lr=float(lr),
        kappa=float(kappa),
        metadata={
            "objective": objective,
            "target": float(target),
            "horizon": float(horizon),
            "strategy": strategy,
            "population": population,
            "generations": generations,
            "training_seeds": [seed_offset, seed_offset + seeds],
            "seed": seed,
            "delay": sim.describe()["delay"],
            "score": float(finals[choice]),
            "initial_score": float(finals[0]),
        },
    )
    return Evolution(rule, float(finals[choice]), float(finals[0]), history)


def _warn_short(result: Result, horizon: float) -> None:
    reached = np.median(result.wall_clock[..., -1])
    if reached < horizon:
        warnings.warn(
            f"the runs end at wall clock {reached:.3g} (median), before "
            f"horizon={horizon:g}: build the Simulator with more rounds",
            stacklevel=3,
        )
