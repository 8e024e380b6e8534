"""Files written all or nothing, and output folders checked before any work.

Every file absjax writes (CSV rows, sweep parts and manifests, figures,
reports, saved results) goes through :func:`atomic_write` (defined in the leaf
:mod:`absjax._atomic`, re-exported here): a temporary file in the target's
folder, renamed into place, so an interrupted run leaves either the old file
or the new one, never a partial one.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write(folder / "a.txt", lambda tmp: tmp.write_text("done"))
>>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
('done', ['a.txt'])
"""

from __future__ import annotations

import os
from pathlib import Path

from absjax._atomic import atomic_write  # noqa: F401 (public here)
from absjax.config import UsageError


def make_dir(directory: Path) -> None:
    """Creates ``directory`` (and parents); a ``UsageError`` if it cannot be
    created or written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(
            f"cannot create directory {str(directory)!r}: {e.strerror or e}"
        ) from None
    if not os.access(directory, os.W_OK):
        raise UsageError(f"directory {str(directory)!r} is not writable")


def check_out(out: str | None) -> Path | None:
    """Checks, before any simulation, that the file ``out`` can be written."""
    if out is None:
        return None
    path = Path(out)
    if path.is_dir():
        raise UsageError(f"out={out!r} is a directory; give a file path")
    make_dir(path.parent)
    return path
