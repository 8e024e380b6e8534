"""The sweep directory: claimed once by its manifest, checked by every later run.

The first run writes ``manifest.json`` (atomically, holding the claim lock of
:mod:`absjax.sweep.shards`, so that of several shards starting together exactly
one writes it and the others check it); every later run checks that the
manifest is this sweep's (fingerprint, absjax version, file format) before it
touches anything. A manifest without ``file_format`` was written by an absjax
that wrote only CSV: such a directory resumes as CSV, fingerprint unchanged.

Temporary files (``.NAME.XXXX.tmp``, left by a killed ``atomic_write``) are
removed only where no live run can be writing them: a shard removes those of
its own units' parts (no other live run writes them); an unsharded run or a
merge that finds no other run here removes them all. A shard leaves the rest,
even when it finds no other lock: on a file system whose locks do not reach
other machines (``localflock``), a shard on another machine may be writing
them.
"""

from __future__ import annotations

import json
from pathlib import Path

from absjax._version import __version__
from absjax.config import UsageError
from absjax.io import atomic_write
from absjax.sweep.grid import FILE_FORMATS, PARTS, Plan
from absjax.sweep.shards import CLAIM

MANIFEST = "manifest.json"


def results_path(out: Path, file_format: str) -> Path:
    """Where the result of a sweep stored as ``file_format`` goes."""
    return Path(out) / f"results.{file_format}"


def nothing_to_merge(out: Path) -> UsageError:
    return UsageError(
        f"{str(out)!r} has no {MANIFEST}: there is nothing to merge; run the "
        "sweep first"
    )


def check_not_foreign(out: Path) -> None:
    """Refuses a directory that is not empty and has no manifest (before any
    file is created in it)."""
    # The manifest is looked for after the listing: a shard starting at the
    # same time writes it before any other file of its own.
    if _foreign(out) and not (out / MANIFEST).exists():
        raise UsageError(
            f"{str(out)!r} is not empty and has no {MANIFEST}: it is not a "
            "sweep directory; pick another --out"
        )


def claim(out: Path, sweep: Plan, asked: str | None, create: bool = True) -> str:
    """Writes the manifest of a new directory, or checks an existing one;
    returns the directory's file format. Call it holding the claim lock.

    Parameters
    ----------
    out : pathlib.Path
        The sweep directory.
    sweep : ~absjax.sweep.Plan
        The sweep that this run runs.
    asked : str or None
        The file format asked for (``None``: the directory's, or Parquet for a new
        directory).
    create : bool, optional
        Whether a missing manifest is written (not for a merge).

    Raises
    ------
    UsageError
        The directory is another sweep's or not a sweep's.
    """
    manifest = out / MANIFEST
    if not manifest.exists():
        if not create:
            raise nothing_to_merge(out)
        check_not_foreign(out)
        file_format = asked or FILE_FORMATS[0]
        text = json.dumps(sweep.manifest(file_format), indent=1) + "\n"
        atomic_write(manifest, lambda tmp: tmp.write_text(text))
        return file_format
    try:
        recorded = json.loads(manifest.read_text())
        fingerprint, version = recorded["fingerprint"], recorded["absjax_version"]
        stored = recorded["file_format"] if "file_format" in recorded else "csv"
        if stored not in FILE_FORMATS:
            raise ValueError(stored)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise UsageError(
            f"{str(manifest)!r} is not a sweep manifest; pick another --out or "
            "delete the directory"
        ) from None
    if fingerprint != sweep.fingerprint:
        raise UsageError(
            f"{str(out)!r} holds a sweep of another configuration (fingerprint "
            f"{str(fingerprint)[:12]}, this one {sweep.fingerprint[:12]}); pick "
            "another --out or delete the directory"
        )
    if version != __version__:
        raise UsageError(
            f"{str(out)!r} holds a sweep made by absjax {version}, this is "
            f"{__version__} (results could differ); pick another --out or delete "
            "the directory"
        )
    if asked is not None and asked != stored:
        raise UsageError(
            f"{str(out)!r} holds a sweep in {stored} files, not {asked}: resume it "
            f"with --format {stored} (or format = {stored!r}, or no format), or "
            "pick another --out"
        )
    return stored


def remove_leftovers(out: Path, own: set[str], everything: bool) -> None:
    """Removes the temporary files that no live run is writing.

    Parameters
    ----------
    out : pathlib.Path
        The sweep directory.
    own : set of str
        Names of the part files of this run's units (their temporaries are leftovers: no
        other run writes them).
    everything : bool
        No other run is here: every temporary file is a leftover.
    """
    doomed = []
    if everything:
        doomed += _temporary(out, MANIFEST) + sorted(out.glob(".results.*.tmp"))
    for tmp in _temporary(out / PARTS, "point-*"):
        if everything or _target(tmp) in own:
            doomed.append(tmp)
    for tmp in doomed:
        tmp.unlink(missing_ok=True)


def _foreign(out: Path) -> bool:
    """Whether ``out`` holds anything but a claim lock and manifest temporaries."""
    ours = {CLAIM, *(p.name for p in _temporary(out, MANIFEST))}
    return any(entry.name not in ours for entry in out.iterdir())


def _temporary(directory: Path, name: str) -> list[Path]:
    """Temporary files that ``atomic_write`` leaves for ``name`` if killed."""
    return sorted(directory.glob(f".{name}.*.tmp"))


def _target(tmp: Path) -> str:
    """The file that a temporary file ``.NAME.XXXX.tmp`` was to become: NAME."""
    return tmp.name[1:].rsplit(".", 2)[0]
