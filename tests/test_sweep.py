"""Sweeps: rows of one big run, resumable after any interruption, never clobbering.

Every test of a finished sweep runs on both file formats (the ``clean``
fixture is parametrised over CSV and Parquet); Simulators are compiled once
per session (``sweep_helpers.compiled_once``). The shards have their own
module, ``test_sweep_shards.py``.
"""

import fcntl
import functools
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sweep_helpers import (
    BASE,
    CONFIG,
    FORMATS,
    LOGS,
    POINTS,
    TOML,
    UNITS,
    configured,
    file_format,
    read,
    results_of,
)
from sweep_helpers import copy as _copy
from sweep_helpers import snapshot as _snapshot
from sweep_helpers import text as _text

from absjax import cli, sweep

pytestmark = pytest.mark.usefixtures("compile_once")  # tests/conftest.py


@pytest.fixture(scope="module", params=FORMATS)
def clean(request, cleans) -> Path:
    """The uninterrupted sweep, in each format."""
    return cleans(request.param)


def test_results_hold_points_x_seeds_x_logs_rows(clean):
    suffix = results_of(clean).suffix
    frame = read(results_of(clean))
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
        f"point-0000-seeds-000000-000003{suffix}",
        f"point-0000-seeds-000004-000005{suffix}",
    ]
    manifest = json.loads((clean / "manifest.json").read_text())
    assert manifest["fingerprint"] == sweep.plan(CONFIG).fingerprint
    assert len(manifest["points"]) == 4 and len(manifest["units"]) == UNITS
    assert manifest["points"][3]["config"]["tau"] == 1
    assert manifest["points"][3]["values"] == {"tau": 1, "lr": 0.1}


@functools.cache
def _direct(point: int) -> pd.DataFrame:
    """``Simulator.run(seeds=all)`` of a point on its own Simulator (not the
    memoised one: point 3 gets its own program), once for both formats."""
    config = sweep.plan(CONFIG).points[point]
    sim = cli.build_simulator(config)
    return sim.run(seeds=CONFIG["seeds"], seed=CONFIG["seed"]).to_dataframe()


