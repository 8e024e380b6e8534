"""Markdown pieces of ``report.md``: tables, verdict summaries, provenance."""

from __future__ import annotations

import dataclasses
import json
import os
import platform

import jax
import numpy as np
import pandas as pd

import absjax
from paper_figures import claims, methods, phasemap

CLAIMS = {
    "time": "reaches the target loss in less wall-clock time than",
    "rounds": "reaches the target loss in fewer communication rounds than",
    "messages": "reaches the target loss with fewer messages (uploads + "
    "downloads) than",
}
VERDICTS = (claims.SUPPORTED, claims.NOT_SUPPORTED, claims.INCONCLUSIVE)
SYMBOLS = {claims.SUPPORTED: "▲", claims.NOT_SUPPORTED: "▼"}
SYMBOLS[claims.INCONCLUSIVE] = "○"


def number(value, digits: int = 3) -> str:
    """A number for a table: ``inf`` as "∞", nan as "-"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, float | np.floating) and np.isinf(value):
        return "∞"
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}g}"
    return str(value)


def table(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join(number(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def ci(low, high) -> str:
    return f"[{number(low)}, {number(high)}]"


def claims_markdown(rows: pd.DataFrame) -> str:
    """The verdict table of one setting (rows of ``ablation.effects``)."""
    shown = pd.DataFrame(
        {
            "claim": [
                f"ABS {CLAIMS[m]} {methods.LABELS[b]}"
                for m, b in zip(rows["metric"], rows["baseline"], strict=True)
            ],
            "ABS median": rows["abs_median"],
            "baseline median": rows["baseline_median"],
            "effect (baseline / ABS)": rows["ratio"],
            "95% CI": [
                ci(lo, hi) for lo, hi in zip(rows["low"], rows["high"], strict=True)
            ],
            "seeds": rows["seeds"],
            "reached (ABS / baseline)": [
                f"{a:.0%} / {b:.0%}"
                for a, b in zip(
                    rows["abs_reached"], rows["baseline_reached"], strict=True
                )
            ],
            "verdict": [f"**{v}**" for v in rows["verdict"]],
        }
    )
    return table(shown)


def tuning_markdown(tuning: pd.DataFrame) -> str:
    chosen = tuning[tuning["chosen"]]
    counts = tuning.groupby("method").size()
    shown = pd.DataFrame(
        {
            "method": [methods.LABELS[k] for k in chosen["method"]],
            "configurations tried": [int(counts[k]) for k in chosen["method"]],
            "chosen U": [int(u) for u in chosen["u"]],
            "knob": [k or "-" for k in chosen["knob"]],
            "chosen knob": [
                "-" if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)
                for v in chosen["knob_value"]
            ],
            "chosen lr": chosen["lr"],
            "tuning: median time-to-target": chosen["median_time"],
            "tuning: reached": [f"{r:.0%}" for r in chosen["reached"]],
        }
    )
    return table(shown)


def targets_markdown(summary: pd.DataFrame) -> str:
    def cis(name):
        return [
            f"{number(m)} {ci(lo, hi)}"
            for m, lo, hi in zip(
                summary[name],
                summary[f"{name}_low"],
                summary[f"{name}_high"],
                strict=True,
            )
        ]

    shown = pd.DataFrame(
        {
            "method": [methods.LABELS[k] for k in summary["method"]],
            "time-to-target [95% CI]": cis("time"),
            "rounds-to-target [95% CI]": cis("rounds"),
            "messages-to-target [95% CI]": cis("messages"),
            "reached": [f"{r:.0%}" for r in summary["reached"]],
            "diverged": summary["diverged"],
            "censored": summary["censored"],
            "mean round time": summary["round_time"],
            "row interval at the target": summary["resolution"],
            "final test accuracy": summary["accuracy"],
        }
    )
    return table(shown)


def verdict_list(rows: pd.DataFrame, metric: str) -> str:
    """``supported against A, B; not supported against C; ...`` for one metric."""
    part = rows[rows["metric"] == metric]
    pieces = []
    for v in VERDICTS:
        names = [methods.LABELS[b] for b in part[part["verdict"] == v]["baseline"]]
        if names:
            pieces.append(f"{v} against {', '.join(names)}")
    return "; ".join(pieces) or "no baselines"


def ablation_markdown(frame: pd.DataFrame, setting: str) -> str:
    """Rows: the default and each reading; columns: baselines; a cell holds
    the three verdicts (time, rounds, messages) as symbols, with † where one
    differs from the default's."""
    part = frame[frame["setting"] == setting]
    baselines = methods.baselines(setting)
    out = []
    for _, group in part.groupby("row", sort=False):
        cells = {"row": group["reading"].iloc[0]}
        for b in baselines:
            sub = group[group["baseline"] == b].set_index("metric")
            symbols = " ".join(SYMBOLS[sub.loc[m, "verdict"]] for m in claims_metrics())
            changed = not sub["survives"].all()
            cells[methods.LABELS[b]] = symbols + (" †" if changed else "")
        cells["target"] = f"{group['target'].iloc[0]:.3g}"
        cells["verdicts as default"] = f"{int(group['survives'].sum())}/{len(group)}"
        out.append(cells)
    return table(pd.DataFrame(out))


