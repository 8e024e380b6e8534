"""The phase map: where does ABS win?

Over delay-tail heaviness (``profiles.TAILS``: exponential, shifted
exponential, Pareto with alpha 4, 2.5, 1.5, all of mean 1), worker
heterogeneity and N, on a cheap objective (:func:`objective`, a noisy
quadratic), each cell tunes ABS and every baseline of the gradient setting
(AdaSync, SA-AdaSync, sync, K-sync, async) by the main rule, each on the same
number of configurations (``PhaseMap.lr_grid`` x K^0 or K from
``k_fractions`` of N; sync and async a finer learning-rate grid of as many
points). The cell's effect is ABS against its **best baseline**, the one with
the least median time-to-target on the tuning seeds (never chosen on the
evaluation seeds): ``median(best baseline) / median(ABS)`` of the times to the
target on the evaluation seeds, with the paired bootstrap CI of
:mod:`paper_figures.claims`. A cell *supports* the claim when the CI lies
above 1, *contradicts* it when below, and is *inconclusive* otherwise.

**Target.** A fixed fraction (``PhaseMap.target_fraction``) of the initial
loss, the same in every cell, so that cells compare alike. (The main rule
sets the target by the slowest method, sync, whose rounds last ``E[X_(N:N)]``
and grow with N and the tail: a budget of tens of sync rounds in every cell
would not fit; here sync simply counts as never reaching a target it cannot
reach within the budget.)

**Heterogeneity.** Worker ``i`` is ``speed_i = exp(s Z_i)`` times slower
(``Z_i`` standard normal, drawn once per seed: ``absjax.delays.Delay`` with
``speeds="random"`` and ``speed_spread = s``), and the law is scaled by
``exp(s^2 / 2)``, so that a worker's expected *rate* ``E[1 / (speed_i
E[X])]`` stays 1. The cluster's expected throughput
is then N jobs per time unit at every spread, and heterogeneity only
redistributes it (some workers fast, some slow).

**Programs.** The delay numbers (shift, rate, scale, alpha, spread) are
numbers: one ``absjax.Ensemble`` per law family (shifted exponential, Pareto)
holds a ``k_async`` and a ``k_sync`` program (:mod:`paper_figures.readings`;
ABS, SA-AdaSync and async are points of the first, AdaSync, K-sync and sync of
the second) for every N, so no cell compiles. Each call runs one
configuration of one method per program on one block of seeds.
"""

from __future__ import annotations

import functools
import math

import jax
import numpy as np
import pandas as pd

import absjax
from absjax import delays, objectives
from paper_figures import claims, methods, readings, tuning
from paper_figures.profiles import TAILS, NoisyQuadratic, PhaseMap

SUPPORTS, CONTRADICTS, INCONCLUSIVE = "supports", "contradicts", "inconclusive"
OUTCOME = {
    claims.SUPPORTED: SUPPORTS,
    claims.NOT_SUPPORTED: CONTRADICTS,
    claims.INCONCLUSIVE: INCONCLUSIVE,
}
# method -> (program, point); the pairs run together, one per program
PAIRS = (("abs", "adasync"), ("sa_adasync", "k_sync"), ("async", "sync"))
BASELINES = ("adasync", "sa_adasync", "sync", "k_sync", "async")
_PROGRAM = {"abs": 0, "sa_adasync": 0, "async": 0, "adasync": 1, "k_sync": 1}
_PROGRAM["sync"] = 1


def objective(task: NoisyQuadratic) -> objectives.Quadratic:
    """A noisy quadratic with one fast direction (curvature 1, which bounds
    the stable step) and ``dim - 1`` slow ones (curvature ``slow``), which
    hold most of the initial loss: reaching the target takes tens of
    synchronous steps."""
    spectrum = (1.0,) + (task.slow,) * (task.dim - 1)
    return objectives.Quadratic(dim=task.dim, noise=task.noise, spectrum=spectrum)


_objective = functools.cache(objective)  # one objective (and program) per task


def family(tail: str) -> str:
    return type(delays.as_delay(TAILS[tail]).compute).__name__


