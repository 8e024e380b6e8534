"""One comparison: fair tuning, the target loss, selection and evaluation.

Every method of a setting is tuned by the same rule on its configurations
(:mod:`paper_figures.methods`; the same count for every method) on *tuning
seeds* (global seed indices from ``TUNE_OFFSET``), then its chosen
configuration runs on the *evaluation seeds* (indices ``0 .. eval_seeds -
1``), which every method shares. Runs go in blocks of ``tune_seeds`` seeds, so
each program is compiled once: a configuration, a block or a data split only
changes the numbers it is called with.

**Budget.** Every run is judged within the wall-clock budget ``horizon``: a
seed that reaches the target later (or never) has time-, rounds- and
messages-to-target ``inf``; a diverged seed too.

**Target loss** (:func:`target_loss`): ``L_0 - p (L_0 - L_common)`` with ``L_0``
the initial loss, ``p = target_progress`` and ``L_common`` the lowest loss
that *every* method of the setting reaches within the budget with its best
configuration on at least half of the tuning seeds: ``max over methods of min
over configurations of median over tuning seeds of the lowest loss logged
within the budget``. Every method, tuned, can reach it; the comparison is
about how fast. Readings of the ablation are judged on the target of their
setting and split (they do not move it).

**Selection rule**: the least median time-to-target on the tuning seeds
(``inf`` for seeds that never reach it or diverge); ties go to the lower
median loss at the end of the budget, then to the first configuration in grid
order.

**Messages** to the target: uploads plus downloads (what the ABS group counts
in its own code), summed over the logged rows up to the first one at which the
loss reaches the target (the N downloads at time 0 are in the first row).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

import absjax
from paper_figures import methods
from paper_figures.claims import median
from paper_figures.profiles import Profile

TUNE_OFFSET = 1_000_000  # first global seed index of the tuning seeds


# ---------------------------------------------------------------- running
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


@dataclasses.dataclass
class Runner:
    """Runs configurations of one setting on one data split."""

    profile: Profile
    setting: str
    objective: object  # the program's objective (the i.i.d. split)
    data: dict  # the split's data numbers
    split: str
    seed: int
    loss0: float = float("nan")  # the loss of w_0 (interpolation before row 1)
    bar: object = None  # a tqdm bar, one unit per seed block

    @property
    def grids(self):
        return getattr(self.profile, self.setting)

    def simulator(self, config: methods.Config) -> absjax.Simulator:
        p = self.profile
        program = method(self.setting, config.method).program
        return methods.simulator(
            program,
            config.u,
            methods.k_min(self.grids, program, p.workers),
            p.workers,
            p.delay,
            self.objective,
            p.horizon,
            p.t0,
            p.kappa,
        )

    def run(self, config, offset: int, count: int, c=None) -> absjax.Result:
        """Seeds ``offset .. offset + count - 1`` of ``config``, in blocks."""
        sim = self.simulator(config)
        params = methods.params(sim, config, c)._replace(data=self.data)
        block = self.profile.tune_seeds
        parts = []
        for start in range(offset, offset + count, block):
            parts.append(
                sim.run(
                    seeds=block,
                    seed=self.seed,
                    params=params,
                    seed_offset=start,
                    chunk=self.profile.chunk,
                )
            )
            if self.bar is not None:
                self.bar.update()
        return concat(parts)


def method(setting: str, key: str) -> methods.Method:
    return next(m for m in methods.SETTINGS[setting] if m.key == key)


# ------------------------------------------------------------- statistics
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


def to_target(
    result: absjax.Result,
    target: float,
    horizon: float,
    loss0: float,
    resolution: float,
) -> dict:
    """Per seed, the ``time``, ``rounds`` and ``messages`` (uploads + downloads)
    to the target loss, ``inf`` when not within the budget or diverged;
    ``censored``: the run ended before the budget without reaching it.

    ``result`` must log every round: the model changes only at aggregations,
    so the rows hold every model the server ever had, each in force from its
    row's wall clock until the next row's (``w_0``, with loss ``loss0``, from
    time 0 until the first row).

    - **time**: the first point of the common wall-clock grid ``0,
      resolution, 2 resolution, ...`` at which the model in force has a loss
      at or below ``target``. The grid is the same for every method, so no
      method is measured more coarsely than another; refining it moves a time
      by less than ``resolution``.
    - **rounds** and **messages**: exact, at the first aggregation whose
      model has a loss at or below ``target`` (the N initial downloads count).
    """
    rounds = np.asarray(result.round)
    if rounds.shape[-1] and not (
        np.all(np.diff(rounds, axis=-1) == 1) and np.all(rounds[..., 0] == 1)
    ):
        raise ValueError("to_target needs a result logged every round")
    if not resolution > 0:
        raise ValueError(f"resolution={resolution} must be > 0")
    n = result.num_workers

    def prepend(first, values):
        head = np.full(values.shape[:-1] + (1,), first, np.float64)
        return np.concatenate([head, values.astype(np.float64)], axis=-1)

    loss = prepend(loss0, result.loss)
    clock = prepend(0.0, result.wall_clock)
    messages = prepend(n, np.cumsum(result.uploads + result.downloads, axis=-1))
    below = loss <= target
    below[..., 0] = False  # w_0 never counts (the target is below L_0)
    # The first grid point at or after each model's start, and whether the
    # model is still in force there (the next model starts later).
    step = np.ceil(clock / resolution)
    step = np.where((step - 1) * resolution >= clock, step - 1, step)  # rounding
    grid = step * resolution
    until = np.concatenate(
        [clock[..., 1:], np.full(clock.shape[:-1] + (1,), np.inf)], -1
    )
    seen = below & (grid < until)
    row = np.argmax(seen, axis=-1)[..., None]
    time = np.where(
        seen.any(axis=-1), np.take_along_axis(grid, row, -1)[..., 0], np.inf
    )
    first = np.argmax(below, axis=-1)[..., None]
    hit = below.any(axis=-1) & (np.take_along_axis(clock, first, -1)[..., 0] <= horizon)
    ok = ~result.diverged
    time = np.where(ok & (time <= horizon), time, np.inf)
    hit &= ok
    censored = ~np.isfinite(time) & ok & (result.wall_clock[..., -1] < horizon)
    return dict(
        time=time,
        rounds=np.where(
            hit, np.take_along_axis(prepend(0.0, rounds), first, -1)[..., 0], np.inf
        ),
        messages=np.where(hit, np.take_along_axis(messages, first, -1)[..., 0], np.inf),
        censored=censored,
    )


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


def initial_values(objective, data) -> dict[str, float]:
    """The loss and test metric of ``w_0`` (the same for every seed)."""
    w0 = objective.init(data)
    return {
        "loss": float(objective.loss(data, w0)),
        "test_accuracy": float(objective.metric(data, w0)),
    }


# ------------------------------------------------------------- comparison
@dataclasses.dataclass
class Evaluated:
    """One method's chosen configuration on the evaluation seeds."""

    config: methods.Config
    result: absjax.Result
    targets: dict  # to_target's per-seed arrays


