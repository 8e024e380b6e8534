"""Shards of a sweep, and the locks that keep the runs of one directory apart.

Shard ``i/n`` runs the units whose index ``u`` (point-major, as in the
manifest) has ``u % n == i``: round robin, so that the expensive points are
spread over the shards. Shards of one ``n`` are disjoint and cover the units,
so n processes (a Slurm job array, machines sharing a file system) fill one
directory, each part written atomically by exactly one of them.

>>> shard = Shard.parse("1/3")
>>> [u for u in range(8) if shard.owns(u)], str(shard)
([1, 4, 7], '1/3')
>>> shard.overlaps(Shard(1, 6)), shard.overlaps(Shard(0, 6)), shard.overlaps(WHOLE)
(True, False, True)

The locks are ``flock`` locks, which the kernel releases when a process dies
(a ``kill -9`` leaves none behind); their files are empty and stay:

- ``DIR`` itself, shared, for the whole run (older absjax versions held it
  exclusively: a sweep of one of them and this one refuse each other);
- ``DIR/.lock``, exclusive, only while a run claims the directory: checks or
  writes the manifest, takes its shard's lock, looks for other runs and
  removes leftover temporary files (waiting for it takes milliseconds);
- ``DIR/.lock-i-of-n``, exclusive, for the whole run of shard ``i/n`` (an
  unsharded run is shard ``0/1``). A run refuses to start while a run whose
  units overlap its own holds its lock: the same shard twice, an unsharded
  run and any other, or ``i/n`` and ``j/m`` with ``i = j (mod gcd(n, m))``.
  A run takes its own and looks at the others' holding ``DIR/.lock``, so of
  two overlapping runs the later one sees the earlier one's lock;
- ``DIR/.lock-merge``, exclusive, for the whole of an ``absjax sweep --merge``.

A file system without locks (some network file systems) gets a warning, and
the runs go on unguarded: overlapping runs then write the same parts (each
atomically, with the same content) instead of being refused.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import re
import sys
from pathlib import Path

from absjax.config import UsageError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, concurrent sweeps go unnoticed
    fcntl = None

CLAIM = ".lock"  # held while a run claims the directory
MERGE = ".lock-merge"  # held by a --merge
_SHARD_LOCK = re.compile(r"\.lock-(\d+)-of-(\d+)")
# What flock raises where the file system has no locks (EBADF: NFS refuses an
# exclusive lock on a directory, which cannot be opened for writing).
_NO_LOCKS = {errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}


@dataclasses.dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the units ``u`` with ``u % count == index``.

    Parameters
    ----------
    index : int
        ``0 <= index < count``.
    count : int
        ``>= 1``.

    Raises
    ------
    ValueError
        Unless ``0 <= index < count``.

    Examples
    --------
    >>> shard = Shard.parse("1/4")
    >>> shard.owns(5), shard.overlaps(Shard.parse("0/2"))
    (True, False)
    """

    index: int  # 0 <= index < count
    count: int  # >= 1

    def __post_init__(self):
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self} must have 0 <= i < n")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` (0-based ``i``); a one-line ``UsageError`` otherwise.

        Parameters
        ----------
        text : str
            ``"i/n"``.

        Returns
        -------
        ~absjax.sweep.Shard

        Raises
        ------
        UsageError
            Unless ``text`` is ``i/n`` with integers ``0 <= i < n``.
        """
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not match or not int(match[1]) < int(match[2]):
            raise UsageError(
                f"shard={text!r} must be i/n with integers 0 <= i < n (e.g. 0/4)"
            )
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, unit: int) -> bool:
        """Whether unit index ``unit`` is this shard's.

        Parameters
        ----------
        unit : int
            A unit index.

        Returns
        -------
        bool
        """
        return unit % self.count == self.index

    def overlaps(self, other: Shard) -> bool:
        """Whether some unit index belongs to both (Chinese remainder theorem).

        Parameters
        ----------
        other : ~absjax.sweep.Shard
            Another shard.

        Returns
        -------
        bool
        """
        return (self.index - other.index) % math.gcd(self.count, other.count) == 0

    @property
    def lock(self) -> str:
        """The name of this shard's lock file in the sweep directory."""
        return f".lock-{self.index}-of-{self.count}"


WHOLE = Shard(0, 1)  # an unsharded run


