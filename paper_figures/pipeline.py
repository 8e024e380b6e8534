"""The stages of the reproduction, in order, and the files they write.

1. the gradient setting and 2. the local-update setting (each: tuning and
evaluation of every method on i.i.d. digits); 3. the readings ablation
(readings, then the non-i.i.d. splits, per setting); 4. the phase map; 5.
theory vs simulation; 6. figures and tables; 7. the report. Every file is
written atomically (``absjax.io.atomic_write``), ``report.md`` last.
"""

from __future__ import annotations

import dataclasses
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from absjax.io import atomic_write
from paper_figures import (
    ablation,
    claims,
    document,
    figures,
    heatmap,
    methods,
    phasemap,
    report,
    theory_check,
    tuning,
    workloads,
)
from paper_figures.outputs import SETTINGS, figure_stems
from paper_figures.profiles import Profile


def figure_title(profile: Profile, setting: str, work) -> str:
    """The title of a setting's figures: setting, data, N and delay model."""
    name = methods.SETTING_TITLES[setting].split(" (")[0]
    data = "CIFAR-10" if work.dataset == "cifar10" else "digits"
    return (
        f"{name}, i.i.d. {data}, N = {profile.workers}, per-step delay {profile.delay}"
    )


def stage_count(profile: Profile) -> int:
    """Progress bars: two settings, the ablation's, phase map, theory,
    figures, report."""
    readings = bool(profile.readings) or profile.strict_progress is not None
    ablation_bars = len(profile.ablation_settings) * readings + len(
        profile.split_settings
    ) * len(profile.splits)
    return 2 + ablation_bars + 4


class _Clock:
    """Wall-clock and CPU seconds (this process, all threads) per stage."""

    def __init__(self):
        self.timings: dict[str, tuple[float, float]] = {}
        self._mark = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), usage.ru_utime + usage.ru_stime

    def stage(self, name: str) -> None:
        now = self._now()
        wall, cpu = (a - b for a, b in zip(now, self._mark, strict=True))
        self.timings[name] = (wall, cpu)
        self._mark = now


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def method_summary(comparison, profile: Profile, seed: int) -> pd.DataFrame:
    """Per method on the evaluation seeds: medians with 95% CIs and health."""
    rows = []
    for key, evaluated in comparison.chosen.items():
        result, reach = evaluated.result, evaluated.targets
        config = evaluated.config
        row = {
            "method": key,
            "chosen": config.describe(),
            "lr": config.lr,
            "u": config.u,
            "knob_value": config.k,
            "simulated_rounds": int(result.round[..., -1].max()),
            "target": comparison.target,
        }
        for name in ("time", "rounds", "messages"):
            mid, low, high = claims.median_ci(reach[name], profile.bootstrap, seed)
            row.update({name: mid, f"{name}_low": low, f"{name}_high": high})
        row["reached"] = float(np.isfinite(reach["time"]).mean())
        row["diverged"] = int(result.diverged.sum())
        row["censored"] = int(reach["censored"].sum())
        row["round_time"] = round_time_within(result, profile.horizon)
        row["resolution"] = profile.resolution  # the time metric's grid step
        row["coverage"] = tuning.coverage(result, profile.horizon)
        last = _last_row_within(result, profile.horizon)
        accuracy = np.take_along_axis(result.test_accuracy, last, -1)[..., 0]
        row["accuracy"] = float(np.median(accuracy[~result.diverged]))
        rows.append(row)
    return pd.DataFrame(rows)


def _last_row_within(result, horizon: float) -> np.ndarray:
    """Per seed, the index of the last row logged within the budget."""
    inside = result.wall_clock <= horizon
    return np.maximum(inside.sum(axis=-1) - 1, 0)[..., None]


def round_time_within(result, horizon: float) -> float:
    """Mean over seeds of the mean round time within the budget: the wall
    clock of the last round that ended by ``horizon`` over that round's index
    (the rounds simulated after the budget are left out)."""
    last = _last_row_within(result, horizon)
    clock = np.take_along_axis(result.wall_clock, last, -1)[..., 0]
    rounds = np.take_along_axis(result.round, last, -1)[..., 0]
    return float(np.mean(clock / rounds))


def resolution_check(main: dict, profile: Profile, seed: int) -> pd.DataFrame:
    """Every time verdict of the main comparisons on the profile's wall-clock
    grid and on a 4x finer one (the rounds and messages are exact, so they do
    not depend on it)."""
    rows = []
    for setting, comparison in main.items():
        for factor in (1, 4):
            step = profile.resolution / factor
            chosen = {
                key: dataclasses.replace(
                    e,
                    targets=tuning.to_target(
                        e.result,
                        comparison.target,
                        profile.horizon,
                        comparison.loss0,
                        step,
                    ),
                )
                for key, e in comparison.chosen.items()
            }
            for row in ablation.effects(comparison, chosen, profile.bootstrap, seed):
                if row["metric"] == "time":
                    rows.append(dict(setting=setting, resolution=step, **row))
    return pd.DataFrame(rows)


