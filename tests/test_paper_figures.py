"""The paper-figure reproduction: the tiny profile end to end (both settings,
the readings ablation and the phase map), a same-seed re-run, the readings'
programs against the named absjax policies, and the verdict logic on known
effects.

The tiny profile runs in a subprocess (two CPU devices, like the command) with
XLA's backend optimisation off: it is compile-bound, and that halves the
compile time. These end-to-end tests and the readings' programs run with
``--runslow``.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import absjax
from absjax import cli
from paper_figures import (
    ablation,
    claims,
    methods,
    outputs,
    phasemap,
    profiles,
    readings,
    reproduce,
    tuning,
    workloads,
)
from paper_figures.profiles import PROFILES, TAILS

ROOT = Path(__file__).resolve().parents[1]
TINY = PROFILES["tiny"]
# The tests of the tiny profile's files share one end-to-end run of about a
# minute: --runslow.
END_TO_END = pytest.mark.slow

TINY_ENV = dict(os.environ, XLA_FLAGS="--xla_backend_optimization_level=0")
REDERIVE = """
import sys
import absjax
from absjax import policies
from paper_figures import workloads
from paper_figures.profiles import PROFILES
key, lr, rounds, seed, path = sys.argv[1:]
tiny = PROFILES["tiny"]
policy = policies.sync() if key == "sync" else policies.asynchronous()
sim = absjax.Simulator(
    tiny.workers, policy, tiny.delay, workloads.workload(tiny).objective,
    lr=float(lr), rounds=int(rounds), log_every=1,
)
block = tiny.tune_seeds
parts = [
    sim.run(seeds=block, seed=int(seed), seed_offset=start, chunk=tiny.chunk)
    for start in range(0, tiny.eval_seeds, block)
]
absjax.Result.concat(parts).save(path)
"""
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
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(base / "first"), str(base / "second")],
        cwd=ROOT,
        env=TINY_ENV,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return base


@END_TO_END
def test_tiny_profile_writes_every_file(tiny_runs):
    out = tiny_runs / "first"
    for stem in outputs.figure_stems():
        for suffix in (".png", ".pdf"):
            assert (out / stem).with_suffix(suffix).stat().st_size > 1000, stem
    for name in (*outputs.table_names(), "report.md"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.tmp"))
    report = (out / "report.md").read_text()
    for stem in outputs.figure_stems():
        assert f"]({stem}.png)" in report
    assert "absjax 0.1.0" in report and "Machine:" in report
    assert "## Where ABS wins and where it loses" in report


@pytest.mark.parametrize("setting", outputs.SETTINGS)
@END_TO_END
def test_every_verdict_row_of_both_settings(tiny_runs, setting):
    out = tiny_runs / "first"
    report = (out / "report.md").read_text()
    frame = pd.read_csv(out / f"{setting}_claims.csv")
    baselines = methods.baselines(setting)
    assert len(frame) == len(ablation.METRICS) * len(baselines)
    assert set(frame["baseline"]) == set(baselines)
    for baseline in baselines:
        label = methods.LABELS[baseline]
        for wording in ("less wall-clock time than", "fewer communication rounds than"):
            assert f"| ABS reaches the target loss in {wording} {label} |" in report
        assert f"(uploads + downloads) than {label} |" in report
    for row in frame.itertuples():  # the verdicts follow from the numbers
        assert row.verdict == claims.verdict(row.low, row.high)
        assert f"**{row.verdict}**" in report
    # Fair tuning: the same number of configurations for every method.
    tuned = pd.read_csv(out / f"{setting}_tuning.csv")
    counts = tuned.groupby("method").size()
    assert set(counts) == {getattr(TINY, setting).configurations}
    assert (tuned.groupby("method")["chosen"].sum() == 1).all()
    summary = pd.read_csv(out / f"{setting}_methods.csv")
    assert set(summary["method"]) == {m.key for m in methods.SETTINGS[setting]}
    assert (summary["censored"] == 0).all()


@pytest.mark.parametrize("key", ["sync", "async"])
@END_TO_END
def test_report_times_are_rederived_through_the_public_api(tiny_runs, key):
    """The per-seed times and rounds of the report equal those of the chosen
    configuration rebuilt with ``absjax.Simulator`` and read from its
    ``Result``: the report cannot drift from the library."""
    out = tiny_runs / "first"
    chosen = pd.read_csv(out / "gradient_methods.csv").set_index("method").loc[key]
    rows = pd.read_csv(out / "gradient_targets_per_seed.csv")
    rows = rows[rows["method"] == key].sort_values("seed")
    seed = json.loads((out / "config.json").read_text())["seed"]
    # Rebuilt with the public API alone, in a process with the report's XLA
    # flags, in its blocks of seeds and chunks (XLA may round another
    # optimisation level or batch size differently in the last bits).
    saved = out.parent / f"rederived_{key}.nc"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            REDERIVE,
            key,
            str(chosen["lr"]),
            str(int(chosen["simulated_rounds"])),
        ]
        + [str(seed), str(saved)],
        cwd=ROOT,
        env=TINY_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = absjax.load(saved)
    assert rows["seed"].tolist() == result.seeds.tolist()
    target, horizon, step = float(chosen["target"]), TINY.horizon, TINY.resolution
    # Rounds: the first logged round at or below the target, within the budget.
    exact = result.time_to_target(target)
    rounds = np.where(exact <= horizon, result.rounds_to_target(target), np.inf)
    assert rows["rounds_to_target"].tolist() == rounds.tolist()
    # Time: the first grid time at which the model in force is below it.
    times = []
    for clock, loss in zip(result.wall_clock, result.loss, strict=True):
        found, j = math.inf, 0
        while j * step <= horizon:
            i = np.searchsorted(clock, j * step, side="right") - 1
            if i >= 0 and loss[i] <= target:
                found = j * step
                break
            j += 1
        times.append(found)
    assert rows["time_to_target"].tolist() == times
    assert np.isfinite(times).any()  # the check compares real crossings


@END_TO_END
def test_ablation_rows_recheck_every_verdict(tiny_runs):
    out = tiny_runs / "first"
    table = pd.read_csv(out / "ablation.csv")
    for setting in TINY.ablation_settings:
        part = table[table["setting"] == setting]
        strict = f"target {TINY.strict_progress:g}"
        rows = ["default", *TINY.readings, strict, *TINY.splits]
        assert list(dict.fromkeys(part["row"])) == rows
        per_row = len(ablation.METRICS) * len(methods.baselines(setting))
        assert (part.groupby("row").size() == per_row).all()
        default = part[part["row"] == "default"].reset_index(drop=True)
        main = pd.read_csv(out / f"{setting}_claims.csv")
        for column in ("baseline", "metric", "ratio", "low", "high", "verdict"):
            assert list(default[column]) == list(main[column]), column
        for row in part.itertuples():
            assert row.verdict == claims.verdict(row.low, row.high)
            assert row.survives == (row.verdict == row.default_verdict)
        # A reading replaces one method: the others' verdicts are unchanged.
        for name in TINY.readings:
            replaced = ablation.READINGS[name].method
            same = part[(part["row"] == name) & (part["baseline"] != replaced)]
            if replaced == "abs":
                continue
            assert same["survives"].all()
    tuned = pd.read_csv(out / "ablation_tuning.csv")
    for name in TINY.readings:
        assert len(tuned[tuned["reading"] == name]) == TINY.gradient.configurations
    report = (out / "report.md").read_text()
    assert "## 3. Readings ablation" in report
    for name in TINY.readings:
        assert ablation.READINGS[name].text in report


@END_TO_END
def test_phase_map_cells(tiny_runs):
    out = tiny_runs / "first"
    phase = pd.read_csv(out / "phase_map.csv")
    ph = TINY.phase
    cells = phase[phase["method"] == "abs"]
    assert len(cells) == len(ph.workers) * len(ph.tails) * len(ph.spreads)
    assert len(phase) == len(cells) * (1 + len(phasemap.BASELINES))
    for row in cells.itertuples():
        assert row.outcome == phasemap.OUTCOME[claims.verdict(row.low, row.high)]
        assert row.best_baseline in phasemap.BASELINES
    report = (out / "report.md").read_text()
    counts = cells["outcome"].value_counts()
    for outcome in (phasemap.SUPPORTS, phasemap.CONTRADICTS, phasemap.INCONCLUSIVE):
        assert f"{int(counts.get(outcome, 0))} {outcome}" in report


@END_TO_END
def test_rerun_with_the_same_seed_gives_the_same_numbers(tiny_runs):
    def numbers(name):
        out = tiny_runs / name
        text = (out / "report.md").read_text().replace(str(out), "OUT")
        return [line for line in text.splitlines() if not line.startswith("Runtime")]

    assert numbers("first") == numbers("second")
    for table in outputs.table_names():
        if table.endswith(".csv"):
            first = (tiny_runs / "first" / table).read_text()
            assert first == (tiny_runs / "second" / table).read_text(), table


# ------------------------------------------------- readings = named policies
EQUIVALENCE = """
import json, sys
import numpy as np
import absjax
from absjax import objectives, policies, rules, staleness
from paper_figures import ablation, readings