def shard_counts(out: Path) -> list[int]:
    """The shard counts ``n > 1`` that runs have used in ``out`` (from the names
    of their lock files), ascending."""
    found = (_SHARD_LOCK.fullmatch(p.name) for p in Path(out).glob(".lock-*-of-*"))
    return sorted({int(m[2]) for m in found if m and int(m[2]) > 1})


class Locks:
    """The locks one run holds on sweep directory ``out``; ``close`` (or the
    end of the ``with`` block, or the process) releases them all."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.guarded = fcntl is not None  # False where the file system has no locks
        self._fds: list[int] = []
        self._mine: set[str] = set()  # names of the lock files this run holds
        self._shard: Shard | None = WHOLE  # None: a merge

    def __enter__(self) -> Locks:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    def directory(self) -> None:
        """Takes the shared lock on the directory (before anything is read)."""
        if fcntl is None:
            return  # (nor can a directory be opened on Windows)
        fd = os.open(self.out, os.O_RDONLY)
        self._fds.append(fd)
        if _flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB) is False:
            raise UsageError(f"another sweep is writing to {str(self.out)!r}")

    def claim(self) -> int:
        """Waits for the claim lock; returns its descriptor, for :meth:`release`."""
        fd = self._open(CLAIM, os.O_RDWR | os.O_CREAT)
        if _flock(fd, fcntl.LOCK_EX if fcntl else 0) is None:
            self._unguarded(CLAIM)
        return fd

    def release(self, fd: int) -> None:
        """Releases the claim lock of descriptor ``fd`` (from :meth:`claim`)."""
        self._fds.remove(fd)
        os.close(fd)  # releases the lock

    def shard(self, shard: Shard) -> None:
        """Takes ``shard``'s lock, refusing while an overlapping run holds its
        own (call it holding the claim lock, so that no two runs check at once).

        Raises
        ------
        UsageError
            Another run of an overlapping shard is running.
        """
        self._shard = shard
        self._take(shard.lock, shard)
        for path in sorted(self.out.glob(".lock-*-of-*")):
            match = _SHARD_LOCK.fullmatch(path.name)
            if match and path.name not in self._mine and self.guarded:
                other = Shard(int(match[1]), int(match[2]))
                if shard.overlaps(other) and _held(path):
                    raise UsageError(self._conflict(other))

    def merge(self) -> None:
        """Takes the lock of a ``--merge`` (one at a time)."""
        self._shard = None
        self._take(MERGE, None)

    def alone(self) -> bool:
        """Whether no other run holds a lock here; call it holding the claim
        lock. Without locks, an unsharded run assumes it is alone (as absjax
        always did), a shard or a merge does not."""
        if not self.guarded:
            return self._shard == WHOLE
        return not any(
            _held(path)
            for path in self.out.glob(".lock-*")
            if path.name not in self._mine and path.name != CLAIM
        )

    def _open(self, name: str, flags: int) -> int:
        fd = os.open(self.out / name, flags, 0o666)
        self._fds.append(fd)
        return fd

    def _take(self, name: str, shard: Shard | None) -> None:
        fd = self._open(name, os.O_RDWR | os.O_CREAT)
        got = _flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if fcntl else 0)
        if got is False:
            raise UsageError(self._conflict(shard))
        if got is None:
            self._unguarded(name)
        self._mine.add(name)

    def _conflict(self, other: Shard | None) -> str:
        text = f"another sweep is writing to {str(self.out)!r}"
        if other is None:
            return f"{text} (another --merge is running)"
        if other == self._shard == WHOLE:
            return text
        mine = "this unsharded run" if self._shard == WHOLE else f"shard {self._shard}"
        theirs = "an unsharded run" if other == WHOLE else f"shard {other}"
        return f"{text} ({theirs} is running, with units of {mine})"

    def _unguarded(self, name: str) -> None:
        if self.guarded and fcntl is not None:
            print(
                f"absjax: warning: cannot lock {self.out / name}: the file system "
                "has no locks; overlapping runs of this sweep go undetected",
                file=sys.stderr,
            )
        self.guarded = False


def _flock(fd: int, operation: int) -> bool | None:
    """True: locked; False: another process holds it; None: no locks here."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, operation)
    except BlockingIOError:
        return False
    except OSError as e:
        if e.errno in _NO_LOCKS:
            return None
        raise
    return True


def _held(path: Path) -> bool:
    """Whether a process holds the (exclusive) lock of the lock file ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        got = _flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return got is False
    finally:
        os.close(fd)  # releases the probe's shared lock