@dataclasses.dataclass
class Comparison:
    """Everything the figures and the report need from one comparison."""

    setting: str
    split: str
    initial: dict[str, float]
    target: float
    common: float
    tuning: list[dict]  # one row per configuration
    chosen: dict[str, Evaluated]
    c: float  # the distance step's C of this comparison (= target)
    runner: Runner | None = None  # to tune readings on the same split
    pool: dict | None = None  # method -> its configurations
    tuned: dict | None = None  # method -> Results of its configurations

    @property
    def loss0(self) -> float:
        return self.initial["loss"]

    def times(self, metric: str) -> dict[str, np.ndarray]:
        return {k: e.targets[metric] for k, e in self.chosen.items()}

    @property
    def results(self) -> dict[str, absjax.Result]:
        return {k: e.result for k, e in self.chosen.items()}


def _tuning_rows(runner, key, label, configs, results, target) -> tuple[list, int]:
    h = runner.profile.horizon
    rows, scores = [], []
    for config, result in zip(configs, results, strict=True):
        reach = to_target(result, target, h, runner.loss0, runner.profile.resolution)
        final = loss_at_horizon(result, h)
        scores.append((reach["time"], final))
        rows.append(
            dict(
                setting=runner.setting,
                split=runner.split,
                method=key,
                reading=label,
                u=config.u,
                knob=method(runner.setting, key).knob or "",
                knob_value=config.k,
                lr=config.lr,
                median_time=float(median(reach["time"])),
                median_rounds=float(median(reach["rounds"])),
                median_messages=float(median(reach["messages"])),
                reached=float(np.isfinite(reach["time"]).mean()),
                median_final_loss=float(median(final)),
                median_lowest_loss=float(median(lowest_loss(result, h))),
                diverged=int(result.diverged.sum()),
                chosen=False,
            )
        )
    index = select(scores)
    rows[index]["chosen"] = True
    return rows, index


