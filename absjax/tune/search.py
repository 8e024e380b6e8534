"""Search algorithms over one method's space, each batch one compiled program.

- :func:`halving`: successive halving (Jamieson and Talwalkar, "Non-stochastic
  best arm identification and hyperparameter optimization", AISTATS 2016,
  arXiv:1502.07943) over rungs of growing seeds and horizon (rounds): rung
  ``r`` runs its configurations on ``seeds * eta**r`` seeds for
  ``rounds / eta**(rungs-1-r)`` rounds as one ``points=`` program and keeps the
  best ``1/eta``.
- :func:`hyperband`: Hyperband (Li et al., "Hyperband: a novel bandit-based
  approach to hyperparameter optimization", JMLR 2018, arXiv:1603.06560), the
  brackets of successive halving that start at each rung, the budget split
  equally between them.
- :func:`optuna_search`: Optuna's samplers (Akiba et al., "Optuna: a
  next-generation hyperparameter optimization framework", KDD 2019,
  arXiv:1907.10902) through ask-and-tell, ``batch`` trials asked at a time and
  run as one program; with an RDB ``storage`` several processes join one study.

The cost of a run is its simulated *seed-rounds* (seeds times rounds); every
algorithm stays within the ``budget`` it is given.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from typing import Any

import numpy as np

from absjax.tune import scores
from absjax.tune.space import Choice, Space

SAMPLERS = ("tpe", "cmaes", "qmc")
ALGORITHMS = ("halving", "hyperband", *SAMPLERS)
TOLD_INF = 1e30  # what Optuna is told for a configuration that never counts


@dataclasses.dataclass(frozen=True)
class Rung:
    """One rung: how many configurations, on how many seeds, for how long."""

    configs: int
    seeds: int
    rounds: int

    @property
    def cost(self) -> int:
        return self.configs * self.seeds * self.rounds


def schedule(
    budget: int, rounds: int, log_every: int, seeds: int, eta: int, rungs: int
) -> list[Rung]:
    """The rungs of successive halving with the most first-rung configurations
    that fit ``budget`` seed-rounds.

    >>> [(r.configs, r.seeds, r.rounds) for r in schedule(2000, 40, 10, 2, 2, 2)]
    [(17, 2, 20), (8, 4, 40)]

    Raises:
      ValueError: the budget cannot pay for one configuration in each rung.
    """
    horizons = [
        max(log_every, rounds // eta ** (rungs - 1 - r) // log_every * log_every)
        for r in range(rungs)
    ]

    def plan(first: int) -> list[Rung]:
        return [
            Rung(max(1, first // eta**r), seeds * eta**r, horizons[r])
            for r in range(rungs)
        ]

    smallest = plan(eta ** (rungs - 1))
    need = sum(r.cost for r in smallest)
    if need > budget:
        raise ValueError(
            f"budget={budget} seed-rounds is too small for one rung of "
            f"successive halving: it needs at least {need}"
        )
    first = eta ** (rungs - 1)
    while sum(r.cost for r in plan(first + 1)) <= budget:
        first += 1
    return plan(first)


def sample(spaces: list[Space], count: int, rng: np.random.Generator) -> list[dict]:
    """``count`` configurations: every one of a finite space that small
    enough, else independent draws."""
    if all(isinstance(s, Choice) for s in spaces):
        product = list(itertools.product(*(s.values for s in spaces)))
        if len(product) <= count:
            return [
                dict(zip([s.name for s in spaces], v, strict=True)) for v in product
            ]
    return [{s.name: s.sample(rng) for s in spaces} for _ in range(count)]


def halving(
    evaluate,
    spaces: list[Space],
    rungs: list[Rung],
    rng: np.random.Generator,
    bracket: int = 0,
) -> list[dict[str, Any]]:
    """Successive halving; returns every trial (one dict per configuration
    and rung), the last rung's best first among its rung.

    ``evaluate(configs, seeds, rounds)`` returns each configuration's per-seed
    objective values ``(len(configs), seeds)``.
    """
    configs = sample(spaces, rungs[0].configs, rng)
    trials = []
    for r, rung in enumerate(rungs):
        values = evaluate(configs, rung.seeds, rung.rounds)
        score = scores.score(values)
        order = np.argsort(score, kind="stable")
        for i, config in enumerate(configs):
            trials.append(
                _trial(
                    config, score[i], rung.seeds, rung.rounds, rung=r, bracket=bracket
                )
            )
        if r + 1 < len(rungs):
            keep = max(1, min(rungs[r + 1].configs, len(configs)))
            configs = [configs[i] for i in order[:keep]]
    return trials


def hyperband(
    evaluate,
    spaces: list[Space],
    budget: int,
    rounds: int,
    log_every: int,
    seeds: int,
    eta: int,
    rungs: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Hyperband: one successive-halving bracket per number of rungs (from
    ``rungs`` down to 1, all ending at full seeds and rounds), each with an
    equal share of ``budget``; brackets too small for their share are left
    out (at least the full one runs)."""
    share = budget // rungs
    trials = []
    for bracket in range(rungs):
        top = seeds * eta**bracket
        try:
            plan = schedule(share, rounds, log_every, top, eta, rungs - bracket)
        except ValueError:
            if bracket == 0 and rungs > 1:
                continue
            raise
        trials += halving(evaluate, spaces, plan, rng, bracket=bracket)
    return trials


