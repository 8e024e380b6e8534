"""The analysis commands run end to end on their tiny profiles."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow  # about 1 min on 2 cores; test_studies_tiny runs by default
def test_validation_report_tiny(tmp_path):
    _run("analysis/validation_report.py", "--profile", "tiny", "--out", str(tmp_path))
    report = (tmp_path / "report.md").read_text()
    assert "Exact formulas:" in report and "disagrees" not in report
    for name in (
        "round_time_vs_k.png",
        "staleness_pmf.png",
        "round_time.csv",
        "staleness.csv",
    ):
        assert (tmp_path / name).stat().st_size > 0
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.slow  # keeps the default suite near 15 min; --runslow
def test_studies_tiny(tmp_path):
    for study in ("k_tau", "best_k"):
        _run("analysis/studies.py", study, "--profile", "tiny", "--out", str(tmp_path))
        assert (tmp_path / f"{study}.md").exists()
    assert (tmp_path / "k_tau_heatmap.png").exists()
    assert (tmp_path / "best_k.png").exists()