def per_seed(comparison) -> pd.DataFrame:
    frames = []
    for key, evaluated in comparison.chosen.items():
        reach = evaluated.targets
        frames.append(
            pd.DataFrame(
                {
                    "method": key,
                    "seed": evaluated.result.seeds,
                    "time_to_target": reach["time"],
                    "rounds_to_target": reach["rounds"],
                    "messages_to_target": reach["messages"],
                    "censored": reach["censored"],
                    "diverged": evaluated.result.diverged,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run(
    profile: Profile,
    out: Path,
    seed: int,
    progress,
    cifar10: str | None,
    command: str,
    start: float,
) -> None:
    """All stages; each file is written atomically, ``report.md`` last."""
    clock = _Clock()
    work = workloads.workload(profile, cifar10)
    clock.stage("data")
    main = {}
    for setting in SETTINGS:
        main[setting] = tuning.compare(profile, setting, work, "iid", seed, progress)
        clock.stage(f"{setting} setting")
    ablation_table, ablation_tuning = ablation.run(profile, main, work, seed, progress)
    clock.stage("readings ablation")
    phase = phasemap.run(profile.phase, seed, profile.bootstrap, progress)
    clock.stage("phase map")
    rounds, pmf = theory_check.theory_study(profile, seed, progress)
    clock.stage("theory")

    claims_rows = {
        s: pd.DataFrame(ablation.effects(c, c.chosen, profile.bootstrap, seed))
        for s, c in main.items()
    }
    summaries = {s: method_summary(c, profile, seed) for s, c in main.items()}
    tunings = {s: pd.DataFrame(c.tuning) for s, c in main.items()}
    cells = phasemap.summary(phase)
    resolution = resolution_check(main, profile, seed)

    stems = figure_stems()
    bar = progress("figures and tables", len(stems) + 1)
    drawings = {}
    metrics = ["loss", "test_accuracy"]
    h = profile.horizon
    for s, c in main.items():
        t = figure_title(profile, s, work)
        drawings[f"{s}_fig1_loss_vs_time"] = lambda c=c, t=t: figures.curves(
            c, h, "wall_clock", metrics, t
        )
        drawings[f"{s}_fig2_loss_vs_rounds"] = lambda c=c, t=t: figures.curves(
            c, h, "round", metrics, t
        )
        drawings[f"{s}_fig3_k_tau"] = lambda c=c, t=t: figures.adaptation(c, h, t)
        drawings[f"{s}_fig4_targets"] = lambda s=s, t=t: figures.targets(
            summaries[s], h, t
        )
    ph = profile.phase
    phase_title = (
        "Phase map (gradient setting, noisy quadratic): time-to-target of the "
        "best tuned baseline / ABS, 95% bootstrap CI"
    )
    drawings["fig5_phase_map"] = lambda: heatmap.draw(
        cells, list(ph.tails), list(ph.spreads), list(ph.workers), phase_title
    )
    drawings["fig6_theory"] = lambda: figures.theory(rounds, pmf)
    written = []
    for stem in stems:
        bar.set_postfix_str(stem)
        written += figures.save(drawings[stem](), out / stem, atomic_write)
        bar.update()
    bar.set_postfix_str("tables")
    tables = {}
    for s in SETTINGS:
        tables[f"{s}_claims.csv"] = claims_rows[s]
        tables[f"{s}_methods.csv"] = summaries[s]
        tables[f"{s}_tuning.csv"] = tunings[s]
        tables[f"{s}_targets_per_seed.csv"] = per_seed(main[s])
    tables["ablation.csv"] = ablation_table
    tables["ablation_tuning.csv"] = pd.DataFrame(ablation_tuning)
    tables["phase_map.csv"] = phase
    tables["resolution_check.csv"] = resolution
    tables["theory_round_time.csv"] = rounds
    tables["theory_staleness.csv"] = pmf
    for name, frame in tables.items():
        _write_csv(out / name, frame)
    _write_text(
        out / "config.json", report.config_json(profile, seed, cifar10, work.fallback)
    )
    bar.update()
    bar.close()
    clock.stage("figures and tables")

    bar = progress("report", 1)
    text = document.text(
        document.Inputs(
            profile=profile,
            seed=seed,
            cifar10=cifar10,
            command=command,
            work=work,
            main=main,
            claims=claims_rows,
            summaries=summaries,
            tunings=tunings,
            ablation=ablation_table,
            phase=cells,
            rounds=rounds,
            pmf=pmf,
            resolution=resolution,
            files=written + list(tables) + ["config.json", "report.md"],
            start=start,
            timings=clock.timings,
        )
    )
    _write_text(out / "report.md", text)
    bar.update()
    bar.close()