def cell_delay(tail: str, spread: float) -> delays.Delay:
    """The law of ``tail`` scaled by ``exp(spread^2 / 2)``, with random speeds
    of log-spread ``spread`` (see the module docstring)."""
    law = delays.as_delay(TAILS[tail]).compute
    f = math.exp(spread**2 / 2)
    if isinstance(law, delays.ShiftedExponential):
        law = delays.ShiftedExponential(shift=law.shift * f, rate=law.rate / f)
    elif isinstance(law, delays.Pareto):
        law = delays.Pareto(scale=law.scale * f, alpha=law.alpha)
    else:
        raise ValueError(f"tail {tail!r} has no scaling here")
    return delays.Delay(law, speeds="random", speed_spread=spread)


def total_rate(phase: PhaseMap, n: int, spread: float, seed: int) -> float:
    """The largest total rate ``sum_i 1 / (speed_i E[X])`` of the cluster over
    the seeds that the phase map runs (tuning and evaluation), from the speeds
    that the engine draws for them (``Simulator.seed_keys``,
    ``Delay.worker_speeds``): what the rounds must be sized for."""
    delay = cell_delay(phase.tails[0], spread)
    mean = float(delay.compute.mean(delay.compute.params))
    base = jax.random.key(seed)
    indices = [*range(phase.eval_seeds)]
    indices += [tuning.TUNE_OFFSET + i for i in range(phase.tune_seeds)]
    worst = 0.0
    for index in indices:
        keys = absjax.Simulator.seed_keys(base, index)
        speeds = np.asarray(delay.worker_speeds(keys.speed, delay.params, n))
        worst = max(worst, float(np.sum(1.0 / (speeds * mean))))
    return worst


def k_values(phase: PhaseMap, key: str, n: int) -> list[int | None]:
    if key in ("sync", "async"):
        return [None]
    return list(phase.k_grid(n))


def configurations(phase: PhaseMap, key: str, n: int) -> list[tuple[float, int]]:
    """``(lr, K)`` of each configuration (the same count for every method)."""
    if key == "sync":
        return [(lr, n) for lr in phase.fine_lr_grid()]
    if key == "async":
        return [(lr, 1) for lr in phase.fine_lr_grid()]
    return [(lr, k) for k in phase.k_grid(n) for lr in phase.lr_grid]


@functools.cache
def _ensemble(phase: PhaseMap, law_family: str, seed: int) -> absjax.Ensemble:
    """The programs of one law family: k_async and k_sync for every N, their
    rounds sized for the fastest seed and spread, a row logged every round."""
    quadratic = _objective(phase.objective)
    tails = [t for t in phase.tails if family(t) == law_family]
    sims = []
    for n in phase.workers:
        rate = max(total_rate(phase, n, s, seed) for s in phase.spreads)
        for program in ("k_async", "k_sync"):
            k_min = 1 if program == "k_async" else min(phase.k_grid(n))
            bound = k_min / rate  # renewal: K / total rate (Dutta et al. Lemma 4)
            rounds = methods.rounds_for(phase.horizon, bound)
            sims.append(
                absjax.Simulator(
                    n,
                    readings.policy(program, phase.t0),
                    cell_delay(tails[0], 0.0),
                    quadratic,
                    rounds=rounds,
                    log_every=1,
                    k_max=n,
                )
            )
    return absjax.Ensemble(sims)


def _params(sim, key: str, lr: float, k: int, delay: delays.Delay):
    p = readings.numbers(sim.params, readings.POINTS[key])
    return p._replace(lr=lr, k=k, delay=delay.params)


def _run_pair(ens, phase, pair, index, delay, seed, offset, count, chosen=None):
    """Runs configuration ``index`` (or each method's ``chosen`` one) of the
    two methods of ``pair`` for every N; returns ``{(key, n): Result}``."""
    parts: dict = {}
    for start in range(offset, offset + count, phase.tune_seeds):
        params = []
        for n in phase.workers:
            for j, key in enumerate(pair):
                sim = ens.simulators[len(params)]
                i = index if chosen is None else chosen[(key, n)]
                lr, k = configurations(phase, key, n)[i]
                params.append(_params(sim, key, lr, k, delay))
                assert _PROGRAM[key] == j
        results = ens.run(
            seeds=phase.tune_seeds,
            seed=seed,
            params=params,
            seed_offset=start,
            chunk=phase.chunk,
        )
        it = iter(results)
        for n in phase.workers:
            for key in pair:
                parts.setdefault((key, n), []).append(next(it))
    return {k: tuning.concat(v) for k, v in parts.items()}