@pytest.mark.parametrize("point", [0, 3])
def test_rows_equal_one_direct_run_of_each_point(clean, point):
    """Bit-identical to Simulator.run(seeds=all); point 3 runs on the
    Simulator that point 0 compiled, with its own tau and lr."""
    direct = _direct(point)
    if file_format(clean) == "parquet":  # the very dtypes of to_dataframe
        frame = pd.read_parquet(clean / "results.parquet")
        rows = frame[frame["point"] == point].drop(
            columns=["point", "config_tau", "lr"]
        )
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), direct)
        return
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
    out, results = tmp_path / "sweep", results_of(clean).name
    write, written = sweep.runner._write_part, []

    def interrupted(path, frame):
        if len(written) == units_before_interrupt:
            raise KeyboardInterrupt  # Ctrl-C between two units
        write(path, frame)
        written.append(path)

    monkeypatch.setattr(sweep.runner, "_write_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(configured(file_format(clean)), out, progress=False)
    assert len(list((out / "parts").iterdir())) == units_before_interrupt
    assert not (out / results).exists()
    monkeypatch.undo()
    sweep.run_sweep(configured(file_format(clean)), out, progress=False)
    assert (out / results).read_bytes() == (clean / results).read_bytes()


def test_resume_after_kill_removes_temporary_files(clean, tmp_path):
    """A kill -9 leaves finished parts and half-written temporary files."""
    out, results = _copy(clean, tmp_path), results_of(clean).name
    (out / results).unlink()
    parts = sorted((out / "parts").iterdir())
    half = parts[5].read_bytes()[:100]
    for part in parts[5:]:
        part.unlink()
    leftovers = []
    for path in (parts[5], out / results):
        # cli.atomic_write's own temporary name, left as a killed writer leaves it
        cli.atomic_write(path, lambda tmp: leftovers.append(tmp.name))
        path.unlink()
        (path.parent / leftovers[-1]).write_bytes(half)
    sweep.run_sweep(CONFIG, out, progress=False)  # no format: the directory's
    assert (out / results).read_bytes() == (clean / results).read_bytes()
    assert _snapshot(out).keys() == _snapshot(clean).keys()  # no leftovers


@pytest.mark.parametrize("fmt", FORMATS)
def test_foreign_directory_is_refused_and_untouched(tmp_path, fmt):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    before = _snapshot(out)
    with pytest.raises(cli.UsageError, match="not empty and has no manifest.json"):
        sweep.run_sweep(configured(fmt), out, progress=False)
    assert _snapshot(out) == before


def test_another_configuration_is_refused_and_untouched(clean, tmp_path):
    out = _copy(clean, tmp_path)
    before = _snapshot(out)
    other = {**CONFIG, "grid": {"tau": ["none", 1], "lr": [0.05, 0.2]}}
    with pytest.raises(cli.UsageError, match="another configuration"):
        sweep.run_sweep(other, out, progress=False)
    assert _snapshot(out) == before


def _rewritten(change):
    """A damage of a Parquet part: ``change`` of its table, written back."""

    def damage(path: Path) -> None:
        pq.write_table(change(pq.read_table(path)), path)

    return damage


def _bytes(change):
    def damage(path: Path) -> None:
        path.write_bytes(change(path.read_bytes()))

    return damage


def _text_of(change):
    def damage(path: Path) -> None:
        path.write_text(change(path.read_text()))

    return damage


_CORRUPT = [
    ("csv", _text_of(lambda t: t[: len(t) // 2].rsplit("\n", 2)[0] + "\n"), "rows"),
    ("csv", _text_of(lambda text: "\x00\x01garbage\n" + text), "corrupt"),
    ("csv", _text_of(lambda text: text.replace(",", ";")), "columns"),
    ("parquet", _rewritten(lambda t: t.slice(0, t.num_rows // 2)), "rows"),
    ("parquet", _bytes(lambda b: b[: len(b) // 2]), "unreadable"),
    ("parquet", _bytes(lambda b: b"\x00\x01garbage\n" + b), "corrupt"),
    (
        "parquet",
        _rewritten(lambda t: t.rename_columns(["x", *t.column_names[1:]])),
        "columns",
    ),
    (
        "parquet",
        _rewritten(lambda t: t.set_column(0, "point", pa.array([9] * t.num_rows))),
        "point or seed",
    ),
]


@pytest.mark.parametrize(
    "fmt, damage, message", _CORRUPT, ids=[f"{f}-{m}" for f, _, m in _CORRUPT]
)
def test_corrupt_part_is_refused_and_untouched(cleans, tmp_path, fmt, damage, message):
    clean = cleans(fmt)
    out = _copy(clean, tmp_path)
    (out / results_of(clean).name).unlink()
    part = sorted((out / "parts").iterdir())[2]
    damage(part)
    before = _snapshot(out)
    with pytest.raises(cli.UsageError, match=f"{part.name}.*{message}"):
        sweep.run_sweep(configured(fmt), out, progress=False)
    assert _snapshot(out) == before


def test_a_running_sweep_locks_its_directory(clean, tmp_path):
    """As a sweep of an older absjax holds it; test_sweep_shards.py has the
    locks of the shards."""
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
    results = results_of(clean).name  # TOML has no format: the directory's
    assert f"wrote {out / results}" in captured.out
    assert f"{UNITS}/{UNITS}" in captured.err
    assert "unit/s" in captured.err or "s/unit" in captured.err  # the rate
    assert cli.main(["sweep", "--config", str(path), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert (out / results).read_bytes() == (clean / results).read_bytes()


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
@pytest.mark.parametrize("fmt", FORMATS)
def test_kill_9_and_rerun_of_the_command(tmp_path, fmt):
    """The real thing: SIGKILL once a part exists, then the same command."""
    config = configured(fmt, seeds=40, chunk_seeds=2)
    del config["grid"]
    expected = sweep.run_sweep(config, tmp_path / "clean", progress=False)
    path = tmp_path / "sweep.toml"
    text = BASE.replace("seeds = 6", "seeds = 40").replace("_seeds = 4", "_seeds = 2")
    path.write_text(text + f"k = 2\nformat = '{fmt}'\n")
    out = tmp_path / "sweep"
    main = "import sys; from absjax.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", main, "sweep", "--config", str(path)]
    command += ["--out", str(out), "--quiet"]
    # the second process loads the first one's compiled program from disk
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax-cache")}
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not any((out / "parts").glob(f"point-*.{fmt}")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no part written in 120 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (out / expected.name).exists()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (out / expected.name).read_bytes() == expected.read_bytes()


# ------------------------------------------------------------- the formats
def test_parquet_is_the_default_and_the_format_is_in_the_manifest(cleans, tmp_path):
    out = tmp_path / "sweep"
    assert sweep.run_sweep(CONFIG, out, progress=False) == out / "results.parquet"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["file_format"] == "parquet"
    assert (
        manifest["units"][0]["file"] == "parts/point-0000-seeds-000000-000003.parquet"
    )
    assert manifest["fingerprint"] == sweep.plan(configured("csv")).fingerprint
    assert (
        pq.ParquetFile(out / "results.parquet").num_row_groups == UNITS
    )  # a part each
    csv = read(cleans("csv") / "results.csv")
    pd.testing.assert_frame_equal(read(out / "results.parquet"), csv, check_dtype=False)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_directory_refuses_the_other_format_and_is_untouched(cleans, tmp_path, fmt):
    out = _copy(cleans(fmt), tmp_path)
    before = _snapshot(out)
    other = "csv" if fmt == "parquet" else "parquet"
    with pytest.raises(cli.UsageError, match=f"in {fmt} files, not {other}") as e:
        sweep.run_sweep(configured(other), out, progress=False)
    assert "\n" not in str(e.value)
    with pytest.raises(cli.UsageError, match=f"in {fmt} files, not {other}"):
        sweep.run_sweep(CONFIG, out, progress=False, file_format=other)
    assert _snapshot(out) == before


def test_a_csv_sweep_of_an_older_absjax_resumes_as_csv(cleans, tmp_path):
    """Its manifest has no file_format; its fingerprint and rows are kept."""
    out = _copy(cleans("csv"), tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["file_format"]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    for name in (".lock", ".lock-0-of-1", "results.csv"):
        (out / name).unlink()  # as an older absjax left it
    (sorted((out / "parts").iterdir())[-1]).unlink()
    with pytest.raises(cli.UsageError, match="in csv files, not parquet"):
        sweep.run_sweep(CONFIG, out, progress=False, file_format="parquet")
    assert sweep.run_sweep(CONFIG, out, progress=False) == out / "results.csv"
    assert (out / "results.csv").read_bytes() == (
        cleans("csv") / "results.csv"
    ).read_bytes()


def test_the_format_flag_wins_over_the_toml_key(tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text(BASE + "format = 'csv'\nk = 2\n[grid]\nlr = [0.05, 0.1]\n")
    out = tmp_path / "out"
    command = ["sweep", "--config", str(path), "--out", str(out), "--quiet"]
    assert cli.main(command + ["--format", "parquet"]) == 0
    assert capsys.readouterr().out == f"wrote {out / 'results.parquet'}\n"
    assert cli.main(command) == 2  # the TOML's csv is not the directory's
    assert "in parquet files, not csv" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, text, needle",
    [
        (["--format", "xlsx"], "", "format='xlsx' must be one of: parquet, csv"),
        ([], "format = 'CSV'\n", "config file "),
        ([], "format = 'CSV'\n", "format='CSV' must be one of: parquet, csv"),
    ],
)
def test_a_bad_format_exits_2_before_writing(tmp_path, capsys, args, text, needle):
    path = tmp_path / "sweep.toml"
    path.write_text(BASE + "k = 2\n" + text)
    out = tmp_path / "out"
    assert cli.main(["sweep", "--config", str(path), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("absjax: error: ") and err.count("\n") == 1
    assert needle in err
    assert not out.exists()


def test_a_grid_of_weight_numbers_shares_one_program(tmp_path, monkeypatch):
    """Points that differ only in a weight's numbers (``delay_capped:c=...``)
    run on one compiled Simulator, each with its own ``c``."""
    import absjax

    ran = []
    run = absjax.Simulator.run

    def counted(sim, *args, **kwargs):
        ran.append(sim)
        return run(sim, *args, **kwargs)

    monkeypatch.setattr(absjax.Simulator, "run", counted)
    config = {
        **CONFIG,
        "seeds": 2,
        "chunk_seeds": 2,
        "grid": {"weight": ["delay_capped:c=0.5", "delay_capped:c=4"]},
    }
    frame = pd.read_parquet(sweep.run_sweep(config, tmp_path / "out", progress=False))
    assert len(ran) == 2 and ran[0] is ran[1] and ran[0].traces == 1
    loss = [g["loss"].to_numpy() for _, g in frame.groupby("weight", sort=False)]
    assert not np.array_equal(loss[0], loss[1])  # each point ran its own c
    alone = {**config, "grid": {"weight": ["delay_capped:c=4"]}}
    frame = pd.read_parquet(sweep.run_sweep(alone, tmp_path / "one", progress=False))
    np.testing.assert_array_equal(frame["loss"].to_numpy(), loss[1])
