"""Shared by the sweep tests (``tests/test_sweep*.py``): one small sweep, a
memoised ``config.build_simulator`` and file helpers.

Compiling a Simulator takes seconds, so the tests build each configuration's
Simulator once per test session (:func:`compiled_once`, whose cache outlives
one module): every in-process sweep reuses the same compiled programs. The
subprocess tests compile in their own processes.
"""

import contextlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from absjax import config

CONFIG = {
    "workers": 4,
    "policy": "k_async",
    "k": 2,
    "rounds": 20,
    "log_every": 10,
    "objective": "quadratic:dim=4",
    "seed": 3,
    "seeds": 6,
    "chunk_seeds": 4,
    "grid": {"tau": ["none", 1], "lr": [0.05, 0.1]},
}
POINTS = [(None, 0.05), (None, 0.1), (1, 0.05), (1, 0.1)]  # (tau, lr), in order
LOGS = 2  # rounds / log_every
UNITS = 8  # 4 points x 2 chunks (4 seeds, then 2)
BASE = """\
workers = 4
policy = "k_async"
rounds = 20
log_every = 10
objective = "quadratic:dim=4"
seed = 3
seeds = 6
chunk_seeds = 4
"""
TOML = BASE + "k = 2\n[grid]\ntau = ['none', 1]\nlr = [0.05, 0.1]\n"
FORMATS = ("csv", "parquet")
_BUILT: dict[str, object] = {}  # the static keys of a configuration -> Simulator


@contextlib.contextmanager
def compiled_once():
    """Memoises ``config.build_simulator`` on the keys that shape the program."""
    build = config.build_simulator

    def cached(configuration):
        key = json.dumps(
            {
                k: v
                for k, v in configuration.items()
                if k not in ("seeds", "seed", "out")
            },
            sort_keys=True,
        )
        if key not in _BUILT:
            _BUILT[key] = build(configuration)
        return _BUILT[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config, "build_simulator", cached)
        yield


def configured(file_format: str, **changes) -> dict:
    """CONFIG stored as ``file_format``, with ``changes``."""
    return {**CONFIG, "format": file_format, **changes}


def results_of(directory: Path) -> Path:
    """The result file of a sweep directory (either format)."""
    (found,) = [p for p in directory.glob("results.*") if p.suffix != ".tmp"]
    return found


def file_format(directory: Path) -> str:
    return json.loads((directory / "manifest.json").read_text())["file_format"]


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def text(csv) -> pd.DataFrame:
    """The cells as written: equal text is equal float64 (shortest repr)."""
    return pd.read_csv(csv, dtype=str, keep_default_na=False)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def copy(clean: Path, tmp_path: Path) -> Path:
    out = tmp_path / "sweep"
    shutil.copytree(clean, out)
    return out
