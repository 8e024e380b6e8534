"""JAX's persistent compilation cache, on by default for the command line.

A compiled simulation is stored on disk, keyed by the program and the jax
version, so a second ``absjax simulate``, ``sweep``, ``demo`` or ``figures``
with the same structure skips the compile (numbers never change: the cache
holds compiled code, not results). The folder is ``$ABSJAX_COMPILE_CACHE`` if
set (``off`` turns the cache off), else ``$XDG_CACHE_HOME/absjax/jax``, else
``~/.cache/absjax/jax``; the commands also take ``--no-compile-cache``. The
library itself never turns it on: call :func:`enable` from a script.

>>> enable(None) is None  # None: the cache stays off
True
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jax

ENV = "ABSJAX_COMPILE_CACHE"
_OFF = ("", "0", "off", "no", "false", "none")


def default_directory() -> Path | None:
    """The cache folder the commands use (``None``: off), see the module doc."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "absjax" / "jax"


def enable(directory: str | Path | None = "auto") -> Path | None:
    """Turns JAX's persistent compilation cache on in ``directory``
    (``"auto"``: :func:`default_directory`; ``None``: leaves it off) and
    returns the folder used. A folder that cannot be created leaves the cache
    off with a warning on stderr: a cache is never a reason to fail a run."""
    if directory == "auto":
        directory = default_directory()
    if directory is None:
        return None
    path = Path(directory).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"absjax: warning: no compilation cache ({e})", file=sys.stderr)
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    # Cache every simulation program, however quick its compile was.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path
