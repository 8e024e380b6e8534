"""The readings ablation: does each verdict survive another reading?

Every part of ABS that the paper's text does not give us (and SA-AdaSync's
step) is an option (:mod:`paper_figures.readings`); so is the data split. Each
row of the ablation changes one of them and rechecks every verdict of its
setting:

- a **reading** row replaces one method by its reading (ABS with another K
  rule or a constant bound; SA-AdaSync with Dutta et al.'s step): the reading
  is a method of its own, tuned by the same rule on the same configurations
  and tuning seeds, its choice evaluated on the same evaluation seeds, and
  compared with the already-tuned methods on the setting's target;
- a **split** row (label shards, the ABS group's split; Dirichlet) re-runs the
  whole comparison on that split: every method re-tuned, a new target.

The distance step's C is fixed by a rule stated before any result: the
comparison's target loss ("C of the order of the desired error floor",
Dutta et al., arXiv 1803.01113, section 3.3).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from paper_figures import claims, methods, tuning
from paper_figures.readings import Point

METRICS = ("time", "rounds", "messages")


@dataclasses.dataclass(frozen=True)
class Reading:
    method: str  # the method it replaces
    point: Point
    text: str


READINGS = {
    "loss_ratio": Reading(
        "abs",
        Point("k_async", "loss_ratio", "staleness_bound"),
        "ABS K rule: linear loss ratio min(N, floor(K0 F0/Ft)) (STSyn code)",
    ),
    "exp_delay_root": Reading(
        "abs",
        Point("k_async", "exp_delay_root", "staleness_bound"),
        "ABS K rule: AdaSync's exponential-delay root K^2/(N-K) = K0^2/(N-K0) F0/Ft",
    ),
    "frozen": Reading(
        "abs",
        Point("k_async", "adasync", "frozen"),
        "ABS tau: a constant, ceil(kappa (N - K^0)/K^0) for the whole run",
    ),
    "distance": Reading(
        "sa_adasync",
        Point("k_async", "adasync", "none", "distance"),
        "SA-AdaSync step: Dutta et al.'s min(C/‖w - w_read‖², eta_max), "
        "C = the target loss",
    ),
}
SPLIT_TEXT = {
    "label-shards": "data: sorted-by-label shards (the ABS group's split)",
    "dirichlet": "data: Dirichlet split, alpha = {alpha:g}",
}
STRICT_TEXT = "target: {p:g} of the way to L_common instead of {default:g}"
DEFAULT_TEXT = (
    "default: AdaSync K rule, tau = ceil(kappa (N-K)/K), Zhang et al.'s step, "
    "i.i.d. data"
)


def effects(comparison: tuning.Comparison, chosen: dict, bootstrap: int, seed: int):
    """Rows ``(baseline, metric, effect ...)`` of ABS against each baseline,
    with the evaluated methods ``chosen`` (a comparison's, or with a reading
    in place of one)."""
    rows = []
    for baseline in methods.baselines(comparison.setting):
        for metric in METRICS:
            e = claims.effect(
                chosen["abs"].targets[metric],
                chosen[baseline].targets[metric],
                bootstrap,
                seed,
            )
            rows.append(
                dict(
                    baseline=baseline,
                    metric=metric,
                    abs_median=e.abs_median,
                    baseline_median=e.baseline_median,
                    ratio=e.ratio,
                    low=e.lower,
                    high=e.upper,
                    seeds=e.seeds,
                    abs_reached=e.abs_reached,
                    baseline_reached=e.baseline_reached,
                    verdict=e.verdict,
                )
            )
    return rows


def run(profile, main: dict, work, seed: int, progress) -> tuple[pd.DataFrame, list]:
    """The ablation table and the tuning rows of its readings and splits.

    ``main``: the default comparison of each setting (``{setting:
    Comparison}``). Returns ``(table, tuning_rows)``: one table row per
    (setting, ablation row, baseline, metric) with the verdict, the default's
    verdict and whether it survives.
    """
    table, tuning_rows = [], []
    eval_blocks = profile.eval_seeds // profile.tune_seeds
    for setting, default in main.items():
        configs = getattr(profile, setting).configurations
        base = {
            r["baseline"] + r["metric"]: r
            for r in effects(default, default.chosen, profile.bootstrap, seed)
        }
        rows = [("default", DEFAULT_TEXT, default.chosen, default.target)]
        readings, strict = [], None
        if setting in profile.ablation_settings:
            readings = [r for r in profile.readings if r in READINGS]
            strict = profile.strict_progress
        if readings or strict:
            blocks = len(readings) * (configs + eval_blocks)
            if strict:
                blocks += len(default.chosen) * eval_blocks
            bar = progress(f"readings ablation, {setting} setting", blocks)
            for name in readings:
                reading = READINGS[name]
                evaluated, rows_ = tuning.variant(
                    default, reading.method, reading.point, name, bar
                )
                tuning_rows += rows_
                chosen = dict(default.chosen)
                chosen[reading.method] = evaluated
                rows.append((name, reading.text, chosen, default.target))
            if strict:
                name = f"target {strict:g}"
                target, chosen, rows_ = tuning.retarget(default, strict, name, bar)
                tuning_rows += rows_
                text = STRICT_TEXT.format(p=strict, default=profile.target_progress)
                rows.append((name, text, chosen, target))
            bar.close()
        if setting in profile.split_settings:
            for split in profile.splits:
                c = tuning.compare(profile, setting, work, split, seed, progress)
                tuning_rows += c.tuning
                text = SPLIT_TEXT[split].format(alpha=profile.dirichlet_alpha)
                rows.append((split, text, c.chosen, c.target))
        for name, text, chosen, target in rows:
            for row in effects(default, chosen, profile.bootstrap, seed):
                reference = base[row["baseline"] + row["metric"]]
                table.append(
                    dict(
                        setting=setting,
                        row=name,
                        reading=text,
                        target=target,
                        **row,
                        default_verdict=reference["verdict"],
                        survives=row["verdict"] == reference["verdict"],
                    )
                )
    return pd.DataFrame(table), tuning_rows