def _tune(ens, phase, delay, seed, bar) -> dict:
    """``{(method, N): [Result per configuration]}`` on the tuning seeds."""
    configs = len(phase.lr_grid) * len(phase.k_fractions)
    tuned: dict = {}
    for pair in PAIRS:
        for i in range(configs):
            out = _run_pair(
                ens, phase, pair, i, delay, seed, tuning.TUNE_OFFSET, phase.tune_seeds
            )
            for key_n, result in out.items():
                tuned.setdefault(key_n, []).append(result)
            bar.update()
    return tuned


def _choose(phase, results: dict, loss0: float) -> dict:
    """Each method's choice and tuning score ``(median time-to-target, median
    final loss)`` by the main rule; ``results`` maps a method to its Results
    per configuration."""
    h = phase.horizon
    target = phase.target_fraction * loss0
    choice, score = {}, {}
    for key, rs in results.items():
        per = [
            (
                tuning.to_target(r, target, h, loss0, phase.resolution)["time"],
                tuning.loss_at_horizon(r, h),
            )
            for r in rs
        ]
        choice[key] = tuning.select(per)
        t, f = per[choice[key]]
        score[key] = (float(claims.median(t)), float(claims.median(f)))
    return {"target": target, "choice": choice, "score": score, "loss0": loss0}


def _cell_rows(phase, where: dict, cell: dict, evals: dict, bootstrap, seed):
    """The rows of one cell (``where``: N, tail, spread): ABS's effect against
    the best baseline (chosen on the tuning scores) and each method's numbers."""
    n, h = where["N"], phase.horizon
    best = min(BASELINES, key=lambda k: (*cell["score"][k], BASELINES.index(k)))
    reach = {
        k: tuning.to_target(
            evals[k], cell["target"], h, cell["loss0"], phase.resolution
        )
        for k in evals
    }
    e = claims.effect(reach["abs"]["time"], reach[best]["time"], bootstrap, seed)
    rows = []
    for key in ("abs", *BASELINES):
        lr, k = configurations(phase, key, n)[cell["choice"][key]]
        times = reach[key]["time"]
        row = dict(
            **where,
            method=key,
            lr=lr,
            k=k,
            target=cell["target"],
            tuning_median_time=cell["score"][key][0],
            median_time=float(claims.median(times)),
            median_rounds=float(claims.median(reach[key]["rounds"])),
            reached=float(np.isfinite(times).mean()),
            censored=int(reach[key]["censored"].sum()),
            best_baseline=best,
        )
        if key == "abs":
            row.update(ratio=e.ratio, low=e.lower, high=e.upper, seeds=e.seeds)
            row["outcome"] = OUTCOME[e.verdict]
        rows.append(row)
    return rows


def run(phase: PhaseMap, seed: int, bootstrap: int, progress) -> pd.DataFrame:
    """One row per (N, tail, spread, method): its chosen configuration and
    medians; the ABS rows carry the cell's effect against its best baseline,
    its CI and outcome."""
    configs = len(phase.lr_grid) * len(phase.k_fractions)
    cells = [(t, s) for t in phase.tails for s in phase.spreads]
    blocks = phase.eval_seeds // phase.tune_seeds
    bar = progress(
        "phase map (tail x heterogeneity x N)", len(cells) * 3 * (configs + blocks)
    )
    quadratic = _objective(phase.objective)
    loss0 = tuning.initial_values(quadratic, quadratic.data)["loss"]
    keys = [k for pair in PAIRS for k in pair]
    rows = []
    for tail, spread in cells:
        bar.set_postfix_str(f"{tail}, spread {spread:g}")
        ens = _ensemble(phase, family(tail), seed)
        delay = cell_delay(tail, spread)
        tuned = _tune(ens, phase, delay, seed, bar)
        choices = {
            n: _choose(phase, {k: tuned[(k, n)] for k in keys}, loss0)
            for n in phase.workers
        }
        evals: dict = {}
        for pair in PAIRS:
            chosen = {
                (k, n): choices[n]["choice"][k] for k in pair for n in phase.workers
            }
            evals.update(
                _run_pair(
                    ens, phase, pair, None, delay, seed, 0, phase.eval_seeds, chosen
                )
            )
            bar.update(blocks)
        for n in phase.workers:
            where = dict(N=n, tail=tail, spread=spread)
            mine = {k: evals[(k, n)] for k in keys}
            rows += _cell_rows(phase, where, choices[n], mine, bootstrap, seed)
    bar.close()
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The ABS rows: one per cell, with its effect and outcome."""
    return table[table["method"] == "abs"].reset_index(drop=True)
