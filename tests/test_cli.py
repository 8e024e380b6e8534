"""The command-line contract: names, CSV columns, one-line errors, exit codes."""

import math
import os
import subprocess
import sys

import jax
import numpy as np
import pandas as pd
import pytest

from absjax import catalog, cli, config
from absjax.delays.spec import MODIFIERS
from absjax.policies.spec import REGISTRY as POLICIES

SMALL = [
    "--workers",
    "4",
    "--k",
    "2",
    "--tau",
    "1",
    "--objective",
    "quadratic:dim=3,noise=0.1",
    "--rounds",
    "20",
    "--log-every",
    "5",
    "--seeds",
    "3",
]
COLUMNS = [
    "seed",
    "round",
    "wall_clock",
    "loss",
    "k",
    "tau",
    "staleness_mean",
    "staleness_max",
    "uploads",
    "jobs_started",
    "jobs_aggregated",
    "jobs_wasted",
]


def test_simulate_writes_tidy_csv_and_summary(tmp_path, capsys):
    out = tmp_path / "sub" / "run.csv"
    assert cli.main(["simulate", *SMALL, "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert set(COLUMNS) <= set(frame.columns)
    assert len(frame) == 3 * 4
    assert (frame["tau"] == 1).all() and (frame["k"] == 2).all()
    text = capsys.readouterr().out
    for needle in (
        "mean round time",
        "staleness",
        "wasted jobs",
        "final loss",
        "95% CI",
        "wrote",
    ):
        assert needle in text
    assert [p.name for p in out.parent.iterdir()] == ["run.csv"]  # no temp file
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not 0600


def test_config_file_and_flags_override(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        'workers = 4\npolicy = "k_sync"\nk = 3\n'
        'objective = "quadratic:dim=2"\nrounds = 10\nlog_every = 5\n'
        "seeds = 2\nseed = 4\n"
    )
    out = tmp_path / "run.csv"
    assert (
        cli.main(["simulate", "--config", str(config), "--k", "2", "--out", str(out)])
        == 0
    )
    frame = pd.read_csv(out)
    assert (frame["k"] == 2).all() and len(frame) == 4
    assert frame["tau"].isin([float("inf")]).all()


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--policy", "nope"], "policy"),
        (["--k", "0"], "k=0"),
        (["--k", "9"], "num_workers"),
        (["--k", "two"], "integer"),
        (["--tau", "-2"], "tau"),
        (["--policy", "sync", "--k", "2"], "takes no k"),
        (["--policy", "k_sync", "--k", "2", "--tau", "1"], "synchronous"),
        (["--delay", "pareto:scale=1,alpha=0"], "alpha"),
        (["--delay", "exp:speed=2"], "speed"),
        (["--delay", "weird"], "unknown delay law"),
        (["--objective", "linreg:dim=-3"], "dim"),
        (["--objective", "nope:dim=3"], "unknown objective"),
        (["--lr", "0"], "lr"),
        (["--rounds", "0"], "rounds"),
        (["--rounds", "10", "--log-every", "4"], "divide"),
        (["--seeds", "0"], "seeds"),
        (["--seed", "-1"], "seed"),
        (["--weight", "threshold:c=-1"], "c="),
        (["--normalization", "max"], "normalization"),
        (["--workers", "0"], "workers"),
        (["--unknown", "1"], "unrecognized"),
        (["--config", "missing.toml"], "does not exist"),
        (["--policy", "abs:k0=1,t0=2"], "SPEC"),  # SMALL sets --k and --tau
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, capsys, argv, needle):
    out = tmp_path / "x.csv"
    base = [a for a in SMALL]
    code = cli.main(["simulate", *base, *argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("absjax: error: ") and err.count("\n") == 1, err
    assert needle in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_config_files(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("workers = = 4")
    assert cli.main(["simulate", "--config", str(bad)]) == 2
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("wokers = 4")
    assert cli.main(["simulate", "--config", str(unknown)]) == 2
    typed = tmp_path / "typed.toml"
    typed.write_text("rounds = 1.5")
    assert cli.main(["simulate", "--config", str(typed)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(e.startswith("absjax: error: ") for e in err)
    assert "wokers" in err[1] and "rounds" in err[2]


def test_out_must_not_be_a_directory(tmp_path, capsys):
    assert cli.main(["simulate", *SMALL, "--out", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert cli.main(["simulate", *SMALL, "--out", str(blocker / "run.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("absjax: error: cannot create directory")
    assert cli.main(["demo", "--out", str(blocker / "demo")]) == 2


def test_tau_omitted_or_none_is_unbounded(tmp_path):
    args = [
        "simulate",
        "--workers",
        "4",
        "--k",
        "1",
        "--objective",
        "quadratic:dim=2",
        "--rounds",
        "40",
        "--log-every",
        "20",
        "--seeds",
        "2",
    ]
    for extra in ([], ["--tau", "none"], ["--tau", "inf"]):
        out = tmp_path / f"run{len(extra)}{extra[-1] if extra else ''}.csv"
        assert cli.main([*args, *extra, "--out", str(out)]) == 0
        frame = pd.read_csv(out)
        assert (frame["tau"] == float("inf")).all()
        assert frame["jobs_wasted"].sum() == 0


def test_entry_point_prints_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "absjax.cli", "simulate", "--k", "99"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "absjax: error: k=99 must be in [1, num_workers=16]"
    ]
    assert "Traceback" not in proc.stderr


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"

    def failing(tmp):
        tmp.write_text("partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cli.atomic_write(target, failing)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "spec,needle",
    [
        ("abs:k0=1,t0=-1", "t0"),
        ("abs:k0=9,t0=1", "num_workers"),
        ("abs:k0=1,t0=1,kappa=-2", "kappa"),
        ("abs:k0=1,t0=1,local_steps=0", "local_steps"),
        ("abs:k0=1,t0=1,loss_estimate=true", "loss_estimate"),
        ("adasync:k0=1,t0=1,base=sync", "base"),
        ("local_sgd:local_steps=2,local_duration=max", "local_duration"),
        ("ssp:s=-1", "ssp"),
        ("rennala:b=0", "policy 'rennala': b=0 must be an integer"),
        ("ringmaster:r=2,variant=x", "variant"),
        ("ringmaster:r=two", "not a valid int"),
        ("abs:k_rule=linear", "k_rule='linear' must be one of adasync"),
        ("sa_adasync:c=0.1", "give step=distance"),
        ("ssp:t=1", "no parameter"),
        ("ssp:t=1", "(allowed: s=1)"),
    ],
)
def test_bad_policy_specs_are_one_line_exit_2(tmp_path, capsys, spec, needle):
    out = tmp_path / "x.csv"
    argv = ["simulate", "--workers", "4", "--policy", spec, "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert not out.exists()


def test_adaptive_policy_from_a_config_file(tmp_path, capsys):
    config = tmp_path / "abs.toml"
    config.write_text(
        'workers = 4\npolicy = "abs:k0=1,t0=0.5,local_steps=2"\n'
        'objective = "quadratic:dim=2"\nrounds = 40\nlog_every = 5\nseeds = 2\n'
    )
    out = tmp_path / "abs.csv"
    assert cli.main(["simulate", "--config", str(config), "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert frame["k"].min() < frame["k"].max()  # K^t changes and is logged
    assert (frame["tau"] == ((4 - frame["k"]) / frame["k"]).apply(math.ceil)).all()
    assert "K=1..4" in capsys.readouterr().out or frame["k"].max() < 4


# ------------------------------------------------------- bare names, listing
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_builds_by_its_bare_name(name):
    point = config.merge(
        flags={"workers": "8", "policy": name, "objective": "quadratic:dim=2"}
    )
    sim = config.build_simulator(point)
    assert sim.policy.name == name and sim.num_workers == 8


def test_bare_abs_runs_with_documented_defaults(tmp_path, capsys):
    out = tmp_path / "abs.csv"
    argv = ["simulate", "--workers", "8", "--policy", "abs", "--quiet"]
    argv += ["--objective", "quadratic:dim=2", "--rounds", "20", "--log-every", "10"]
    assert cli.main([*argv, "--seeds", "2", "--out", str(out)]) == 0
    assert pd.read_csv(out)["k"].min() >= 2  # k0 = max(1, 8 // 4)
    sim = config.build_simulator(config.merge(flags={"policy": "abs"}))
    mean = float(sim.delay.mean(sim.delay.params))  # shifted_exp: 0.5 + 1 / 2
    assert sim.policy.k == 4 and sim.policy.k_rule.t0 == pytest.approx(5 * mean)
    sim = config.build_simulator(config.merge(flags={"policy": "k_sync"}))
    assert sim.policy.k == 4  # max(1, 16 // 4)


@pytest.mark.parametrize("kind", sorted(catalog.KINDS))
def test_list_prints_every_name_with_every_parameter(capsys, kind):
    assert cli.main(["list", kind]) == 0
    text = capsys.readouterr().out
    for name, entry in catalog.registry(kind).items():
        assert f"\n{name}: " in text
        for key, param in entry.params.items():
            line = f"\n  {key}={param.default_text()} ({param.type_text()})"
            assert line in text, (name, key)
    if kind == "delays":
        for key in MODIFIERS.params:
            assert f"\n  {key}=" in text.split("\nmodifiers: ", 1)[1]


def test_list_alone_and_simulate_help_name_the_kinds(capsys):
    assert cli.main(["list"]) == 0
    listing = capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["simulate", "--help"])
    help_text = capsys.readouterr().out
    for text in (listing, help_text):
        assert "absjax list" in text
        for kind in catalog.KINDS:
            assert kind in text
            assert all(name in text for name in catalog.registry(kind))
    assert cli.main(["list", "nope"]) == 2
    assert "invalid choice" in capsys.readouterr().err


# ------------------------------------------------------------- progress bar
def test_blocks_give_the_numbers_of_one_run():
    sim = config.build_simulator(
        config.merge(
            flags={"workers": "4", "objective": "quadratic:dim=2", "k": "2"}
            | {"tau": "1", "rounds": "10", "log_every": "5"}
        )
    )
    chunk = 2
    lanes = chunk * jax.local_device_count()
    seeds = 3 * lanes + 1  # four blocks, the last one padded
    blocks = cli.run_with_progress(sim, seeds, 5, progress=True, chunk=chunk)
    whole = sim.run(seeds=seeds, seed=5, chunk=chunk)
    assert set(blocks.metrics) == set(whole.metrics)
    for name, values in whole.metrics.items():
        np.testing.assert_array_equal(blocks.metrics[name], values, err_msg=name)
    np.testing.assert_array_equal(blocks.diverged_round, whole.diverged_round)
    np.testing.assert_array_equal(blocks.seeds, np.arange(seeds))


@pytest.mark.parametrize("seeds", [1, 20, 21, 100, 101, 1000, 4099])
def test_blocks_are_whole_lane_groups_and_few(seeds):
    block = cli._block_seeds(seeds * 64, 64)
    count = -(-seeds * 64 // block)
    assert block % 64 == 0 and count <= cli.MOST_BLOCKS
    assert count >= min(seeds, cli.FEWEST_BLOCKS)
    assert count * block - seeds * 64 < block  # the last block is the short one


def test_progress_bar_goes_to_stderr_and_quiet_prints_none(capsys):
    argv = ["simulate", "--workers", "4", "--objective", "timing", "--rounds", "10"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "seed-rounds/s" in captured.err and "100%" in captured.err
    assert "seed-rounds" not in captured.out and "mean round time" in captured.out
    assert cli.main([*argv, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "mean round time" in captured.out


def test_compile_cache_is_filled_then_reused_with_the_same_numbers(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "ABSJAX_COMPILE_CACHE": str(cache)}
    outs = [tmp_path / f"run{i}.csv" for i in range(2)]
    for out in outs:
        argv = ["simulate", "--rounds", "20", "--seeds", "4", "--quiet"]
        proc = subprocess.run(
            [sys.executable, "-m", "absjax.cli", *argv, "--out", str(out)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        entries = sorted(p.name for p in cache.iterdir())
        assert entries  # the first run wrote the compiled programs
    assert sorted(p.name for p in cache.iterdir()) == entries  # the second hit
    assert outs[0].read_text() == outs[1].read_text()


def test_no_compile_cache_flag_and_off_leave_the_cache_off(tmp_path, monkeypatch):
    from absjax import compile_cache

    monkeypatch.setenv(compile_cache.ENV, "off")
    assert compile_cache.enable() is None
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "c"))
    assert compile_cache.default_directory() == tmp_path / "c"
    args, _ = cli._parser().parse_known_args(["simulate", "--no-compile-cache"])
    assert args.no_compile_cache


def test_simulate_writes_parquet_and_netcdf_by_suffix(tmp_path):
    import absjax

    argv = ["simulate", "--rounds", "20", "--seeds", "3", "--quiet"]
    outs = {s: tmp_path / f"run{s}" for s in (".csv", ".parquet", ".nc")}
    for out in outs.values():
        assert cli.main([*argv, "--out", str(out)]) == 0
    csv = pd.read_csv(outs[".csv"])
    pd.testing.assert_frame_equal(pd.read_parquet(outs[".parquet"]), csv)
    loaded = absjax.load(outs[".nc"])
    np.testing.assert_array_equal(
        loaded.loss, csv.pivot(index="seed", columns="round", values="loss").to_numpy()
    )


def test_delay_adaptive_weight_from_the_cli(tmp_path, capsys):
    out = tmp_path / "x.csv"
    argv = ["simulate", *SMALL, "--weight", "delay_capped:c=2", "--out", str(out)]
    assert cli.main(argv) == 0
    assert out.exists()
    capsys.readouterr()
    code = cli.main(["simulate", *SMALL, "--weight", "delay_capped:c=0"])
    err = capsys.readouterr().err
    assert code == 2 and "c=0.0" in err and err.count("\n") == 1
