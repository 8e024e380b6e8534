"""The text of ``report.md``: what was compared, the verdicts, where ABS wins
and loses, the readings ablation, the phase map, and every choice made."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd

from paper_figures import methods, outputs, report, tuning
from paper_figures.profiles import MAIN_DELAY, TAILS

r = report


@dataclasses.dataclass
class Inputs:
    profile: object
    seed: int
    cifar10: str | None
    command: str
    work: object
    main: dict
    claims: dict
    summaries: dict
    tunings: dict
    ablation: pd.DataFrame
    phase: pd.DataFrame
    rounds: pd.DataFrame
    pmf: pd.DataFrame
    resolution: pd.DataFrame  # time verdicts at two grid steps
    files: list
    start: float
    timings: dict


READING = (
    "Effect = median over evaluation seeds of the baseline's time (rounds, "
    "messages) to the target divided by ABS's: above 1, ABS is better. 95% CI: "
    "paired percentile bootstrap over seeds ({boot} replicates, seeded). Verdict: "
    "**supported** if the whole CI is above 1, **not supported** if it is wholly "
    "below 1, **inconclusive** otherwise. A seed that does not reach the target "
    "within the budget or diverges counts as never reaching it (`∞`); a median is "
    "`∞` when at least half of the seeds never reached the target, and `∞ / ∞` "
    "counts as a tie (1). Negative results are reported as measured."
)


def _summary(x: Inputs) -> list[str]:
    lines = ["## Where ABS wins and where it loses", ""]
    for setting, rows in x.claims.items():
        title = methods.SETTING_TITLES[setting]
        lines.append(f"**{title}**, i.i.d. digits:")
        lines.append("")
        for metric, wording in (
            ("time", "wall-clock time"),
            ("rounds", "communication rounds"),
            ("messages", "messages (uploads + downloads)"),
        ):
            lines.append(f"- {wording}: {r.verdict_list(rows, metric)}.")
        lines.append("")
    ab = x.ablation
    if not ab.empty:
        others = ab[ab["row"] != "default"]
        changed = others[~others["survives"]]
        lines.append(
            f"**Readings ablation**: {int(others['survives'].sum())} of "
            f"{len(others)} rechecked verdicts (over {others['row'].nunique()} "
            "readings and splits) are the default's."
        )
        if not changed.empty:
            lines.append(" Changed:")
            lines.append("")
            for row in changed.itertuples(index=False):
                lines.append(
                    f"- {row.setting} setting, {row.reading}: ABS vs "
                    f"{methods.LABELS[row.baseline]} ({row.metric}) "
                    f"{row.default_verdict} → **{row.verdict}** (effect "
                    f"{r.number(row.ratio)} [{r.number(row.low)}, "
                    f"{r.number(row.high)}])."
                )
        lines.append("")
    lines.append(
        f"**Phase map** (time-to-target, ABS vs the best baseline of each "
        f"cell): {r.phase_counts(x.phase)} of {len(x.phase)} cells."
    )
    lines.append("")
    lines += [f"- {line}" for line in r.phase_where(x.phase)]
    lines.append("")
    return lines


def _edges(tunings: pd.DataFrame, grids) -> str:
    """Methods whose chosen learning rate is at an edge of its grid."""
    out = []
    for row in tunings[tunings["chosen"]].itertuples(index=False):
        grid = grids.fine_lr_grid() if row.knob == "" else grids.lr_grid
        if len(grid) > 1 and row.lr in (min(grid), max(grid)):
            side = "lowest" if row.lr == min(grid) else "highest"
            out.append(f"{methods.LABELS[row.method]} ({side}, {row.lr:g})")
    return ", ".join(out) if out else "none"


def _setting(x: Inputs, setting: str, number: int) -> list[str]:
    p, c = x.profile, x.main[setting]
    grids = getattr(p, setting)
    tun = x.tunings[setting]
    counts = tun.groupby("method").size()
    count_text = ", ".join(f"{methods.LABELS[k]} {int(v)}" for k, v in counts.items())
    stems = outputs.figure_stems()
    lines = [
        f"## {number}. {methods.SETTING_TITLES[setting]}",
        "",
        "### Verdicts",
        "",
        r.claims_markdown(x.claims[setting]),
        "",
        READING.format(boot=p.bootstrap),
        "",
        "### Workload",
        "",
        f"- Model and data: {x.work.description}; i.i.d. sampling (every job "
        "draws its minibatch with replacement from all training rows). Training "
        "loss: mean cross-entropy on the first "
        f"{p.network.get('eval_samples', 'all')} training rows; test accuracy "
        "on the held-out rows.",
        f"- N = {p.workers} workers; every local step's compute time is drawn "
        f"from the delay model `{p.delay}` (mean {p.time_scale:g}); a job of U "
        "steps lasts the sum of its U draws.",
        f"- Budget: wall clock {p.horizon:g} ({p.horizon / p.time_scale:g} mean "
        "steps); each program simulates "
        f"{methods.MARGIN} x budget / (a lower bound of its fastest "
        "configuration's mean round time) rounds; `censored` counts seeds whose "
        "run ended before the budget without reaching the target (they count "
        "as never reaching it).",
        f"- Target loss {c.target:.4g}: `L0 - {p.target_progress} (L0 - "
        f"L_common)`, L0 = {c.loss0:.4g}, L_common = {c.common:.4g} (the lowest "
        "loss that every method reaches within the budget with its best "
        "configuration on at least half of the tuning seeds).",
        f"- Seeds: {p.eval_seeds} evaluation seeds per method (global indices "
        f"0-{p.eval_seeds - 1}, the same for every method), {p.tune_seeds} "
        f"tuning seeds per configuration (indices from {tuning.TUNE_OFFSET}).",
        "",
        "### Fair tuning",
        "",
        f"Configurations per method: {count_text}. Grids: learning rate "
        f"{grids.lr_grid}, U {grids.u_grid}, K^0 of ABS, AdaSync and SA-AdaSync "
        f"{grids.k0_grid}, K of "
        + ("K-sync" if setting == "gradient" else "local SGD (K = N: plain)")
        + f" {grids.k_grid}"
        + (
            f"; sync and async have no knob and get {len(grids.fine_lr_grid())} "
            f"learning rates over the same range, {grids.fine_lr_grid()}"
            if setting == "gradient"
            else ""
        )
        + f". AdaSync period t0 = {p.t0:g} for ABS, AdaSync and SA-AdaSync; "
        f"kappa = {p.kappa:g}. **Rule**: least median time-to-target on the "
        "tuning seeds (never reached or diverged = ∞), ties to the lower median "
        "loss at the end of the budget, then to grid order. Chosen learning rates "
        f"at an edge of their grid: {_edges(tun, grids)}.",
        "",
        r.tuning_markdown(tun),
        "",
        "### Per method (evaluation seeds)",
        "",
        r.targets_markdown(x.summaries[setting]),
        "",
        *_coverage(x.summaries[setting]),
    ]
    for stem, title in stems.items():
        if stem.startswith(setting):
            lines += [f"![{title}]({stem}.png)", ""]
    return lines


def _coverage(summary: pd.DataFrame) -> list[str]:
    """A warning when some seeds' simulated rounds ended before the budget
    (they count as never reaching the target after their end)."""
    short = summary[summary["coverage"] < 1.0]
    if short.empty:
        return [
            "Every evaluation seed of every method simulated the whole budget.",
            "",
        ]
    items = ", ".join(
        f"{methods.LABELS[row.method]} {1 - row.coverage:.0%}"
        for row in short.itertuples(index=False)
    )
    return [
        f"**Warning**: some seeds' simulated rounds ended before the budget "
        f"({items} of the seeds); a seed that had not reached the target by "
        "then counts as never reaching it (column `censored`).",
        "",
    ]


def _ablation(x: Inputs, number: int) -> list[str]:
    p = x.profile
    lines = [
        f"## {number}. Readings ablation",
        "",
        "Each row changes one reading (or the data split) and rechecks every "
        "verdict of its setting. A reading is a method of its own, tuned on the "
        "same configurations, rule and seeds as the default and compared with "
        "the already-tuned baselines on the setting's target; a split row "
        "re-tunes every method on that split (its own target). Cells: the "
        "verdicts on time, rounds and messages (▲ supported, ▼ not supported, "
        "○ inconclusive); † marks a cell where one differs from the default. "
        "The distance step's C is the comparison's target loss (a rule fixed "
        "before any result: Dutta et al. set C of the order of the error "
        f"floor). Dirichlet alpha = {p.dirichlet_alpha:g}. Table: "
        "`ablation.csv`; tuning of every reading: `ablation_tuning.csv`.",
        "",
    ]
    for setting in p.ablation_settings:
        lines += [
            f"**{methods.SETTING_TITLES[setting]}**",
            "",
            r.ablation_markdown(x.ablation, setting),
            "",
        ]
        for split in p.splits:
            lines.append(
                f"- {split}: labels per worker {_labels(x.work, split)} (of 10)."
            )
        lines.append("")
    return lines


def _labels(work, split):
    from paper_figures.workloads import label_counts_text

    return label_counts_text(work, split)


def _phase(x: Inputs, number: int) -> list[str]:
    ph = x.profile.phase
    laws = ", ".join(f"{t} (`{TAILS[t]}`)" for t in ph.tails)
    lines = [
        f"## {number}. Phase map: where ABS wins",
        "",
        "![Phase map](fig5_phase_map.png)",
        "",
        f"On `{ph.objective}` (a noisy quadratic, cheap), for N in {ph.workers}, "
        f"the delay laws {laws} and speed spreads s in {ph.spreads} (worker i is "
        "exp(s Z_i) times slower, Z_i drawn once per seed, the law scaled so that "
        "every worker's expected rate is 1: the cluster's throughput is the same "
        "at every spread). In every cell ABS, AdaSync, SA-AdaSync, sync, K-sync "
        f"and async are tuned by the main rule on learning rates {ph.lr_grid} x "
        f"K^0 or K = round(f N), f in {ph.k_fractions} (sync and async: "
        f"{len(ph.fine_lr_grid())} learning rates), on {ph.tune_seeds} tuning "
        "seeds; the best baseline is the one with the least median tuning "
        "time-to-target, and the effect (best baseline / ABS) is measured on "
        f"{ph.eval_seeds} evaluation seeds with a paired bootstrap CI. Budget "
        f"{ph.horizon:g} time units, t0 = {ph.t0:g}; target: "
        f"{ph.target_fraction:g} x the initial loss in every cell (the same "
        "in all cells, so that they compare alike). The phase map keeps its own "
        "delay laws and N whatever `--delay` and `--workers` say. Outcomes: "
        f"{r.phase_counts(x.phase)}.",
        "",
    ]
    lines += [f"- {line}" for line in r.phase_where(x.phase)]
    lines += ["", r.phase_table(x.phase), ""]
    return lines


def _theory(x: Inputs, number: int) -> list[str]:
    p = x.profile
    rounds, pmf = x.rounds, x.pmf
    exact = rounds[rounds["exact"]]
    bounds = rounds[~rounds["exact"]]
    error = (pmf["simulation"] - pmf["theory"]).abs().max()
    return [
        f"## {number}. Theory vs simulation",
        "",
        "![Theory vs simulation](fig6_theory.png)",
        "",
        f"Round time vs K (N = {p.theory_workers}, K = 1..N, {p.theory_seeds} "
        f"seeds, {p.theory_rounds} rounds): "
        f"{int((exact['verdict'] == 'agrees').sum())} of {len(exact)} points with "
        "an exact closed form agree (|z| < 4); "
        f"{int((bounds['verdict'] == 'bound holds').sum())} of {len(bounds)} "
        "upper-bound points hold. Staleness law of K-async (exponential delays): "
        f"largest |simulated - theory| probability {error:.3g}, with and "
        "without tau = 2. Tables: `theory_round_time.csv`, `theory_staleness.csv`.",
        "",
    ]


def _resolution(x: Inputs, number: int) -> list[str]:
    """The appendix: every time verdict on the grid used and a 4x finer one."""
    frame = x.resolution
    steps = sorted(frame["resolution"].unique(), reverse=True)
    rows = []
    for (setting, baseline), part in frame.groupby(["setting", "baseline"], sort=False):
        row = {"setting": setting, "ABS against": methods.LABELS[baseline]}
        for step in steps:
            e = part[part["resolution"] == step].iloc[0]
            row[f"grid {step:g}"] = (
                f"{r.number(e.ratio)} {r.ci(e.low, e.high)} {e.verdict}"
            )
        rows.append(row)
    moved = sum(
        part["verdict"].nunique() > 1
        for _, part in frame.groupby(["setting", "baseline"])
    )
    return [
        f"## {number}. Appendix: time verdicts on a 4x finer grid",
        "",
        "Every run logs every round, so the model in force at any time is "
        "known; the time to the target is read on one wall-clock grid for every "
        f"method (step {steps[0]:g}). Here every time verdict of sections 1-2 "
        f"on that grid and on a 4x finer one (step {steps[-1]:g}): "
        + (
            "no verdict moves."
            if moved == 0
            else f"**{moved} verdict(s) move**: read them as depending on the "
            "measurement."
        )
        + " Rounds and messages are exact (at the first aggregation that "
        "reaches the target) and do not depend on the grid.",
        "",
        r.table(pd.DataFrame(rows)),
        "",
    ]


def _delay_origin(delay: str) -> str:
    if delay != MAIN_DELAY:
        return "given by `--delay`"
    return "the default: exponential per-step times, the ABS group's model"


def text(x: Inputs) -> str:
    p = x.profile
    lines = [
        "# ABS: reproduction of the paper's claims",
        "",
        "Tan, Zhu, Zhang, *ABS: Adaptive Bounded Staleness Converges Faster and "
        "Communicates Less* (arXiv 2301.08895). The paper's own numbers are not "
        "available, so this report tests its claims on workloads we define "
        "(docs: Concepts > The reproduction's workloads), in both of its "
        "settings: the gradient form of its first versions (U = 1; baselines "
        "AdaSync, SA-AdaSync, sync, K-sync, "
        "async) and the asynchronous local SGD of its latest version (U local "
        "steps; baselines local SGD, AdaSync and SA-AdaSync with local steps). "
        "Claims: *ABS reaches a target loss in less wall-clock time, in fewer "
        "communication rounds and with fewer messages than each baseline*.",
        "",
        f"Command: `{x.command}` (profile `{p.name}`, seed {x.seed}).",
        "",
        f"**Delay model** of both settings and their ablation: `{p.delay}` per "
        f"local step ({_delay_origin(p.delay)}; mean step time "
        f"{p.time_scale:g}), N = {p.workers} workers. The "
        "phase map (section 4) uses its own laws, listed there; the theory "
        "check (section 5) its own.",
        "",
    ]
    if x.work.fallback:
        lines += [
            "**Fallback: no CIFAR-10 files were given (`--cifar10 DIR`), so this "
            "`full` run uses the digits (with the full profile's CNN) instead of "
            "the paper's CIFAR-10 experiment.**",
            "",
        ]
    lines += _summary(x)
    lines += _setting(x, "gradient", 1)
    lines += _setting(x, "local", 2)
    lines += _ablation(x, 3)
    lines += _phase(x, 4)
    lines += _theory(x, 5)
    from paper_figures import choices

    lines += choices.lines(p, x.main, 6)
    lines += _resolution(x, 7)
    runtime = time.perf_counter() - x.start
    stages = ", ".join(
        f"{k} {wall:.0f} s (CPU {cpu:.0f} s)" for k, (wall, cpu) in x.timings.items()
    )
    lines += [
        "## Provenance",
        "",
        f"- Configuration: `config.json` (profile `{p.name}`, seed {x.seed}); "
        "re-running the same command gives the same numbers.",
        *[f"- {line}" for line in r.machine_lines()],
        f"- Files: {', '.join(f'`{f}`' for f in x.files)}.",
        "",
        f"Runtime: {runtime:.0f} s wall clock ({stages}; load average at the "
        f"end {r.load_average()}).",
        "",
    ]
    return "\n".join(lines)
