"""Sweeps: rows of one big run, resumable after any interruption, never clobbering.

Compiling a Simulator takes seconds, so the tests build each configuration's
Simulator once (``config.build_simulator`` is memoised for this module): every
sweep here reuses the same compiled programs. The subprocess test compiles in
its own processes.
"""

import fcntl
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from absjax import cli, config, sweep

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


@pytest.fixture(scope="module", autouse=True)
def _compile_once():
    """Memoises ``config.build_simulator`` on the keys that shape the program."""
    build, built = config.build_simulator, {}

    def cached(config):
        key = json.dumps(
            {k: v for k, v in config.items() if k not in ("seeds", "seed", "out")},
            sort_keys=True,
        )
        if key not in built:
            built[key] = build(config)
        return built[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config, "build_simulator", cached)
        yield


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """An uninterrupted sweep of CONFIG (do not modify: copy it)."""
    out = tmp_path_factory.mktemp("clean") / "sweep"
    sweep.run_sweep(CONFIG, out, progress=False)
    return out


def _text(csv) -> pd.DataFrame:
    """The cells as written: equal text is equal float64 (shortest repr)."""
    return pd.read_csv(csv, dtype=str, keep_default_na=False)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _copy(clean: Path, tmp_path: Path) -> Path:
    out = tmp_path / "sweep"
    shutil.copytree(clean, out)
    return out


def test_results_hold_points_x_seeds_x_logs_rows(clean):
    frame = pd.read_csv(clean / "results.csv")
    assert len(frame) == len(POINTS) * CONFIG["seeds"] * LOGS
    assert list(frame.columns[:7]) == [
        "point",
        "config_tau",  # the gridded tau; `tau` is the bound in force (inf: none)
        "lr",
        "policy",
        "seed",
        "round",
        "wall_clock",
    ]
    for point, (tau, lr) in enumerate(POINTS):
        rows = frame[frame["point"] == point]
        assert len(rows) == CONFIG["seeds"] * LOGS
        assert (rows["lr"] == lr).all()
        assert (rows["tau"] == (np.inf if tau is None else tau)).all()
        assert rows["seed"].tolist() == np.repeat(np.arange(6), LOGS).tolist()
    parts = sorted(p.name for p in (clean / "parts").iterdir())
    assert len(parts) == UNITS
    assert parts[:2] == [
        "point-0000-seeds-000000-000003.csv",
        "point-0000-seeds-000004-000005.csv",
    ]
    manifest = json.loads((clean / "manifest.json").read_text())
    assert manifest["fingerprint"] == sweep.plan(CONFIG).fingerprint
    assert len(manifest["points"]) == 4 and len(manifest["units"]) == UNITS
    assert manifest["points"][3]["config"]["tau"] == 1
    assert manifest["points"][3]["values"] == {"tau": 1, "lr": 0.1}


@pytest.mark.parametrize("point", [0, 3])
def test_rows_equal_one_direct_run_of_each_point(clean, point):
    """Bit-identical to Simulator.run(seeds=all); point 3 runs on the
    Simulator that point 0 compiled, with its own tau and lr."""
    config = sweep.plan(CONFIG).points[point]
    sim = cli.build_simulator(config)  # point 3: its own Simulator and program
    direct = sim.run(seeds=CONFIG["seeds"], seed=CONFIG["seed"]).to_dataframe()
    frame = _text(clean / "results.csv")
    rows = frame[frame["point"] == str(point)].drop(
        columns=["point", "config_tau", "lr"]
    )
    expected = _text(io.StringIO(direct.to_csv(index=False)))
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected)