objective = objectives.quadratic(dim=3, noise=0.5)
n, t0, u, c = 4, 0.5, 2, 0.05


def sim(policy):
    return absjax.Simulator(
        n, policy, "exp:rate=1", objective, rounds=24, log_every=4, k_max=n
    )


named = {
    "abs": policies.abs_(2, t0, local_steps=u),
    "loss_ratio": policies.abs_(2, t0, local_steps=u, k_rule=rules.LossRatio(t0)),
    "exp_delay_root": policies.abs_(
        2, t0, local_steps=u, k_rule=rules.ExpDelayRoot(t0)
    ),
    "frozen": policies.abs_(2, t0, local_steps=u, tau_rule=rules.Fixed(), tau=1),
    "sa_adasync": policies.sa_adasync(2, t0, local_steps=u),
    "distance": policies.sa_adasync(
        2, t0, local_steps=u, weight=staleness.distance(c=c)
    ),
    "async": policies.custom("k_async", k=1, local_steps=u),
    "adasync": policies.adasync(2, t0, local_steps=u),
    "local_sgd": policies.local_sgd(u, k=3),
}
points = dict(readings.POINTS)
points.update({k: ablation.READINGS[k].point for k in ablation.READINGS})
k_of = {"async": 1, "local_sgd": 3}
ensemble = absjax.Ensemble([sim(p) for p in named.values()])
expected = ensemble.run(seeds=2, chunk=2)
programs = {
    b: sim(readings.policy(b, t0, local_steps=u)) for b in ("k_async", "k_sync")
}
worst = {}
for key, want in zip(named, expected, strict=True):
    program = programs[points[key].base]
    params = readings.numbers(program.params, points[key], c)
    got = program.run(seeds=2, chunk=2, params=params._replace(k=k_of.get(key, 2)))
    worst[key] = max(
        float(np.max(np.abs(got.metrics[m] - want.metrics[m])
                     / np.maximum(np.abs(want.metrics[m]), 1e-6)))
        for m in ("loss", "wall_clock", "k", "tau", "uploads", "downloads")
    )
