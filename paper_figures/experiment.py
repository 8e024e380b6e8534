"""The main comparison: fair tuning, the target loss, selection, evaluation.

Every method is tuned by the same rule on the same learning-rate grid and a
knob grid of the same size (:mod:`paper_figures.methods`), on *tuning seeds*
(global seed indices from ``TUNE_OFFSET``), then its chosen configuration runs
on the *evaluation seeds* (indices ``0 .. eval_seeds - 1``), which every method
shares. Each method's program is compiled once: the grid's numbers (learning
rate, K^0 or K) and the seed blocks only change the numbers it is called with.

**Budget.** Every run is judged within the wall-clock budget ``horizon``: a
seed that reaches the target later (or never) has time- and rounds-to-target
``inf``; a diverged seed too.

**Target loss** (:func:`target_loss`): ``L_0 - p (L_0 - L_common)`` with ``L_0``
the initial loss, ``p = target_progress`` (0.9) and ``L_common`` the lowest
loss that *every* method reaches within the budget with its best
configuration, on at least half of the tuning seeds: ``L_common = max over
methods of min over configurations of median over tuning seeds of the lowest
loss logged within the budget``. So every method, tuned, can reach the target,
and the comparison is about how fast.

**Selection rule**: each method takes the configuration with the least median
time-to-target on the tuning seeds (``inf`` for seeds that never reach it or
diverge); ties go to the lower median loss at the end of the budget, then to
the first configuration in grid order.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np

import absjax
from absjax import networks
from paper_figures import methods
from paper_figures.claims import median
from paper_figures.profiles import DELAYS, MAIN_DELAY, Profile

TUNE_OFFSET = 1_000_000  # first global seed index of the tuning seeds


@dataclasses.dataclass
class Candidate:
    """One configuration of one method and the program that runs it."""

    method: str
    lr: float
    knob: int | None  # K^0, K or U; None for sync and async
    sim: absjax.Simulator

    @property
    def params(self):
        params = self.sim.params._replace(lr=self.lr)
        if methods.BY_KEY[self.method].knob == "k":
            params = params._replace(k=self.knob)
        return params

    def describe(self) -> str:
        knob = methods.KNOB_NAMES.get(self.method)
        text = f"lr={self.lr:g}"
        return text if knob is None else f"{knob}={self.knob}, {text}"


_OBJECTIVES: dict = {}  # built once per process: simulators are cached by it


def main_objective(profile: Profile, cifar10: str | None = None):
    """The MLP on the synthetic data set, or the CNN on CIFAR-10 files."""
    key = (repr(profile.network), repr(profile.cnn), cifar10)
    if key not in _OBJECTIVES:
        if cifar10 is not None:
            objective = networks.CNN(dataset="cifar10", data_dir=cifar10, **profile.cnn)
        else:
            objective = networks.MLP(**profile.network)
        _OBJECTIVES[key] = objective
    return _OBJECTIVES[key]


def initial_values(objective) -> dict[str, float]:
    """The loss (and test metric) of ``w_0``, the same for every seed."""
    data = objective.data
    w0 = objective.init(data)
    values = {"loss": float(objective.loss(data, w0))}
    if getattr(objective, "metric_name", None):
        values[objective.metric_name] = float(objective.metric(data, w0))
    return values


def initial_loss(objective) -> float:
    """``F(w_0)``: the loss before any round (the same for every seed)."""
    return initial_values(objective)["loss"]


def candidates(
    profile: Profile,
    objective,
    keys=None,
    n: int | None = None,
    delay: str | None = None,
) -> dict[str, list[Candidate]]:
    """Every method's configurations, in grid order (knob-major)."""
    n = profile.workers if n is None else n
    delay = DELAYS[MAIN_DELAY] if delay is None else delay
    out: dict[str, list[Candidate]] = {}
    for key in keys or [m.key for m in methods.METHODS]:
        method = methods.BY_KEY[key]

        def build(knobs, key=key):
            return methods.simulator(
                key,
                n,
                delay,
                objective,
                profile.horizon,
                profile.logs,
                knobs,
                profile.lr_grid[0],
                profile.t0,
                profile.kappa,
            )

        if method.knob == "k":
            sim = build(profile.k_grid)
            grid = itertools.product(profile.k_grid, profile.lr_grid)
            out[key] = [Candidate(key, lr, k, sim) for k, lr in grid]
        elif method.knob == "u":
            out[key] = []
            for u in profile.u_grid:
                sim = build(u)
                out[key] += [Candidate(key, lr, u, sim) for lr in profile.lr_grid]
        else:
            sim = build(None)
            out[key] = [Candidate(key, lr, None, sim) for lr in profile.lr_grid]
    return out


def concat(results: list[absjax.Result]) -> absjax.Result:
    """Results of consecutive seed blocks of one configuration, as one."""
    first = results[0]
    return absjax.Result(
        metrics={
            name: np.concatenate([r.metrics[name] for r in results], axis=-2)
            for name in first.metrics
        },
        diverged_round=np.concatenate([r.diverged_round for r in results], axis=-1),
        seeds=np.concatenate([r.seeds for r in results]),
        grid=first.grid,
        num_workers=first.num_workers,
        policy=first.policy,
        seed=first.seed,
        metric_name=first.metric_name,
    )


def run(candidate: Candidate, profile: Profile, seed: int, offset: int, count: int):
    """Runs seeds ``offset .. offset + count - 1`` in blocks of ``profile.block``
    (the same compiled program for every block and every configuration)."""
    parts = [
        candidate.sim.run(
            seeds=profile.block,
            seed=seed,
            params=candidate.params,
            seed_offset=start,
            chunk=profile.chunk,
        )
        for start in range(offset, offset + count, profile.block)
    ]
    return concat(parts)


