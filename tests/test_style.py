"""The code base is formatted and linted with ruff (88 columns)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["absjax", "tests", "benchmarks", "analysis", "paper_figures"]


def _ruff(*args):
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    paths = [t for t in TARGETS if (ROOT / t).exists()]
    return subprocess.run(
        [exe, *args, *paths], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_format():
    proc = _ruff("format", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check():
    proc = _ruff("check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
