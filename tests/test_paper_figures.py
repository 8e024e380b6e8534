"""The paper-figure reproduction: the tiny profile end to end, a same-seed
re-run, and the verdict logic on known effects.

The tiny profile runs in a subprocess (two CPU devices, like the command) with
XLA's backend optimisation off: it is compile-bound, and that halves the
compile time.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from absjax import cli
from paper_figures import claims, methods, reproduce
from paper_figures.pipeline import FIGURES
from paper_figures.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[1]
TABLES = (
    "claims.csv",
    "tuning.csv",
    "methods.csv",
    "targets_per_seed.csv",
    "sensitivity.csv",
    "sensitivity_effects.csv",
    "theory_round_time.csv",
    "theory_staleness.csv",
    "config.json",
)


DRIVER = """
import sys
from paper_figures.reproduce import main
for out in sys.argv[1:]:
    assert main(["--profile", "tiny", "--out", out, "--quiet"]) == 0
"""


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Two runs of the tiny profile with the same seed, one after the other in
    one process: the second re-runs every simulation with the programs that the
    first compiled (simulators are cached per process)."""
    base = tmp_path_factory.mktemp("paper_figures")
    env = dict(os.environ, XLA_FLAGS="--xla_backend_optimization_level=0")
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(base / "first"), str(base / "second")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return base


def test_tiny_profile_writes_every_file_and_claim(tiny_runs):
    out = tiny_runs / "first"
    for stem in FIGURES:
        for suffix in (".png", ".pdf"):
            assert (out / stem).with_suffix(suffix).stat().st_size > 1000, stem
    for name in (*TABLES, "report.md"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.tmp"))
    report = (out / "report.md").read_text()
    frame = pd.read_csv(out / "claims.csv")
    assert len(frame) == 2 * len(methods.BASELINES)
    for baseline in methods.BASELINES:
        label = methods.BY_KEY[baseline].label
        for wording in ("less wall-clock time than", "fewer communication rounds than"):
            assert f"| ABS reaches the target loss in {wording} {label} |" in report
    for stem in FIGURES:
        assert f"]({stem}.png)" in report
    # The verdicts follow from the numbers in the table.
    for row in frame.itertuples():
        assert row.verdict == claims.verdict(row.low, row.high)
        assert f"**{row.verdict}**" in report
    assert "absjax 0.1.0" in report and "Machine:" in report


def test_rerun_with_the_same_seed_gives_the_same_numbers(tiny_runs):
    def numbers(name):
        out = tiny_runs / name
        text = (out / "report.md").read_text().replace(str(out), "OUT")
        return [line for line in text.splitlines() if not line.startswith("Runtime")]

    assert numbers("first") == numbers("second")
    for table in ("claims.csv", "tuning.csv", "targets_per_seed.csv"):
        first = (tiny_runs / "first" / table).read_text()
        assert first == (tiny_runs / "second" / table).read_text(), table


# ------------------------------------------------------------- verdict logic
def test_known_effects_give_known_verdicts():
    abs_times = np.full(20, 1.0)
    faster = claims.effect(abs_times, 2 * abs_times, replicates=500)
    assert (faster.ratio, faster.lower, faster.upper) == (2.0, 2.0, 2.0)
    assert faster.verdict == claims.SUPPORTED
    slower = claims.effect(abs_times, 0.5 * abs_times, replicates=500)
    assert slower.ratio == 0.5 and slower.verdict == claims.NOT_SUPPORTED
    tie = claims.effect(abs_times, abs_times, replicates=500)
    assert tie.ratio == 1.0 and tie.verdict == claims.INCONCLUSIVE


def test_never_reached_and_diverged_count_as_infinite_times():
    reached = np.linspace(1.0, 2.0, 10)
    never = np.full(10, np.inf)
    e = claims.effect(reached, never, replicates=300)
    assert e.ratio == math.inf and e.verdict == claims.SUPPORTED
    assert (e.abs_reached, e.baseline_reached) == (1.0, 0.0)
    e = claims.effect(never, reached, replicates=300)
    assert e.ratio == 0.0 and e.verdict == claims.NOT_SUPPORTED
    both = claims.effect(never, np.full(10, np.nan), replicates=300)  # nan: diverged
    assert both.ratio == 1.0 and both.verdict == claims.INCONCLUSIVE
    # Medians: inf only when at least half of the seeds never reached.
    assert claims.median([1.0, 2.0, np.inf]) == 2.0
    assert claims.median([1.0, np.inf, np.inf]) == np.inf


def test_noisy_effects_and_interval_bounds():
    rng = np.random.default_rng(1)
    abs_times = rng.exponential(1.0, 400) + 1.0
    same = rng.exponential(1.0, 400) + 1.0
    e = claims.effect(abs_times, same, replicates=1000, seed=3)
    assert e.lower < 1 < e.upper and e.verdict == claims.INCONCLUSIVE
    e2 = claims.effect(abs_times, same, replicates=1000, seed=3)
    assert e == e2  # seeded: deterministic
    clearly = claims.effect(abs_times, 3 * same, replicates=1000, seed=3)
    assert clearly.verdict == claims.SUPPORTED and clearly.lower > 2
    # The interval must lie strictly on one side of 1.
    assert claims.verdict(1.0, 1.5) == claims.INCONCLUSIVE
    assert claims.verdict(1.0001, 1.5) == claims.SUPPORTED
    assert claims.verdict(0.5, 1.0) == claims.INCONCLUSIVE
    assert claims.verdict(0.5, 0.9999) == claims.NOT_SUPPORTED
    assert claims.verdict(np.nan, 2.0) == claims.INCONCLUSIVE
    with pytest.raises(ValueError, match="same seeds"):
        claims.effect([1.0, 2.0], [1.0, 2.0, 3.0])


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "args, message",
    [
        (["--profile", "huge"], "profile='huge' must be one of"),
        (["--seed", "-1"], "seed=-1 must be in"),
        (["--cifar10", "/nonexistent"], "--cifar10 needs --profile full"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    code = cli.main(["figures", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert err.startswith("absjax figures: error:")


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert reproduce.main(["--out", str(target)]) == 2
    assert "is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_builds_fair_grids(name):
    """Each profile's simulators build (nothing compiles) and no method gets
    more configurations than ABS's knob grid x learning-rate grid."""
    from paper_figures import experiment, studies

    profile = PROFILES[name]
    pool = experiment.candidates(profile, experiment.main_objective(profile))
    sizes = {key: len(configs) for key, configs in pool.items()}
    assert set(sizes) == set(methods.BY_KEY)
    assert (
        max(sizes.values())
        == sizes["abs"]
        == len(profile.lr_grid) * len(profile.k_grid)
    )
    assert sizes["sync"] == sizes["async"] == len(profile.lr_grid)
    for configs in pool.values():
        for c in configs:
            assert c.sim.rounds % c.sim.log_every == 0
            assert c.sim.rounds // c.sim.log_every <= profile.logs
    assert studies.settings(profile)
    if name == "full":
        assert profile.eval_seeds >= 1000