def optuna_search(
    evaluate,
    spaces: list[Space],
    budget: int,
    rounds: int,
    seeds: int,
    sampler: str,
    batch: int,
    seed: int,
    storage: str | None = None,
    study_name: str | None = None,
):
    """Optuna ask-and-tell, ``batch`` trials per program; returns the trials
    of this process and the study (shared through ``storage``).

    Raises:
      ValueError: an unknown sampler or a budget below one trial.
    """
    import optuna

    if sampler not in SAMPLERS:
        raise ValueError(f"sampler={sampler!r} must be one of: {', '.join(SAMPLERS)}")
    count = budget // (seeds * rounds)
    if count < 1:
        raise ValueError(
            f"budget={budget} seed-rounds is too small for one trial of "
            f"{seeds} seeds x {rounds} rounds"
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental samplers, CMA-ES fallbacks
        made = {
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            "cmaes": lambda: optuna.samplers.CmaEsSampler(
                seed=seed, warn_independent_sampling=False
            ),
            "qmc": lambda: optuna.samplers.QMCSampler(seed=seed),
        }[sampler]()
        study = _join_study(optuna, storage, study_name, made)
        trials = []
        while count > 0:
            asked = [study.ask() for _ in range(min(batch, count))]
            configs = [{s.name: s.suggest(t) for s in spaces} for t in asked]
            padded = configs + configs[:1] * (batch - len(configs))  # one shape
            score = scores.score(evaluate(padded, seeds, rounds))[: len(configs)]
            for trial, config, value in zip(asked, configs, score, strict=True):
                study.tell(trial, float(min(value, TOLD_INF)))
                trials.append(_trial(config, value, seeds, rounds, trial=trial.number))
            count -= len(asked)
    return trials, study


def _trial(config, score, seeds, rounds, **where) -> dict[str, Any]:
    return {
        "config": dict(config),
        "score": float(score),
        "seeds": int(seeds),
        "rounds": int(rounds),
        "cost": int(seeds) * int(rounds),
        **where,
    }


def best(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """The best trial among those at the most seeds and rounds (ties: first)."""
    top = max((t["seeds"] * t["rounds"], t["rounds"]) for t in trials)
    final = [t for t in trials if (t["seeds"] * t["rounds"], t["rounds"]) == top]
    return min(
        final, key=lambda t: t["score"] if math.isfinite(t["score"]) else math.inf
    )


def _join_study(optuna, storage, study_name, sampler, attempts: int = 5):
    """Create or join the study. Processes that start together may race to
    create an RDB storage's tables: a loser retries and then finds them."""
    import time

    import sqlalchemy.exc

    for attempt in range(1, attempts + 1):
        try:
            return optuna.create_study(
                storage=storage,
                study_name=study_name,
                sampler=sampler,
                direction="minimize",
                load_if_exists=storage is not None,
            )
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError):
            if attempt == attempts:
                raise
            time.sleep(0.5 * attempt)
