"""The scaling benchmark's tables: one CSV row per axis and absjax point (with
the matching NumPy numbers), the Markdown table, and files written atomically.

Part of ``benchmarks/scaling.py`` (its docstring describes the whole run).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy_baseline  # sibling modules (benchmarks/ is sys.path[0])
import standard
from scaling_points import Point, axis_value, numpy_point

COLUMNS = [
    "axis",
    "value",
    "objective",
    "seeds",
    "num_workers",
    "k",
    "tau",
    "dim",
    "rounds",
    "compile_s",
    "steady_s",
    "first_s",
    "steady_calls_s",
    "seed_rounds_per_s",
    "us_per_seed_round",
    "us_per_seed_round_per_n",
    "numpy_seed_rounds_per_s",
    "numpy_us_per_seed_round",
    "numpy_seeds",
    "numpy_rounds",
    "speedup",
    "peak_rss_mib",
    "rss_before_mib",
    "result_mib",
    "cpu_use",
    "load",
    "estimate_s",
    "wall_s",
    "mean_round_time",
    "numpy_mean_round_time",
    "final_loss",
    "numpy_final_loss",
    "diverged",
    "status",
    "detail",
]


def csv_rows(
    axes: dict[str, list[Point]], measured: dict[Point, dict], args
) -> list[dict]:
    """One CSV row per (axis, absjax point), with the matching NumPy numbers."""
    rows = []
    for axis, points in axes.items():
        for p in points:
            if p not in measured:
                continue
            m = measured[p]
            ref = measured.get(numpy_point(p, args), {})
            rate, np_rate = m.get("rate"), ref.get("rate")
            us = 1e6 / rate if rate else None
            rows.append(
                {
                    "axis": axis,
                    "value": axis_value(axis, p),
                    "objective": p.objective,
                    "seeds": p.seeds,
                    "num_workers": p.num_workers,
                    "k": numpy_baseline.num_arrivals(p.num_workers),
                    "tau": numpy_baseline.TAU,
                    "dim": "" if p.dim is None else p.dim,
                    "rounds": m.get("rounds", ""),
                    "compile_s": m.get("compile_s", ""),
                    "steady_s": m.get("steady", ""),
                    "first_s": m.get("first_s", ""),
                    "steady_calls_s": ";".join(
                        f"{t:.4f}" for t in m.get("steady_s", [])
                    ),
                    "seed_rounds_per_s": rate or "",
                    "us_per_seed_round": us or "",
                    "us_per_seed_round_per_n": us / p.num_workers if us else "",
                    "numpy_seed_rounds_per_s": np_rate or "",
                    "numpy_us_per_seed_round": 1e6 / np_rate if np_rate else "",
                    "numpy_seeds": args.numpy_seeds if np_rate else "",
                    "numpy_rounds": ref.get("rounds", ""),
                    "speedup": rate / np_rate if rate and np_rate else "",
                    "peak_rss_mib": m.get("peak_rss_mib", ""),
                    "rss_before_mib": m.get("rss_before_mib", ""),
                    "result_mib": m.get("result_mib", ""),
                    "cpu_use": m.get("cpu_use", ""),
                    "load": m.get("load", ""),
                    "estimate_s": m.get("estimate_s") or "",
                    "wall_s": m.get("wall_s", ""),
                    "mean_round_time": m.get("mean_round_time", ""),
                    "numpy_mean_round_time": ref.get("mean_round_time", ""),
                    "final_loss": m.get("final_loss", ""),
                    "numpy_final_loss": ref.get("final_loss", ""),
                    "diverged": m.get("diverged", ""),
                    "status": m["status"],
                    "detail": m.get("detail", ""),
                }
            )
    return rows


def _num(value, fmt: str) -> str:
    if value == "" or value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return format(value, fmt)


def markdown(rows: list[dict]) -> str:
    """The CSV rows as a Markdown table (via ``standard.table``)."""
    header = ["axis", "value", "objective", "seeds", "N", "dim", "rounds"]
    header += ["compile s", "steady s", "seed-rounds/s", "NumPy seed-rounds/s"]
    header += ["speedup", "µs/seed-round", "µs/seed-round/N", "peak RSS MiB"]
    header += ["status"]
    table = [header]
    for r in rows:
        speedup = _num(r["speedup"], ".3g")
        table.append(
            [
                r["axis"],
                f"{r['value']:,}",
                r["objective"],
                f"{r['seeds']:,}",
                f"{r['num_workers']:,}",
                str(r["dim"] or "-"),
                str(r["rounds"] or "-"),
                _num(r["compile_s"], ".2f"),
                _num(r["steady_s"], ".3f"),
                _num(r["seed_rounds_per_s"], ",.0f"),
                _num(r["numpy_seed_rounds_per_s"], ",.0f"),
                speedup if speedup == "-" else speedup + "x",
                _num(r["us_per_seed_round"], ".3g"),
                _num(r["us_per_seed_round_per_n"], ".3g"),
                _num(r["peak_rss_mib"], ",.0f"),
                r["status"],
            ]
        )
    return standard.table(table, markdown=True)


def notes(measured: dict[Point, dict]) -> list[str]:
    """One line per point that was not measured, with the reason."""
    return [
        f"- {p.label()}: {m['status']}: {m.get('detail', '')}"
        for p, m in measured.items()
        if m["status"] != "ok"
    ]


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Calls ``write(tmp)`` on a temporary file next to ``path``, then renames it."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(path: Path, rows: list[dict]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        k: f"{v:.6g}" if isinstance(v, float) else v
                        for k, v in row.items()
                    }
                )

    atomic_write(path, write)


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def write_tables(out: Path, rows: list[dict], measured: dict[Point, dict]) -> str:
    """Writes ``results.csv`` and ``table.md``; returns the table's text."""
    text = markdown(rows) if rows else "(no points yet)"
    missing = notes(measured)
    if missing:
        text += "\n\nNot measured:\n" + "\n".join(missing)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "results.csv", rows)
    write_text(out / "table.md", text + "\n")
    return text
