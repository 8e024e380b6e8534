"""Figures 5 and 6: sensitivity to N and to the delay tail; theory vs simulation.

**Sensitivity** runs a cheaper objective (``Profile.sens_objective``, linear
regression) so that many settings fit the budget: N in ``sens_workers`` under
the main delay law, and each law of ``profiles.DELAYS`` at the main N. Each
method keeps the knob chosen in the main comparison (K^0 and K scaled by
``N / N_main``, U unchanged) and gets its learning rate from
``sens_lr_grid`` by the main comparison's rule, in one gridded call per
setting and method: evaluation seeds are the first ``sens_eval_seeds``
indices, tuning seeds the next ``sens_tune_seeds``. The target loss of each
setting follows the main comparison's rule. The exponential law runs as a
shifted exponential with shift 0, i.e. in the same compiled program with other
numbers.

**Theory** checks the simulator against closed forms (Dutta et al., arXiv
1803.01113): the mean round time of K-sync, K-async and K-batch-async against
``absjax.theory.expected_round_time`` for K = 1..N (exact, except K-async
under a non-exponential law, where it is an upper bound), and the staleness
law of K-async with exponential delays against ``theory.staleness_pmf`` with
and without a bound tau. Both on ``objectives.timing_only()`` (no model).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

import absjax
from absjax import compare, delays, objectives, policies, theory
from paper_figures import claims, experiment, methods
from paper_figures.profiles import DELAYS, MAIN_DELAY, Profile


def _program_law(spec: str) -> str:
    """An exponential law as a shifted exponential with shift 0 (the same
    program as the main law's, other numbers)."""
    law = delays.as_delay(spec).compute
    if isinstance(law, delays.Exponential):
        return f"shifted_exp:shift=0,rate={law.rate}"
    return spec


_objective = functools.cache(objectives.as_objective)  # one per process and SPEC


def _family(spec: str) -> str:
    return type(delays.as_delay(spec).compute).__name__


def settings(profile: Profile) -> list[tuple[int, str]]:
    """``(N, law name)`` of every sensitivity setting."""
    out = [(n, MAIN_DELAY) for n in profile.sens_workers]
    if profile.workers not in profile.sens_workers:
        out.append((profile.workers, MAIN_DELAY))
    out += [(profile.workers, law) for law in profile.sens_delays if law != MAIN_DELAY]
    return out


def _take(result: absjax.Result, point: int, seeds: slice) -> absjax.Result:
    """One grid point (along the only grid axis) and a range of seeds."""
    return absjax.Result(
        metrics={k: v[point, seeds] for k, v in result.metrics.items()},
        diverged_round=result.diverged_round[point, seeds],
        seeds=result.seeds[seeds],
        grid={},
        num_workers=result.num_workers,
        policy=result.policy,
        seed=result.seed,
        metric_name=result.metric_name,
    )


def _scaled_knob(key: str, knob, n: int, n_main: int):
    if methods.BY_KEY[key].knob == "k":
        return int(min(n, max(1, round(knob * n / n_main))))
    return knob


def sensitivity(
    profile: Profile, chosen: dict, seed: int, progress: Callable
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per setting and method: the chosen lr and the time/rounds to target
    (median, 95% CI); per setting and baseline: the effect of ABS."""
    objective = _objective(profile.sens_objective)
    loss0 = experiment.initial_loss(objective)
    horizon = profile.sens_horizon
    t0 = profile.t0 * horizon / profile.horizon
    evals, tunes = profile.sens_eval_seeds, profile.sens_tune_seeds
    todo = settings(profile)
    law_specs = {law: _program_law(DELAYS[law]) for _, law in todo}
    sims: dict = {}  # one program per (N, law family, method): laws share it
    bar = progress("sensitivity (N, delay law)", len(todo) * len(profile.sens_methods))
    rows, effects = [], []
    for n, law in todo:
        spec = law_specs[law]
        family = _family(spec)
        results, knobs = {}, {}
        for key in profile.sens_methods:
            knob = _scaled_knob(key, chosen[key].knob, n, profile.workers)
            knobs[key] = knob
            bar.set_postfix_str(f"N={n}, {law}: {methods.BY_KEY[key].label}")
            cache = (n, family, key, knob if methods.BY_KEY[key].knob == "u" else 0)
            if cache not in sims:
                cover = tuple(  # the other laws of this program's family
                    other
                    for other in law_specs.values()
                    if other != spec and _family(other) == family
                )
                sims[cache] = methods.simulator(
                    key,
                    n,
                    spec,
                    objective,
                    horizon,
                    profile.logs,
                    (knob,) if methods.BY_KEY[key].knob == "k" else knob,
                    profile.sens_lr_grid[0],
                    t0,
                    profile.kappa,
                    cover=cover,
                )
            sim = sims[cache]
            params = sim.params._replace(delay=delays.as_delay(spec).params)
            if methods.BY_KEY[key].knob == "k":
                params = params._replace(k=knob)
            results[key] = sim.run(
                seeds=evals + tunes,
                seed=seed,
                params=params,
                grid={"lr": list(profile.sens_lr_grid)},
                chunk=(evals + tunes) // 2,
            )
            bar.update()
        tune = slice(evals, evals + tunes)
        lowest = {
            key: [
                experiment.lowest_loss(_take(r, g, tune), horizon)
                for g in range(len(profile.sens_lr_grid))
            ]
            for key, r in results.items()
        }
        target, _ = experiment.target_loss(lowest, loss0, profile.target_progress)
        times, rounds = {}, {}
        for key, r in results.items():
            scores = []
            for g in range(len(profile.sens_lr_grid)):
                part = _take(r, g, tune)
                t, _ = experiment.times_to_target(part, target, horizon)
                scores.append((t, experiment.loss_at_horizon(part, horizon)))
            g = experiment.select(scores)
            evaluation = _take(r, g, slice(0, evals))
            times[key], rounds[key] = experiment.times_to_target(
                evaluation, target, horizon
            )
            row = dict(N=n, delay=law, method=key, knob=knobs[key], target=target)
            row["lr"] = profile.sens_lr_grid[g]
            for name, values in (("time", times[key]), ("rounds", rounds[key])):
                mid, low, high = claims.median_ci(values, profile.bootstrap, seed=seed)
                row.update({name: mid, f"{name}_low": low, f"{name}_high": high})
            row["reached"] = float(np.isfinite(times[key]).mean())
            rows.append(row)
        if "abs" in results:
            for key in results:
                if key == "abs":
                    continue
                for metric, data in (("time", times), ("rounds", rounds)):
                    e = claims.effect(data["abs"], data[key], profile.bootstrap, seed)
                    effects.append(
                        dict(
                            N=n,
                            delay=law,
                            baseline=key,
                            metric=metric,
                            ratio=e.ratio,
                            low=e.lower,
                            high=e.upper,
                            verdict=e.verdict,
                        )
                    )
    bar.close()
    return pd.DataFrame(rows), pd.DataFrame(effects)


# -------------------------------------------------------------------- theory
FAMILIES = ("k_sync", "k_async", "k_batch_async")
THEORY_LAWS = {  # name -> (SPEC for theory, shift of the simulated program)
    "exponential (rate 2)": ("exp:rate=2", 0.0),
    "shifted exponential (0.5, 2)": ("shifted_exp:shift=0.5,rate=2", 0.5),
}
BURN_IN = 50  # rounds left out of the staleness statistics (start-up)


def _round_time(result: absjax.Result, skip_rows: int) -> np.ndarray:
    """Mean round length per seed after the first ``skip_rows`` logged rows."""
    wall, rounds = result.wall_clock, result.round
    if not skip_rows:
        return wall[..., -1] / rounds[..., -1]
    return (wall[..., -1] - wall[..., skip_rows - 1]) / (
        rounds[..., -1] - rounds[..., skip_rows - 1]
    )


@functools.cache  # one compiled program per process and size
def _families(n: int, rounds: int) -> absjax.Ensemble:
    """K-sync, K-async and K-batch-async, timing only, as one program."""
    return absjax.Ensemble(
        [
            absjax.Simulator(
                n,
                policies.make(family, 1),
                "shifted_exp:shift=0.5,rate=2",
                objectives.timing_only(),
                rounds=rounds,
                log_every=rounds // 5,
                k_max=n,
            )
            for family in FAMILIES
        ]
    )


@functools.cache
def _staleness_simulator(n: int, rounds: int, k_max: int) -> absjax.Simulator:
    return absjax.Simulator(
        n,
        policies.k_async(1),
        "exp:rate=1",
        # Not timing_only(): its empty model breaks run(history=True) (absjax
        # 0.1.0, ZeroDivisionError in lax.map); a 1-d quadratic costs nothing.
        objectives.quadratic(dim=1),
        rounds=rounds,
        log_every=1,
        k_max=k_max,
    )


def round_times(profile: Profile, seed: int) -> pd.DataFrame:
    """Round time vs K, theory and simulation, for the three families."""
    n = profile.theory_workers
    ks = list(range(1, n + 1))
    shifts = [shift for _, shift in THEORY_LAWS.values()]
    grid = {"k": ks, "delay.compute.shift": shifts}
    seeds = profile.theory_seeds
    results = _families(n, profile.theory_rounds).run(
        seeds=seeds, seed=seed, grids=[grid] * len(FAMILIES), chunk=max(1, seeds // 2)
    )
    frames = []
    for family, result in zip(FAMILIES, results, strict=True):
        specs = [spec for spec, _ in THEORY_LAWS.values()]
        expected = [
            [theory.expected_round_time(family, spec, n, k) for spec in specs]
            for k in ks
        ]
        skip = 1 if family == "k_batch_async" else 0  # renewal transient
        frame = compare.compare(expected, result, lambda r, s=skip: _round_time(r, s))
        law_of_shift = {shift: name for name, (_, shift) in THEORY_LAWS.items()}
        frame["delay"] = [law_of_shift[float(s)] for s in frame["delay.compute.shift"]]
        spec_of = {name: spec for name, (spec, _) in THEORY_LAWS.items()}
        frame["exact"] = [
            theory.round_time_is_exact(family, spec_of[d], k)
            for d, k in zip(frame["delay"], frame["k"], strict=True)
        ]
        bound = ~frame["exact"]
        frame.loc[bound, "verdict"] = np.where(
            frame.loc[bound, "z"] < 4, "bound holds", "bound violated"
        )
        frame.insert(0, "policy", family)
        frames.append(frame.drop(columns=["delay.compute.shift"]))
    return pd.concat(frames, ignore_index=True)


def staleness(profile: Profile, seed: int) -> pd.DataFrame:
    """Staleness law of K-async (exponential delays), with and without tau."""
    n = profile.theory_workers
    ks = sorted({1, max(1, n // 4), max(1, n // 2)})
    taus = [None, 2]
    rounds = max(3 * BURN_IN, profile.theory_rounds // 2)
    sim = _staleness_simulator(n, rounds, max(ks))
    seeds = profile.theory_seeds
    result = sim.run(
        seeds=seeds,
        seed=seed,
        grid={"k": ks, "tau": taus},
        history=True,
        chunk=max(1, seeds // 2),
    )
    staleness = np.asarray(result.history[0].arrival_staleness)
    frames = []
    for i, k in enumerate(ks):
        for j, tau in enumerate(taus):
            s = staleness[i, j][:, BURN_IN:].reshape(-1)
            s = s[s >= 0]
            top = int(min(s.max(), 3 * n))
            simulated = np.bincount(s, minlength=top + 1)[: top + 1] / s.size
            expected = theory.staleness_pmf(n, k, tau, max_staleness=top)
            frames.append(
                pd.DataFrame(
                    {
                        "K": k,
                        "tau": "none" if tau is None else tau,
                        "staleness": np.arange(top + 1),
                        "simulation": simulated,
                        "theory": expected,
                        "arrivals": s.size,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def theory_study(profile: Profile, seed: int, progress: Callable):
    """``(round time table, staleness pmf table)``."""
    bar = progress("theory vs simulation", 2)
    bar.set_postfix_str("round time vs K (3 families)")
    rounds = round_times(profile, seed)
    bar.update()
    bar.set_postfix_str("staleness law of K-async")
    pmf = staleness(profile, seed)
    bar.update()
    bar.close()
    return rounds, pmf