# ---------------------------------------------------------------- statistics
def lowest_loss(result: absjax.Result, horizon: float) -> np.ndarray:
    """Per seed: the lowest loss logged within the budget (``inf`` diverged)."""
    loss = np.where(result.wall_clock <= horizon, result.loss, np.inf)
    low = loss.min(axis=-1)
    return np.where(result.diverged | np.isnan(low), np.inf, low)


def loss_at_horizon(result: absjax.Result, horizon: float) -> np.ndarray:
    """Per seed: the last loss logged within the budget (``inf`` diverged)."""
    inside = result.wall_clock <= horizon
    last = np.maximum(inside.sum(axis=-1) - 1, 0)
    loss = np.take_along_axis(result.loss, last[..., None], axis=-1)[..., 0]
    loss = np.where(inside.any(axis=-1), loss, np.inf)
    return np.where(result.diverged | np.isnan(loss), np.inf, loss)


def times_to_target(result: absjax.Result, target: float, horizon: float):
    """Per seed ``(time, rounds)`` to the target within the budget; ``inf`` when
    not reached by then or diverged."""
    time = result.time_to_target(target)
    rounds = result.rounds_to_target(target).astype(np.float64)
    late = ~(time <= horizon)  # inf (never), nan (diverged) or too late
    return np.where(late, np.inf, time), np.where(late, np.inf, rounds)


def target_loss(
    lowest: dict[str, list[np.ndarray]], loss0: float, progress: float
) -> tuple[float, float]:
    """``(target, L_common)`` from each method's per-configuration lowest
    losses on the tuning seeds (see the module docstring)."""
    best = {
        key: min(float(median(values)) for values in per_config)
        for key, per_config in lowest.items()
    }
    finite = [v for v in best.values() if np.isfinite(v)]
    common = max(finite) if finite else loss0  # inf: diverged on most seeds
    return loss0 - progress * (loss0 - common), common


def select(per_config: list[tuple[np.ndarray, np.ndarray]]) -> int:
    """Index of the chosen configuration from ``(times, final_losses)`` per
    configuration: least median time, then least median final loss, then the
    first in grid order."""
    scores = [
        (float(median(times)), float(median(final)), index)
        for index, (times, final) in enumerate(per_config)
    ]
    return min(scores)[2]


@dataclasses.dataclass
class Comparison:
    """Everything the figures and the report need from the main comparison."""

    initial: dict[str, float]  # loss (and test metric) of w_0
    target: float
    common: float
    tuning: list[dict]  # one row per configuration
    chosen: dict[str, Candidate]
    results: dict[str, absjax.Result]  # evaluation seeds of the chosen config
    times: dict[str, np.ndarray]  # evaluation seeds: time-to-target
    rounds: dict[str, np.ndarray]  # evaluation seeds: rounds-to-target

    @property
    def loss0(self) -> float:
        return self.initial["loss"]


def compare_methods(
    profile: Profile,
    objective,
    seed: int,
    progress: Callable,
) -> Comparison:
    """Tunes every method on the tuning seeds, then evaluates its choice."""
    pool = candidates(profile, objective)
    units = sum(len(c) for c in pool.values())
    bar = progress("tuning (all methods, same grids)", units)
    tuned: dict[str, list[absjax.Result]] = {}
    for key, configs in pool.items():
        tuned[key] = []
        for c in configs:
            bar.set_postfix_str(f"{methods.BY_KEY[key].label}: {c.describe()}")
            tuned[key].append(run(c, profile, seed, TUNE_OFFSET, profile.tune_seeds))
            bar.update()
    bar.close()

    initial = initial_values(objective)
    loss0 = initial["loss"]
    h = profile.horizon
    lowest = {k: [lowest_loss(r, h) for r in rs] for k, rs in tuned.items()}
    target, common = target_loss(lowest, loss0, profile.target_progress)

    rows, chosen = [], {}
    for key, configs in pool.items():
        scores = []
        for c, r, low in zip(configs, tuned[key], lowest[key], strict=True):
            time, rounds = times_to_target(r, target, h)
            final = loss_at_horizon(r, h)
            scores.append((time, final))
            rows.append(
                dict(
                    method=key,
                    knob=methods.KNOB_NAMES.get(key, ""),
                    knob_value=c.knob,
                    lr=c.lr,
                    median_time=float(median(time)),
                    median_rounds=float(median(rounds)),
                    reached=float(np.isfinite(time).mean()),
                    median_final_loss=float(median(final)),
                    median_lowest_loss=float(median(low)),
                    diverged=int(r.diverged.sum()),
                    chosen=False,
                )
            )
        index = select(scores)
        chosen[key] = configs[index]
        rows[len(rows) - len(configs) + index]["chosen"] = True

    bar = progress("evaluation (chosen configurations)", len(chosen))
    results, times, rounds = {}, {}, {}
    for key, c in chosen.items():
        bar.set_postfix_str(f"{methods.BY_KEY[key].label}: {c.describe()}")
        results[key] = run(c, profile, seed, 0, profile.eval_seeds)
        times[key], rounds[key] = times_to_target(results[key], target, h)
        bar.update()
    bar.close()
    return Comparison(initial, target, common, rows, chosen, results, times, rounds)


def coverage(result: absjax.Result, horizon: float) -> float:
    """Share of seeds whose simulated wall clock reached the budget."""
    return float((result.wall_clock[..., -1] >= horizon).mean())