def claims_metrics() -> tuple[str, ...]:
    return tuple(CLAIMS)


def phase_counts(cells: pd.DataFrame) -> str:
    counts = cells["outcome"].value_counts()
    return ", ".join(
        f"{int(counts.get(o, 0))} {o}"
        for o in (phasemap.SUPPORTS, phasemap.CONTRADICTS, phasemap.INCONCLUSIVE)
    )


def phase_where(cells: pd.DataFrame) -> list[str]:
    """One line per outcome: which cells (N, tail, spread) and against which
    best baseline."""
    lines = []
    for outcome in (phasemap.SUPPORTS, phasemap.CONTRADICTS):
        part = cells[cells["outcome"] == outcome]
        if part.empty:
            lines.append(f"No cell {outcome} the claim.")
            continue
        by_n = []
        for n, group in part.groupby("N"):
            items = ", ".join(
                f"{r.tail}/s={r.spread:g} ({number(r.ratio, 2)}x vs "
                f"{methods.LABELS[r.best_baseline]})"
                for r in group.itertuples(index=False)
            )
            by_n.append(f"N = {n}: {items}")
        lines.append(f"Cells that {outcome[:-1]} the claim: " + "; ".join(by_n) + ".")
    best = cells["best_baseline"].value_counts()
    lines.append(
        "Best baseline per cell: "
        + ", ".join(f"{methods.LABELS[k]} {int(v)}" for k, v in best.items())
        + "."
    )
    return lines


def phase_table(cells: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "N": cells["N"],
            "tail": cells["tail"],
            "spread": cells["spread"],
            "best baseline": [methods.LABELS[k] for k in cells["best_baseline"]],
            "effect (best / ABS)": cells["ratio"],
            "95% CI": [
                ci(lo, hi) for lo, hi in zip(cells["low"], cells["high"], strict=True)
            ],
            "ABS median time": cells["median_time"],
            "ABS reached": [f"{r:.0%}" for r in cells["reached"]],
            "outcome": cells["outcome"],
        }
    )
    return table(shown)


# ---------------------------------------------------------------- provenance
def machine() -> dict:
    """Versions and hardware, for the report and config.json."""
    return {
        "absjax": absjax.__version__,
        "jax": jax.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "devices": [f"{d.platform}:{d.device_kind}" for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def machine_lines() -> list[str]:
    m = machine()
    return [
        f"Packages: absjax {m['absjax']}, jax {m['jax']}, Python {m['python']}.",
        f"Machine: {m['processor']}, {m['cpu_count']} CPU cores, {m['platform']}; "
        f"JAX devices: {len(m['devices'])} x {m['devices'][0]}; XLA_FLAGS "
        f"`{m['xla_flags']}`.",
    ]


def _cpu_model() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), else the platform's."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def config_json(profile, seed: int, cifar10, fallback: bool) -> str:
    """The profile, the seed and the machine as JSON."""
    return json.dumps(
        {
            "profile": dataclasses.asdict(profile),
            "seed": seed,
            "cifar10": cifar10,
            "cifar10_fallback_to_digits": fallback,
            "machine": machine(),
        },
        indent=2,
        default=str,
    )


def load_average() -> str:
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "unknown"
