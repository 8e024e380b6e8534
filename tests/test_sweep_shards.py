"""Shards of a sweep: a disjoint, covering partition of the units; several
processes filling one directory; the locks that refuse overlapping runs; the
merge. Simulators are compiled once per session (``sweep_helpers``); the
subprocess tests (marked slow) compile in their own processes.
"""

import errno
import fcntl
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import (
    BASE,
    CONFIG,
    FORMATS,
    TOML,
    UNITS,
    configured,
    copy,
    snapshot,
)

from absjax import cli, sweep
from absjax.sweep.shards import WHOLE, Locks, Shard

pytestmark = pytest.mark.usefixtures("compile_once")  # tests/conftest.py


@pytest.fixture(scope="module")
def jax_env(tmp_path_factory) -> dict[str, str]:
    """The environment of the subprocesses: one JAX compilation cache, so that
    the processes of later tests load the programs of the first ones."""
    cache = tmp_path_factory.mktemp("jax-cache")
    return {
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": str(cache),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }


def _hold(out: Path, shard: str | None) -> Locks:
    """The locks of a run of ``shard`` (``"whole"``: unsharded; None: a merge)
    that is running in ``out``; ``close()`` ends it."""
    locks = Locks(out)
    locks.directory()
    claim = locks.claim()
    if shard is None:
        locks.merge()
    else:
        locks.shard(WHOLE if shard == "whole" else Shard.parse(shard))
    locks.release(claim)
    return locks


def _start(out: Path, shard: str | None) -> Path | None:
    """Runs ``shard`` of CONFIG in ``out`` (``"whole"``: unsharded; None: merges)."""
    if shard is None:
        return sweep.merge_sweep(CONFIG, out)
    shard = None if shard == "whole" else shard
    return sweep.run_sweep(CONFIG, out, progress=False, shard=shard)


def _shard_command(path: Path, out: Path, shard: str) -> list[str]:
    command = [sys.executable, "-m", "absjax.cli", "sweep", "--config", str(path)]
    return command + ["--out", str(out), "--shard", shard, "--quiet"]


# ------------------------------------------------------------ the partition
@pytest.mark.parametrize("units", [1, UNITS, 13])
def test_shards_partition_the_units_exactly(units):
    for n in range(1, 8):
        owned = [[u for u in range(units) if Shard(i, n).owns(u)] for i in range(n)]
        assert sorted(u for shard in owned for u in shard) == list(range(units))
        assert all(shard == list(range(i, units, n)) for i, shard in enumerate(owned))


def test_shards_overlap_exactly_when_they_share_a_unit():
    for n in range(1, 7):
        for m in range(1, 7):
            for i in range(n):
                for j in range(m):
                    a, b = Shard(i, n), Shard(j, m)
                    shared = any(a.owns(u) and b.owns(u) for u in range(n * m))
                    assert a.overlaps(b) == shared == b.overlaps(a)


@pytest.mark.parametrize("text", ["2/2", "1", "-1/2", "0/0", "a/b", "1/2/3"])
def test_a_bad_shard_exits_2_before_writing(tmp_path, capsys, text):
    path = tmp_path / "sweep.toml"
    path.write_text(TOML)
    out = tmp_path / "out"
    assert (
        cli.main(["sweep", "--config", str(path), "--out", str(out), f"--shard={text}"])
        == 2
    )
    err = capsys.readouterr().err
    assert err == (
        f"absjax: error: shard={text!r} must be i/n with integers 0 <= i < n "
        "(e.g. 0/4)\n"
    )
    assert not out.exists()


def test_shard_and_merge_exclude_each_other(tmp_path, capsys):
    command = ["sweep", "--config", "x.toml", "--out", str(tmp_path / "out")]
    assert cli.main(command + ["--shard", "0/2", "--merge"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


# ------------------------------------------------------- shards, in process
@pytest.mark.parametrize("fmt", FORMATS)
def test_shards_one_after_another_give_the_clean_result(cleans, tmp_path, capsys, fmt):
    path = tmp_path / "sweep.toml"
    path.write_text(BASE + f"format = '{fmt}'\n" + TOML[len(BASE) :])
    out = tmp_path / "sweep"
    results = out / f"results.{fmt}"
    command = ["sweep", "--config", str(path), "--out", str(out)]
    assert cli.main(command + ["--shard", "2/3"]) == 0
    captured = capsys.readouterr()
    assert "shard 2/3" in captured.err and "2/2" in captured.err  # its bar
    assert captured.out == (
        "shard 2/3: its units are done; 6 units of shards 0/3, 1/3 have no part "
        f"yet: the last shard to finish (or absjax sweep --merge) writes {results}\n"
    )
    assert sweep.run_sweep(configured(fmt), out, progress=False, shard="0/3") is None
    assert not results.exists()
    assert len(list((out / "parts").iterdir())) == 5  # units 2, 5 and 0, 3, 6
    assert cli.main(command + ["--shard", "1/3", "--quiet"]) == 0
    assert capsys.readouterr().out == f"wrote {results}\n"
    assert results.read_bytes() == (cleans(fmt) / results.name).read_bytes()


def test_merge_names_the_missing_units_then_writes_the_result(cleans, tmp_path):
    out = tmp_path / "sweep"
    config = configured("parquet")
    assert sweep.run_sweep(config, out, progress=False, shard="0/2") is None
    before = snapshot(out)
    with pytest.raises(cli.UsageError) as e:
        sweep.merge_sweep(config, out)
    assert str(e.value) == (
        "cannot merge: 4 of 8 units have no part yet: unit 1 (point 0, seeds 4-5), "
        "unit 3 (point 1, seeds 4-5), unit 5 (point 2, seeds 4-5), unit 7 (point 3, "
        "seeds 4-5) of shard 1/2; run them first (absjax sweep with the same "
        "--config and --out, and --shard i/n for a shard)"
    )
    assert snapshot(out) == before  # nothing written
    assert sweep.run_sweep(config, out, progress=False, shard="1/2") is not None
    results = out / "results.parquet"
    results.unlink()
    assert sweep.merge_sweep(config, out) == results
    assert results.read_bytes() == (cleans("parquet") / results.name).read_bytes()


def test_merge_of_a_directory_without_a_sweep_is_refused(tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text(TOML)
    out = tmp_path / "none"
    assert cli.main(["sweep", "--config", str(path), "--out", str(out), "--merge"]) == 2
    assert "has no manifest.json: there is nothing to merge" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------- the locks
@pytest.mark.parametrize(
    "running, starting, refused",
    [
        ("whole", "whole", "another sweep is writing to '[^']*'$"),  # as always
        ("1/2", "1/2", r"\(shard 1/2 is running, with units of shard 1/2\)"),
        ("1/2", "whole", r"shard 1/2 is running, with units of this unsharded run"),
        ("whole", "0/3", r"an unsharded run is running, with units of shard 0/3"),
        ("1/2", "3/4", r"shard 1/2 is running, with units of shard 3/4"),
        ("0/2", "1/2", None),
        ("0/2", "1/4", None),
        (None, "1/2", None),  # a merge
        (None, None, r"another --merge is running"),
    ],
)
def test_runs_with_units_in_common_refuse_each_other(
    cleans, tmp_path, running, starting, refused
):
    out = copy(cleans("parquet"), tmp_path)
    held = _hold(out, running)
    try:
        if refused is None:
            assert _start(out, starting) == out / "results.parquet"  # all parts there
        else:
            with pytest.raises(cli.UsageError, match=refused):
                _start(out, starting)
    finally:
        held.close()
    assert sweep.run_sweep(CONFIG, out, progress=False) is not None  # released


def test_leftovers_are_removed_only_where_no_run_can_be_writing_them(cleans, tmp_path):
    out = copy(cleans("parquet"), tmp_path)
    parts = sorted((out / "parts").iterdir())
    leftovers = [
        out / "parts" / f".{parts[1].name}.abc123.tmp",  # unit 1: shard 1/2's
        out / "parts" / f".{parts[0].name}.abc123.tmp",  # unit 0: shard 0/2's
        out / ".results.parquet.abc123.tmp",
        out / ".manifest.json.abc123.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"half")
    held = _hold(out, "0/2")
    try:
        assert sweep.run_sweep(CONFIG, out, progress=False, shard="1/2") is not None
        assert [p.exists() for p in leftovers] == [False, True, True, True]
        sweep.merge_sweep(CONFIG, out)  # not alone: shard 0/2 runs
        assert [p.exists() for p in leftovers] == [False, True, True, True]
    finally:
        held.close()
    sweep.run_sweep(CONFIG, out, progress=False, shard="1/2")  # never others'
    assert [p.exists() for p in leftovers] == [False, True, True, True]
    sweep.merge_sweep(CONFIG, out)  # alone
    assert not any(p.exists() for p in leftovers)


def test_without_file_locks_a_run_warns_and_goes_on(
    cleans, tmp_path, monkeypatch, capsys
):
    out = copy(cleans("csv"), tmp_path)
    (out / "results.csv").unlink()

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert sweep.run_sweep(CONFIG, out, progress=False) == out / "results.csv"
    err = capsys.readouterr().err
    assert re.fullmatch(r"absjax: warning: cannot lock .*/\.lock: .* undetected\n", err)
    assert (out / "results.csv").read_bytes() == (
        cleans("csv") / "results.csv"
    ).read_bytes()


# ------------------------------------------------------- shards, processes
@pytest.mark.slow  # n fresh processes compiling at once: 55-130 s, 2 cores at load 10
@pytest.mark.parametrize("n", [2, 3])
def test_concurrent_shard_processes_fill_one_directory(cleans, tmp_path, jax_env, n):
    path = tmp_path / "sweep.toml"
    path.write_text(TOML)  # no format: parquet
    out = tmp_path / "sweep"  # not there yet: the first shard claims it
    procs = [
        subprocess.Popen(
            _shard_command(path, out, f"{i}/{n}"),
            env=jax_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    assert all(proc.poll() is None for proc in procs)  # all started, none finished
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    said = [stdout for stdout, _ in outputs]
    assert any(line == f"wrote {out / 'results.parquet'}\n" for line in said), said
    clean = cleans("parquet") / "results.parquet"
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "results.parquet"), pd.read_parquet(clean)
    )
    assert (out / "results.parquet").read_bytes() == clean.read_bytes()
    locks = {f".lock-{i}-of-{n}" for i in range(n)}
    assert (
        set(snapshot(out))
        == (set(snapshot(cleans("parquet"))) - {".lock-0-of-1"}) | locks
    )


@pytest.mark.slow  # one fresh process, compiling unless cached: 20 s at load 10
def test_kill_9_of_a_shard_then_its_rerun_gives_the_clean_result(tmp_path, jax_env):
    config = configured("parquet", seeds=40, chunk_seeds=2)  # 20 units
    del config["grid"]
    expected = sweep.run_sweep(config, tmp_path / "clean", progress=False)
    path = tmp_path / "sweep.toml"
    text = BASE.replace("seeds = 6", "seeds = 40").replace("_seeds = 4", "_seeds = 2")
    path.write_text(text + "k = 2\n")
    out = tmp_path / "sweep"
    assert sweep.run_sweep(config, out, progress=False, shard="1/2") is None
    proc = subprocess.Popen(
        _shard_command(path, out, "0/2"), env=jax_env, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while len(list((out / "parts").glob("point-*.parquet"))) <= 10:  # 10 are 1/2's
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no part written in 120 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (out / "results.parquet").exists()
    rerun = sweep.run_sweep(config, out, progress=False, shard="0/2")  # the last
    assert rerun == out / "results.parquet"
    assert (out / "results.parquet").read_bytes() == expected.read_bytes()
