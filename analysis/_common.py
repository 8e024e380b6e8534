"""Helpers shared by the analysis scripts: output paths, tables, figures."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import jax
import matplotlib
import numpy as np
import pandas as pd

import absjax
from absjax.io import atomic_write

matplotlib.use("Agg")


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as a GitHub Markdown table (numbers to ``digits`` figures)."""

    def cell(value):
        if isinstance(value, float | np.floating):
            return f"{value:.{digits}g}"
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = [
        "| " + " | ".join(cell(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])


def save_figure(fig, path: Path) -> None:
    """Writes a figure as PNG (150 dpi), atomically."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=150, format="png"))
    matplotlib.pyplot.close(fig)


def save_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def machine_line(start: float) -> str:
    """The package version, machine and runtime, for a report's footer."""
    devices = ", ".join(d.device_kind for d in jax.devices())
    return (
        f"absjax {absjax.__version__}, jax {jax.__version__}, "
        f"{platform.processor() or platform.machine()}, devices: {devices}; "
        f"ran in {time.perf_counter() - start:.0f} s"
    )