print(json.dumps(worst))
"""


@pytest.mark.slow  # nine policies compiled in a subprocess: --runslow
def test_reading_programs_equal_the_named_policies():
    """Every point of the two reading programs (``readings.py``) gives the
    numbers of the named absjax policy: U = 2 local steps, a noisy quadratic,
    2 seeds, largest relative difference of every logged metric below 1e-6
    (in a subprocess with XLA's backend optimisation off: compile-bound)."""
    env = dict(os.environ, XLA_FLAGS="--xla_backend_optimization_level=0")
    proc = subprocess.run(
        [sys.executable, "-c", EQUIVALENCE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    worst = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(worst) == set(readings.POINTS) - {"k_sync", "sync"} | set(
        ablation.READINGS
    )
    assert all(w < 1e-6 for w in worst.values()), worst


# ---------------------------------------------------------- pure functions
def _every_round(loss, clock):
    loss = np.asarray(loss, np.float64)
    ones = np.ones_like(loss)
    rounds = np.broadcast_to(np.arange(1, loss.shape[-1] + 1), loss.shape)
    metrics = {
        "loss": loss,
        "wall_clock": np.asarray(clock, np.float64),
        "round": np.array(rounds),
        "uploads": 2 * ones.astype(int),
        "downloads": np.array([[6] + [2] * (loss.shape[-1] - 1)] * loss.shape[0]),
    }
    n = len(loss)
    return absjax.Result(metrics, np.full(n, -1), np.arange(n), {}, 4, "abs", 0, None)


def test_time_to_target_is_read_on_one_grid_rounds_and_messages_exactly():
    # Models in force: w_0 (loss 4) on [0, 1), then 3 on [1, 2.02), 2 on
    # [2.02, 2.04), 1 on [2.04, 3.3), 0.5 from 3.3.
    result = _every_round(
        [[3.0, 2.0, 1.0, 0.5], [3.0, 2.5, 2.2, 2.1]],
        [[1.0, 2.02, 2.04, 3.3]] * 2,
    )
    reach = tuning.to_target(result, 1.0, horizon=10.0, loss0=4.0, resolution=0.5)
    assert reach["time"].tolist() == [2.5, math.inf]  # first grid time in force
    assert reach["rounds"].tolist() == [3.0, math.inf]  # exact: round 3
    assert reach["messages"].tolist() == [8 + 4 + 4, math.inf]  # 4 pulls in row 1
    assert reach["censored"].tolist() == [False, True]  # ended at 3.3 < 10
    # A model in force between two grid points only is never read there:
    # loss 2 holds on [2.02, 2.04), no point of the 0.5 grid.
    two = tuning.to_target(result, 2.0, horizon=10.0, loss0=4.0, resolution=0.5)
    assert two["time"][0] == 2.5 and two["rounds"][0] == 2.0
    # A 4x finer grid moves the time by less than the coarse step.
    fine = tuning.to_target(result, 1.0, horizon=10.0, loss0=4.0, resolution=0.125)
    assert fine["time"][0] == 2.125 and fine["rounds"][0] == 3.0
    late = tuning.to_target(result, 1.0, horizon=2.0, loss0=4.0, resolution=0.5)
    assert late["time"].tolist() == [math.inf, math.inf]  # after the budget
    assert late["rounds"].tolist() == [math.inf, math.inf]


def test_time_to_target_needs_every_round_logged():
    result = _every_round([[3.0, 1.0]], [[1.0, 2.0]])
    result.metrics["round"] = np.array([[2, 4]])
    with pytest.raises(ValueError, match="every round"):
        tuning.to_target(result, 1.0, horizon=10.0, loss0=4.0, resolution=0.5)
    with pytest.raises(ValueError, match="resolution"):
        tuning.to_target(
            _every_round([[3.0]], [[1.0]]), 1.0, horizon=10.0, loss0=4.0, resolution=0
        )


@pytest.mark.parametrize("tail", sorted(TAILS))
@pytest.mark.parametrize("spread", [0.0, 0.5, 1.5])
def test_phase_map_laws_keep_each_workers_expected_rate_at_one(tail, spread):
    delay = phasemap.cell_delay(tail, spread)
    law = delay.compute
    mean = float(law.mean(law.params))
    # E[1 / (speed * E[X])] with speed = exp(s Z): exp(s^2 / 2) / E[X] = 1
    assert mean == pytest.approx(math.exp(spread**2 / 2), rel=1e-6)
    assert delay.speeds == "random" and delay.speed_spread == spread


def test_iid_split_is_every_row_for_every_worker():
    work = workloads.workload(TINY)
    data = work.data("iid")
    rows = data["x"].shape[0]
    assert (np.asarray(data["shard_size"]) == rows).all()
    assert (np.asarray(data["shards"]) == np.arange(rows)).all()
    shards = work.data("label-shards")
    assert shards["shards"].shape == data["shards"].shape  # one program
    assert max(work.shard_labels("label-shards")) <= 4  # 10 labels, 4 workers


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
        (["--delay", "nonsense"], "delay='nonsense': unknown delay law"),
        (
            ["--delay", "exp:rate=-1"],
            "delay='exp:rate=-1': delay law 'exp': rate=-1.0 must be",
        ),
        (["--delay", "trace:path=/nonexistent.csv"], "cannot read the trace"),
        (["--workers", "x"], "workers='x' must be an integer"),
        (["--workers", "1"], "workers=1 must be in [2, 4096]"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    code = reproduce.main(["--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert err.startswith("python -m paper_figures: error:")
    if args[0] in ("--profile", "--seed", "--cifar10"):  # absjax figures knows
        code = cli.main(["figures", "--out", str(tmp_path / "out"), *args])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1
        assert err.startswith("absjax figures: error:")


def test_delay_and_workers_change_the_profile_and_nothing_else():
    """``--delay`` and ``--workers``: time in mean steps of the new law, K
    grids scaled with N (same sizes, so the same configuration counts), local
    SGD's largest K = N; the phase map untouched."""
    quick = PROFILES["quick"]
    p = profiles.customise(quick, "exp:rate=0.5", 16)
    assert (p.delay, p.time_scale, p.workers) == ("exp:rate=0.5", 2.0, 16)
    assert (p.horizon, p.t0) == (2 * quick.horizon, 2 * quick.t0)
    assert p.gradient.configurations == quick.gradient.configurations
    assert p.local.configurations == quick.local.configurations
    assert max(p.local.k_grid) == 16 and p.phase == quick.phase
    assert p.gradient.k0_grid == (2, 4, 8)
    with pytest.raises(ValueError, match="needs N >= 3"):
        profiles.scaled_k_grid((1, 2, 4), 8, 2)
    assert profiles.scaled_k_grid((1, 2, 4), 8, 4) == (1, 2, 3)
    assert profiles.scaled_k_grid((4, 8), 8, 3) == (2, 3)
    same = profiles.customise(quick, None, None)
    assert same == quick


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert reproduce.main(["--out", str(target)]) == 2
    assert "is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_builds_fair_grids(name):
    """Each profile's programs build (nothing compiles), every method of a
    setting gets the same number of configurations, and the phase map's grids
    too."""
    profile = PROFILES[name]
    work = workloads.workload(profile)
    for setting, members in methods.SETTINGS.items():
        grids = getattr(profile, setting)
        runner = tuning.Runner(profile, setting, work.objective, {}, "iid", 0)
        for method in members:
            configs = methods.configurations(method, grids, profile.workers)
            assert len(configs) == grids.configurations, (setting, method.key)
            sims = {runner.simulator(c) for c in configs}
            for sim in sims:
                assert sim.log_every == 1  # every model is evaluated
    ph = profile.phase
    for n in ph.workers:
        counts = {len(phasemap.configurations(ph, k, n)) for k in phasemap._PROGRAM}
        assert counts == {len(ph.lr_grid) * len(ph.k_fractions)}


@pytest.mark.slow
def test_a_trace_delay_and_another_n_run_end_to_end_and_are_named(tmp_path):
    """``--delay trace:path=...`` and ``--workers``: the tiny profile runs on
    measured durations (long CSV, 6 workers) and the report names the model."""
    rng = np.random.default_rng(0)
    csv = tmp_path / "trace.csv"
    rows = [f"{w},{d:.4f}" for w in range(6) for d in rng.gamma(2.0, 0.5, 40)]
    csv.write_text("worker,duration\n" + "\n".join(rows) + "\n")
    spec = f"trace:path={csv},format=long"
    out = tmp_path / "out"
    driver = (
        "import sys; from paper_figures.reproduce import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    argv = ["--profile", "tiny", "--quiet", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-c", driver, *argv, "--delay", spec, "--workers", "6"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = (out / "report.md").read_text()
    assert f"`{spec}` per local step (given by `--delay`" in report
    assert "N = 6 workers" in report
    assert json.loads((out / "config.json").read_text())["profile"]["workers"] == 6
