"""The claims report ``report.md``: tables, verdicts, figures, provenance."""

from __future__ import annotations

import dataclasses
import json
import os
import platform

import jax
import numpy as np
import pandas as pd

import absjax
from paper_figures import methods
from paper_figures.profiles import DELAYS

CLAIMS = {
    "time": "reaches the target loss in less wall-clock time than",
    "rounds": "reaches the target loss in fewer communication rounds than",
}


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


def claims_markdown(claims: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "claim": [
                f"ABS {CLAIMS[m]} {methods.BY_KEY[b].label}"
                for m, b in zip(claims["metric"], claims["baseline"], strict=True)
            ],
            "ABS median": claims["abs_median"],
            "baseline median": claims["baseline_median"],
            "effect (baseline / ABS)": claims["ratio"],
            "95% CI": [
                f"[{number(lo)}, {number(hi)}]"
                for lo, hi in zip(claims["low"], claims["high"], strict=True)
            ],
            "seeds": claims["seeds"],
            "reached (ABS / baseline)": [
                f"{a:.0%} / {b:.0%}"
                for a, b in zip(
                    claims["abs_reached"], claims["baseline_reached"], strict=True
                )
            ],
            "verdict": [f"**{v}**" for v in claims["verdict"]],
        }
    )
    return table(shown)


def tuning_markdown(tuning: pd.DataFrame) -> str:
    chosen = tuning[tuning["chosen"]]
    shown = pd.DataFrame(
        {
            "method": [methods.BY_KEY[k].label for k in chosen["method"]],
            "configurations tried": [
                int((tuning["method"] == k).sum()) for k in chosen["method"]
            ],
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
    shown = pd.DataFrame(
        {
            "method": [methods.BY_KEY[k].label for k in summary["method"]],
            "time-to-target, median [95% CI]": [
                f"{number(m)} [{number(lo)}, {number(hi)}]"
                for m, lo, hi in zip(
                    summary["time"],
                    summary["time_low"],
                    summary["time_high"],
                    strict=True,
                )
            ],
            "rounds-to-target, median [95% CI]": [
                f"{number(m)} [{number(lo)}, {number(hi)}]"
                for m, lo, hi in zip(
                    summary["rounds"],
                    summary["rounds_low"],
                    summary["rounds_high"],
                    strict=True,
                )
            ],
            "reached": [f"{r:.0%}" for r in summary["reached"]],
            "diverged": summary["diverged"],
            "mean round time": summary["round_time"],
            "seeds covering the budget": [f"{c:.0%}" for c in summary["coverage"]],
        }
    )
    return table(shown)


def sensitivity_markdown(effects: pd.DataFrame) -> str:
    if effects.empty:
        return "(ABS is not among the sensitivity methods of this profile.)"
    shown = effects.copy()
    shown["baseline"] = [methods.BY_KEY[k].label for k in shown["baseline"]]
    shown["95% CI"] = [
        f"[{number(lo)}, {number(hi)}]"
        for lo, hi in zip(shown["low"], shown["high"], strict=True)
    ]
    shown = shown.rename(columns={"ratio": "effect (baseline / ABS)"})
    return table(
        shown[
            ["N", "delay", "metric", "baseline", "effect (baseline / ABS)", "95% CI"]
            + ["verdict"]
        ]
    )


def verdict_counts(claims: pd.DataFrame, metric: str) -> str:
    part = claims[claims["metric"] == metric]
    counts = part["verdict"].value_counts()
    return ", ".join(
        f"{counts.get(v, 0)} {v}"
        for v in ("supported", "not supported", "inconclusive")
    )


def workload_text(profile, cifar10: str | None) -> str:
    if cifar10:
        return (
            f"a small CNN (`absjax.networks.CNN`, {profile.cnn}) on CIFAR-10 read "
            f"from `{cifar10}`"
        )
    net = profile.network
    text = (
        "an MLP (`absjax.networks.MLP`, hidden layers "
        f"{'x'.join(map(str, net['hidden']))}, relu) on a **synthetic** 4-class "
        f"data set ({net['samples']} training rows of dimension {net['dim']}, "
        f"{net['test_samples']} test rows; a sign-symmetric Gaussian mixture that "
        "a linear model cannot separate), minibatches of "
        f"{net['batch']} rows"
    )
    if profile.name == "full":
        text += (
            ". **This is the synthetic stand-in for the paper's CIFAR-10 "
            "experiment**: no CIFAR-10 files were given (`--cifar10 DIR`)"
        )
    return text


def delay_text(names) -> str:
    return ", ".join(f"{name} (`{DELAYS[name]}`)" for name in names)


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
    }


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


def config_json(profile, seed: int, cifar10) -> str:
    """The profile, the seed and the machine as JSON."""
    return json.dumps(
        {
            "profile": dataclasses.asdict(profile),
            "seed": seed,
            "cifar10": cifar10,
            "machine": machine(),
        },
        indent=2,
        default=str,
    )