def compare(
    profile: Profile, setting: str, work, split: str, seed: int, progress: Callable
) -> Comparison:
    """Tunes every method of ``setting`` on ``split``, then evaluates its choice."""
    grids = getattr(profile, setting)
    n = profile.workers
    runner = Runner(profile, setting, work.objective, work.data(split), split, seed)
    initial = initial_values(work.objective, work.data(split))
    runner.loss0 = initial["loss"]
    pool = {
        m.key: methods.configurations(m, grids, n) for m in methods.SETTINGS[setting]
    }
    blocks = sum(map(len, pool.values())) + len(pool) * (
        profile.eval_seeds // profile.tune_seeds
    )
    title = methods.SETTING_TITLES[setting].split(" (")[0].lower()
    runner.bar = progress(f"{title}, {split} data: tuning and evaluation", blocks)
    tuned = {}
    for key, configs in pool.items():
        tuned[key] = []
        for config in configs:
            runner.bar.set_postfix_str(f"{methods.LABELS[key]}: {config.describe()}")
            tuned[key].append(runner.run(config, TUNE_OFFSET, profile.tune_seeds))
    h = profile.horizon
    lowest = {k: [lowest_loss(r, h) for r in rs] for k, rs in tuned.items()}
    target, common = target_loss(lowest, initial["loss"], profile.target_progress)
    comparison = Comparison(
        setting, split, initial, target, common, [], {}, target, runner, pool, tuned
    )
    for key, configs in pool.items():
        rows, index = _tuning_rows(runner, key, "default", configs, tuned[key], target)
        comparison.tuning += rows
        comparison.chosen[key] = evaluate(runner, configs[index], target)
    runner.bar.close()
    return comparison


def evaluate(runner: Runner, config, target: float, c=None) -> Evaluated:
    p = runner.profile
    runner.bar.set_postfix_str(f"{methods.LABELS[config.method]}: evaluation")
    result = runner.run(config, 0, p.eval_seeds, c)
    reach = to_target(result, target, p.horizon, runner.loss0, p.resolution)
    return Evaluated(config, result, reach)


def variant(
    comparison: Comparison, key: str, point, label: str, bar
) -> tuple[Evaluated, list[dict]]:
    """A reading of method ``key`` (``point``), tuned by the same rule on the
    same configurations and seeds and evaluated on the same evaluation seeds,
    judged on ``comparison``'s target."""
    runner = comparison.runner
    runner.bar = bar
    p = runner.profile
    configs = methods.configurations(
        method(comparison.setting, key), runner.grids, p.workers, point
    )
    results = []
    for config in configs:
        bar.set_postfix_str(f"{label}: {config.describe()}")
        results.append(runner.run(config, TUNE_OFFSET, p.tune_seeds, comparison.c))
    rows, index = _tuning_rows(runner, key, label, configs, results, comparison.target)
    evaluated = evaluate(runner, configs[index], comparison.target, comparison.c)
    return evaluated, rows


def retarget(comparison: Comparison, progress: float, label: str, bar):
    """The comparison on a stricter target ``L0 - progress (L0 - L_common)``
    (the same ``L_common``): every method re-selected by the same rule on its
    tuning runs, its choice evaluated (a choice that did not change keeps its
    evaluation runs). Returns ``(target, chosen, tuning_rows)``."""
    runner = comparison.runner
    runner.bar = bar
    loss0, common = comparison.loss0, comparison.common
    target = loss0 - progress * (loss0 - common)
    chosen, rows = {}, []
    for key, configs in comparison.pool.items():
        rows_, index = _tuning_rows(
            runner, key, label, configs, comparison.tuned[key], target
        )
        rows += rows_
        previous = comparison.chosen[key]
        if configs[index] == previous.config:
            h = runner.profile.horizon
            reach = to_target(
                previous.result, target, h, runner.loss0, runner.profile.resolution
            )
            chosen[key] = Evaluated(previous.config, previous.result, reach)
            bar.update(runner.profile.eval_seeds // runner.profile.tune_seeds)
        else:
            chosen[key] = evaluate(runner, configs[index], target, comparison.c)
    return target, chosen, rows


def coverage(result: absjax.Result, horizon: float) -> float:
    """Share of seeds whose simulated wall clock reached the budget."""
    return float((result.wall_clock[..., -1] >= horizon).mean())
