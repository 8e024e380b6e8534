"""The headroom over ABS: how far is it from the best fixed K and a learned rule?

On phase-map cells (noisy quadratic, the tails of ``profiles.TAILS``), each of
ABS, AdaSync and K-async with a fixed K is tuned on the tuning seeds over the
same grid (``PhaseMap.lr_grid`` x K^0 or K from ``PhaseMap.k_grid``), and a
learned rule (:mod:`absjax.learn`, a monotone K table, kappa and lr found by
SNES from the tuned ABS's own rule) is trained on the same tuning seeds in the
first cell. All are evaluated on held-out seeds by the time to reach
``target_fraction`` of the initial loss; the learned rule also on cells it was
not trained on (another delay law, another N). The table reports
``median(ABS) / median(other)`` with the paired bootstrap CI of
:func:`paper_figures.claims.effect` (above 1: the other is faster than ABS).

The learned rule gets a larger budget than the grids (population x
generations x seeds): the measured headroom is an upper estimate of what a
tuned adaptive rule of this form gains, not a fair race.

Opt-in (it is not part of the pipeline's default stages)::

    python -m paper_figures.headroom --profile quick --out results/headroom
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import absjax
from absjax import learn, policies
from paper_figures import claims, phasemap, tuning
from paper_figures.profiles import PROFILES, PhaseMap

# (tail, spread, N): the training cell first, then the held-out ones
CELLS = (("exponential", 0.0, 8), ("Pareto a=1.5", 1.0, 8), ("exponential", 0.0, 16))
ES = {"tiny": (4, 2, 4), "quick": (8, 6, 8), "full": (64, 30, 16)}  # pop, gens, seeds


def _rounds(n: int, horizon: float) -> int:
    return int(np.ceil(4 * n * horizon))  # K = 1: about N rounds per time unit


def _simulator(policy, n, tail, spread, phase, lr=0.1):
    return absjax.Simulator(
        n,
        policy,
        phasemap.cell_delay(tail, spread),
        phasemap.objective(phase.objective),
        lr=lr,
        rounds=_rounds(n, phase.horizon),
        log_every=1,  # every model: the time to the target on one grid
        k_max=n,
    )


def _times(result, phase, loss0):
    target = phase.target_fraction * loss0
    return tuning.to_target(result, target, phase.horizon, loss0, phase.resolution)[
        "time"
    ]


def _tuned(key, n, cell, phase, seed, loss0):
    """The method's configuration chosen on the tuning seeds, and its Result
    on the evaluation seeds."""
    tail, spread, _ = cell
    policy = {
        "abs": policies.abs_(1, phase.t0),
        "adasync": policies.adasync(1, phase.t0),
        "fixed_k": policies.k_async(1),
    }[key]
    sim = _simulator(policy, n, tail, spread, phase)
    grid = {"k": list(phase.k_grid(n)), "lr": list(phase.lr_grid)}
    tuned = sim.run(phase.tune_seeds, seed, grid=grid, seed_offset=tuning.TUNE_OFFSET)
    times = _times(tuned, phase, loss0)  # (K, lr, seeds)
    per = [
        (times[i, j], tuned.loss[i, j, :, -1])
        for i in range(len(grid["k"]))
        for j in range(len(grid["lr"]))
    ]
    choice = tuning.select(per)
    k, lr = grid["k"][choice // len(grid["lr"])], grid["lr"][choice % len(grid["lr"])]
    params = sim.params._replace(k=np.int32(k), lr=np.float32(lr))
    return (k, lr), sim.run(phase.eval_seeds, seed, params=params)


def run(phase: PhaseMap, es: tuple[int, int, int], seed: int, bootstrap: int):
    """The table (one row per cell and method) and the figure's runs."""
    loss0 = learn.initial_loss(_simulator(policies.k_async(1), 8, *CELLS[0][:2], phase))
    rows, curves, rule = [], {}, None
    for c, cell in enumerate(CELLS):
        tail, spread, n = cell
        evaluated = {}
        for key in ("abs", "adasync", "fixed_k"):
            config, evaluated[key] = _tuned(key, n, cell, phase, seed, loss0)
            if key == "abs":
                abs_config = config
            rows.append(dict(tail=tail, spread=spread, N=n, method=key, config=config))
        if rule is None:  # train in the first cell, from the tuned ABS's rule
            start = learn.adasync_start(n, abs_config[0], phase.t0, abs_config[1])
            sim = _simulator(start.policy(), n, tail, spread, phase, start.lr)
            population, generations, seeds = es
            t = time.perf_counter()
            evo = learn.evolve(
                sim,
                phase.horizon,
                start,
                population=population,
                generations=generations,
                seeds=seeds,
                seed=seed,
                seed_offset=tuning.TUNE_OFFSET,
            )
            rule, train_seconds = evo.rule, time.perf_counter() - t
        learned_sim = _simulator(rule.policy(n), n, tail, spread, phase, rule.lr)
        evaluated["learned"] = learned_sim.run(phase.eval_seeds, seed)
        rows.append(dict(tail=tail, spread=spread, N=n, method="learned", config="ES"))
        times = {k: _times(r, phase, loss0) for k, r in evaluated.items()}
        for row in rows[-4:]:
            key = row["method"]
            mid, low, high = claims.median_ci(times[key], bootstrap, seed)
            e = claims.effect(times[key], times["abs"], bootstrap, seed)
            row.update(
                held_out="trained here" if c == 0 else "held out",
                median_time=mid,
                low=low,
                high=high,
                reached=float(np.isfinite(times[key]).mean()),
                abs_over_this=e.ratio,
                ratio_low=e.lower,
                ratio_high=e.upper,
            )
        if c == 0:
            curves = evaluated
    table = pd.DataFrame(rows)
    table.attrs.update(rule=dataclasses.asdict(rule), train_seconds=train_seconds)
    return table, curves, rule


def k_figure(curves: dict, horizon: float, title: str):
    """K(t), the mean over seeds, of ABS, AdaSync and the learned rule."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    for key in ("abs", "adasync", "learned", "fixed_k"):
        result = curves[key]
        x, k = result.wall_clock.mean(0), result.k.mean(0)
        inside = x <= horizon
        ax.plot(x[inside], k[inside], label=key, ls="--" if key == "fixed_k" else "-")
    ax.set_xlabel("wall clock (mean job durations)")
    ax.set_ylabel("K (mean over seeds)")
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False)
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paper_figures.headroom")
    parser.add_argument("--profile", default="quick", choices=sorted(PROFILES))
    parser.add_argument("--out", default="results/headroom")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    table, curves, rule = run(profile.phase, ES[profile.name], args.seed, 1000)
    table.to_csv(out / "headroom.csv", index=False)
    rule.save(out / "learned_rule.json")
    tail, spread, n = CELLS[0]
    title = f"{tail}, spread {spread:g}, N = {n} (held-out seeds)"
    k_figure(curves, profile.phase.horizon, title).savefig(out / "headroom_k.png")
    meta = {"seconds": time.perf_counter() - start, **table.attrs}
    (out / "headroom.json").write_text(json.dumps(meta, indent=1, default=str))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.drop(columns=["config"]).round(3).to_string(index=False))
    print(f"{meta['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