@pytest.mark.parametrize("units_before_interrupt", [1, 3])
def test_resume_after_interruption_gives_the_clean_rows(
    clean, tmp_path, monkeypatch, units_before_interrupt
):
    out = tmp_path / "sweep"
    write, written = sweep._write_part, []

    def interrupted(path, frame):
        if len(written) == units_before_interrupt:
            raise KeyboardInterrupt  # Ctrl-C between two units
        write(path, frame)
        written.append(path)

    monkeypatch.setattr(sweep, "_write_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(CONFIG, out, progress=False)
    assert len(list((out / "parts").iterdir())) == units_before_interrupt
    assert not (out / "results.csv").exists()
    monkeypatch.undo()
    sweep.run_sweep(CONFIG, out, progress=False)
    assert (out / "results.csv").read_bytes() == (clean / "results.csv").read_bytes()


def test_resume_after_kill_removes_temporary_files(clean, tmp_path):
    """A kill -9 leaves finished parts and half-written temporary files."""
    out = _copy(clean, tmp_path)
    (out / "results.csv").unlink()
    parts = sorted((out / "parts").iterdir())
    half = parts[5].read_bytes()[:100]
    for part in parts[5:]:
        part.unlink()
    leftovers = []
    for path in (parts[5], out / "results.csv"):
        # cli.atomic_write's own temporary name, left as a killed writer leaves it
        cli.atomic_write(path, lambda tmp: leftovers.append(tmp.name))
        path.unlink()
        (path.parent / leftovers[-1]).write_bytes(half)
    sweep.run_sweep(CONFIG, out, progress=False)
    assert (out / "results.csv").read_bytes() == (clean / "results.csv").read_bytes()
    assert _snapshot(out).keys() == _snapshot(clean).keys()  # no leftovers


def test_foreign_directory_is_refused_and_untouched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    before = _snapshot(out)
    with pytest.raises(cli.UsageError, match="not empty and has no manifest.json"):
        sweep.run_sweep(CONFIG, out, progress=False)
    assert _snapshot(out) == before


def test_another_configuration_is_refused_and_untouched(clean, tmp_path):
    out = _copy(clean, tmp_path)
    before = _snapshot(out)
    other = {**CONFIG, "grid": {"tau": ["none", 1], "lr": [0.05, 0.2]}}
    with pytest.raises(cli.UsageError, match="another configuration"):
        sweep.run_sweep(other, out, progress=False)
    assert _snapshot(out) == before


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda text: text[: len(text) // 2].rsplit("\n", 2)[0] + "\n", "rows"),
        (lambda text: "\x00\x01garbage\n" + text, "corrupt"),
        (lambda text: text.replace(",", ";"), "columns"),
    ],
)
def test_corrupt_part_is_refused_and_untouched(clean, tmp_path, damage, message):
    out = _copy(clean, tmp_path)
    (out / "results.csv").unlink()
    part = sorted((out / "parts").iterdir())[2]
    part.write_text(damage(part.read_text()))
    before = _snapshot(out)
    with pytest.raises(cli.UsageError, match=f"{part.name}.*{message}"):
        sweep.run_sweep(CONFIG, out, progress=False)
    assert _snapshot(out) == before


def test_a_running_sweep_locks_its_directory(clean, tmp_path):
    out = _copy(clean, tmp_path)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(cli.UsageError, match="another sweep is writing"):
            sweep.run_sweep(CONFIG, out, progress=False)
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "change, needle",
    [
        ("k = 2\ncolor = 1\n", "unknown key 'color'"),
        ("k = 2\nout = 'x.csv'\n", "--out"),
        ("[grid]\nk = [2, 'x']\n", "grid.k: k='x' must be an integer"),
        ("[grid]\nk = [2, 9]\n", "point 1 (k=9): k=9 must be in [1, num_workers=4]"),
        ("k = 2\n[grid]\nweight = ['constant', 'cubic']\n", "point 1 (weight="),
        ("k = 2\n[grid]\nseeds = [2, 4]\n", "'seeds' cannot be gridded"),
        ("k = 2\n[grid]\nlr = []\n", "non-empty list"),
        ("k = 2\nchunk_seeds = 0\n", "chunk_seeds=0 must be an integer >= 1"),
    ],
)
def test_invalid_configuration_exits_2_before_writing(tmp_path, capsys, change, needle):
    path = tmp_path / "sweep.toml"
    path.write_text(BASE.replace("chunk_seeds = 4\n", "") + change)
    out = tmp_path / "out"
    assert cli.main(["sweep", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("absjax: error: ") and err.count("\n") == 1
    assert needle in err
    assert not out.exists()


def test_cli_progress_bar_on_stderr_and_quiet(clean, tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text(TOML)
    out = _copy(clean, tmp_path)
    for part in sorted((out / "parts").iterdir())[-2:]:
        part.unlink()
    assert cli.main(["sweep", "--config", str(path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out / 'results.csv'}" in captured.out
    assert f"{UNITS}/{UNITS}" in captured.err
    assert "unit/s" in captured.err or "s/unit" in captured.err  # the rate
    assert cli.main(["sweep", "--config", str(path), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert (out / "results.csv").read_bytes() == (clean / "results.csv").read_bytes()


def test_python_m_absjax_cli_sweep_error_is_one_line(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(BASE + "[grid]\nk = [2, 9]\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "absjax.cli", "sweep", "--config", str(path)]
    proc = subprocess.run(command + ["--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"absjax: error: config file {path}: point 1 (k=9): k=9 must be in "
        "[1, num_workers=4]"
    ]
    assert not out.exists()


@pytest.mark.slow  # two fresh processes, one compiling: 13-27 s on 2 busy cores
def test_kill_9_and_rerun_of_the_command(tmp_path):
    """The real thing: SIGKILL once a part exists, then the same command."""
    config = {**CONFIG, "seeds": 40, "chunk_seeds": 2}
    del config["grid"]
    expected = sweep.run_sweep(config, tmp_path / "clean", progress=False)
    path = tmp_path / "sweep.toml"
    text = BASE.replace("seeds = 6", "seeds = 40").replace("_seeds = 4", "_seeds = 2")
    path.write_text(text + "k = 2\n")
    out = tmp_path / "sweep"
    main = "import sys; from absjax.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", main, "sweep", "--config", str(path)]
    command += ["--out", str(out), "--quiet"]
    # the second process loads the first one's compiled program from disk
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax-cache")}
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not any((out / "parts").glob("point-*.csv")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no part written in 120 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (out / "results.csv").exists()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (out / "results.csv").read_bytes() == expected.read_bytes()
