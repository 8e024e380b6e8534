"""Theory vs simulation: round time vs K and the staleness law (figure 6).

Checks the simulator against closed forms (Dutta et al., arXiv 1803.01113):
the mean round time of K-sync, K-async and K-batch-async against
``absjax.theory.expected_round_time`` for K = 1..N (exact, except K-async
under a non-exponential law, where it is an upper bound), and the staleness
law of K-async with exponential delays against ``theory.staleness_pmf`` with
and without a bound tau. Both on ``objectives.timing_only()`` or a 1-d
quadratic (no model to speak of).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

import absjax
from absjax import compare, objectives, policies, theory
from paper_figures.profiles import Profile

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
