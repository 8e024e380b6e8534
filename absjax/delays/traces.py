"""Measured job durations replayed as a delay law (:class:`Trace`).

The CSV layouts are read by :mod:`absjax.delays._csv` (shared with
:func:`absjax.fitting.load_trace`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from absjax.delays._csv import read_trace
from absjax.delays.laws import Law, Params

MODES = ("resample", "replay")
ENDS = ("cycle", "stop")
# A seed's replay offset draws from fold_in(seed key, OFFSET_STREAM).
OFFSET_STREAM = 2**31 - 2


@dataclasses.dataclass(frozen=True)
class Trace(Law):
    """Measured job durations, resampled uniformly with replacement or
    replayed in order.

    Per worker (``pooled=False``): a job of worker ``i`` takes one of worker
    ``i``'s measured durations, each with probability ``1 / len(durations[i])``
    (the bootstrap of Efron, "Bootstrap methods: another look at the
    jackknife", Ann. Statist. 7(1), 1979); the trace then needs exactly one
    column per worker of the simulation (:meth:`Delay.check_workers`).
    Pooled: every job of every worker takes one of all the durations, so a
    pooled trace fits any number of workers. Draws without worker indices
    (``sample(key, params, shape)``) are pooled.

    ``mean``, ``variance`` and ``cdf`` are those of the pooled empirical
    distribution (every measured duration weighs ``1 / total``): with equally
    long columns, the law of a job of a uniformly chosen worker. The numbers
    live in ``params`` as a ``(workers, max_len)`` table padded with zeros and
    the ``(workers,)`` int32 column lengths: part of the params, never gridded.

    Build one from arrays (``Trace([w0, w1, ...])``, or a 1-D array for a
    pooled list) or from a CSV file with :meth:`from_csv` or the SPEC
    ``"trace:path=FILE,format=auto|wide|long|pooled"`` (layouts:
    :func:`absjax.fitting.load_trace`).

    **Replay** (``mode="replay"``, a per-worker trace): worker ``i``'s
    ``k``-th job (``k = 0, 1, ...``, counting every job it starts, cancelled
    ones included) takes the duration in row ``o + k`` of column ``i``, in
    file order, where ``o`` is the seed's offset: ``start`` for every seed,
    or with ``start=None`` (the default) one offset per seed, uniform in
    ``[0, min_i len(durations[i]))`` and shared by all columns, so that seeds
    still differ. With one worker per arrival (async) the update times are
    then the merged per-worker cumulative sums of the columns. Past the end
    of a column, ``end="cycle"`` wraps around to its first row; with
    ``end="stop"`` the job never finishes (its duration is ``inf``: the
    worker has no more measured jobs), so a round that needs it ends at time
    ``inf``. :meth:`absjax.delays.Delay.check_rounds` refuses runs that
    certainly need more rows than a column holds; :meth:`absjax.Simulator.run`
    warns about the seeds that ran out. With ``U`` local steps whose
    durations are summed, a job takes ``U`` consecutive rows.

    Attributes
    ----------
    durations : sequence of sequence of float
        One tuple of durations (``>= 0``, finite) per worker, or one in all for a pooled
        trace.
    pooled : bool, optional
        Whether all jobs draw from all durations; ``None`` (the default) means pooled
        exactly when ``durations`` is a flat list.
    path : str, optional
        The file it was read from (``None`` for arrays).
    format : str, default 'auto'
        The ``format`` it was read with.
    mode : {"resample", "replay"}
        ``"resample"`` (i.i.d. draws) or ``"replay"`` (in order).
    end : {"cycle", "stop"}
        A replay past a column's end.
    start : int, optional
        The row at which every seed's replay starts (``None``: a random offset per
        seed); a swept number (``delay.compute.start``, ``-1`` for random).

    Examples
    --------
    >>> law = Trace([[1.0, 3.0], [2.0]])
    >>> law.workers, float(law.mean(law.params))  # (1 + 3 + 2) / 3
    (2, 2.0)
    >>> import jax.numpy as jnp
    >>> x = law.sample(jax.random.key(0), law.params, (4,), worker=jnp.ones(4, int))
    >>> x.tolist()  # worker 1 has only 2.0
    [2.0, 2.0, 2.0, 2.0]
    >>> law = Trace([[1.0, 3.0], [2.0, 5.0]], mode="replay", start=0)
    >>> job = jnp.array([0, 1, 2, 3])  # worker 0's first four jobs (cycled)
    >>> law.sample(None, law.params, (4,), worker=jnp.zeros(4, int), job=job).tolist()
    [1.0, 3.0, 1.0, 3.0]
    """

    durations: Any = dataclasses.field(repr=False)
    pooled: bool | None = None
    path: str | None = None
    format: str = "auto"
    mode: str = "resample"
    end: str = "cycle"
    start: int | None = None
    name: ClassVar[str] = "trace"

    def __post_init__(self):
        where = self.path if self.path is not None else "durations"
        data = self.durations
        if isinstance(data, str | bytes) or not hasattr(data, "__len__"):
            raise ValueError(
                f"{where}: durations must be a list of durations or one list per worker"
            )
        if len(data) == 0:
            raise ValueError(f"{where}: durations must hold at least one duration")
        if isinstance(data, np.ndarray):
            flat = data.ndim == 1
        else:
            flat = all(np.ndim(x) == 0 for x in data)
        columns = [data] if flat else list(data)
        values = []
        for i, column in enumerate(columns):
            name = f"durations[{i}]" if not flat else "durations"
            try:
                x = np.asarray(column, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{where}: {name} must hold numbers") from None
            if x.ndim != 1 or x.size == 0:
                raise ValueError(
                    f"{where}: {name} must be a non-empty 1-D list of durations; "
                    f"got shape {x.shape}"
                )
            bad = np.flatnonzero(~np.isfinite(x) | (x < 0))
            if bad.size:
                j = int(bad[0])
                raise ValueError(
                    f"{where}: {name}[{j}]={float(x[j])!r} must be a finite "
                    "duration >= 0"
                )
            values.append(x)
        pooled = flat if self.pooled is None else bool(self.pooled)
        if pooled and len(values) > 1:
            values = [np.concatenate(values)]
        object.__setattr__(self, "durations", tuple(tuple(x.tolist()) for x in values))
        object.__setattr__(self, "pooled", pooled)
        self._check_replay(where)

    def _check_replay(self, where: str) -> None:
        """The replay options' values."""
        if self.mode not in MODES:
            raise ValueError(f"{where}: mode={self.mode!r} must be one of {MODES}")
        if self.end not in ENDS:
            raise ValueError(f"{where}: end={self.end!r} must be one of {ENDS}")
        if self.mode == "resample":
            if self.end != "cycle" or self.start is not None:
                raise ValueError(
                    f"{where}: end= and start= apply to mode='replay' only"
                )
            return
        if self.pooled:
            raise ValueError(
                f"{where}: mode='replay' needs one column per worker (a wide or "
                "long trace); a pooled list has no per-worker order"
            )
        if self.start is not None:
            shortest = min(len(x) for x in self.durations)
            if isinstance(self.start, bool) or not (
                isinstance(self.start, int | np.integer) and 0 <= self.start < shortest
            ):
                raise ValueError(
                    f"{where}: start={self.start!r} must be an integer in "
                    f"[0, {shortest - 1}] (the shortest column's rows), or None "
                    "for a random offset per seed"
                )
            object.__setattr__(self, "start", int(self.start))

    @classmethod
    def from_csv(
        cls,
        path,
        format: str = "auto",
        mode: str = "resample",
        end: str = "cycle",
        start: int | None = None,
    ) -> Trace:
        """Reads a trace file (:func:`absjax.fitting.load_trace`'s layouts).

        ``format``: ``"auto"`` (detected; a single-column list is pooled),
        ``"wide"``, ``"long"`` or ``"pooled"`` (any layout, all durations
        pooled); ``mode``, ``end`` and ``start`` as for :class:`Trace`.

        Parameters
        ----------
        path : str or pathlib.Path
            The CSV file.
        format : {"auto", "wide", "long", "pooled"}
            Its layout.
        mode, end, start
            As for :class:`Trace`.

        Returns
        -------
        ~absjax.delays.Trace

        Raises
        ------
        ValueError
            For a file that cannot be read as a trace (the message names it).
        """
        columns, pooled = read_trace(path, None, format)
        return cls(
            tuple(columns),
            pooled=pooled,
            path=str(path),
            format=format,
            mode=mode,
            end=end,
            start=start,
        )

    def __repr__(self):
        lengths = tuple(len(x) for x in self.durations)
        return (
            f"Trace(workers={self.workers}, lengths={lengths}, "
            f"pooled={self.pooled}, path={self.path!r}{self._replay_repr()})"
        )

    def _replay_repr(self) -> str:
        if self.mode == "resample":
            return ""
        return f", mode='replay', end={self.end!r}, start={self.start!r}"

    @property
    def replays(self) -> bool:
        """Whether jobs take the durations in order (``mode="replay"``)."""
        return self.mode == "replay"

    @property
    def workers(self) -> int:
        """Number of workers (columns); 1 for a pooled trace."""
        return len(self.durations)

    @functools.cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.array([len(x) for x in self.durations], dtype=np.int32)
        table = np.zeros((len(lengths), int(lengths.max())))
        for i, x in enumerate(self.durations):
            table[i, : len(x)] = x
        return table, lengths

    @property
    def params(self) -> Params:
        table, lengths = self._table
        params = {"table": jnp.asarray(table), "lengths": jnp.asarray(lengths)}
        if self.replays:
            start = -1 if self.start is None else self.start
            params["start"] = jnp.asarray(start, jnp.int32)
        return params

    def check(self, params: Params) -> None:
        table = np.asarray(params["table"], dtype=np.float64)
        lengths = np.asarray(params["lengths"])
        if np.any(lengths < 1) or np.any(lengths > table.shape[-1]):
            raise ValueError(
                f"trace lengths={lengths.tolist()} must be in [1, {table.shape[-1]}]"
            )
        mask = np.arange(table.shape[-1]) < lengths[..., None]
        if not np.all(np.isfinite(table[mask]) & (table[mask] >= 0)):
            raise ValueError("trace table must hold finite durations >= 0")
        if self.replays:
            start, shortest = int(params["start"]), int(lengths.min())
            if not -1 <= start < shortest:
                raise ValueError(
                    f"trace start={start} must be in [0, {shortest - 1}] (the "
                    "shortest column's rows), or -1 for a random offset per seed"
                )

    def offset(self, seed_key: jax.Array, params: Params) -> jax.Array:
        """The row at which a seed's replay starts.

        Parameters
        ----------
        seed_key : jax.Array
            The seed's key.
        params : dict
            The trace's numbers.

        Returns
        -------
        jax.Array
            ``()`` int32: ``params["start"]``, or when it is ``-1`` a uniform draw in
            ``[0, min(lengths))`` from ``fold_in(seed_key, OFFSET_STREAM)``.
        """
        lengths, start = params["lengths"], params["start"]
        key = jax.random.fold_in(seed_key, OFFSET_STREAM)
        random = jax.random.randint(key, (), 0, jnp.min(lengths))
        return jnp.where(start >= 0, start, random).astype(jnp.int32)

    def replay(self, params: Params, worker, position) -> jax.Array:
        """The durations at given rows of given columns.

        Parameters
        ----------
        params : dict
            The trace's numbers.
        worker : jax.Array
            The columns (broadcast to ``position``).
        position : jax.Array
            The rows (int, any shape); past a column's end as ``end`` says.

        Returns
        -------
        jax.Array
            Durations of ``position``'s shape.
        """
        table, lengths = params["table"], params["lengths"]
        row = jnp.broadcast_to(jnp.asarray(worker), jnp.shape(position))
        length = lengths[row]
        if self.end == "cycle":
            return table[row, position % length]
        inside = position < length
        return jnp.where(inside, table[row, jnp.minimum(position, length - 1)], jnp.inf)

    def sample(self, key, params, shape, worker=None, job=None, seed_key=None):
        """Draws of the given shape; ``worker`` (broadcast to ``shape``) picks
        each draw's column, ``None`` (or a pooled trace) draws from all.

        A replay takes no random draw but the rows ``offset + job``.

        Parameters
        ----------
        key : jax.Array
            A typed PRNG key.
        params : dict
            The trace's numbers (``table`` and ``lengths``).
        shape : sequence of int
            The shape of the draws.
        worker : jax.Array, optional
            Worker indices, broadcast to ``shape``.
        job : jax.Array, optional
            A replay's jobs' numbers in their workers' sequences, broadcast to
            ``shape``.
        seed_key : jax.Array, optional
            The seed's key, which gives a replay's offset (:meth:`offset`; ``None``
            with a given ``start``: start there).

        Returns
        -------
        jax.Array
            Durations of shape ``shape``.
        """
        table, lengths = params["table"], params["lengths"]
        if self.replays:
            if worker is None or job is None:
                raise ValueError(
                    "a replayed trace needs each job's worker and job number"
                )
            if seed_key is None:
                offset = jnp.maximum(params["start"], 0)
            else:
                offset = self.offset(seed_key, params)
            position = jnp.broadcast_to(jnp.asarray(job), shape) + offset
            return self.replay(params, worker, position)
        if worker is None or self.pooled:
            ends = jnp.cumsum(lengths)
            flat = jax.random.randint(key, shape, 0, ends[-1])
            row = jnp.searchsorted(ends, flat, side="right")
            col = flat - (ends - lengths)[row]
        else:
            row = jnp.broadcast_to(jnp.asarray(worker), shape)
            col = jax.random.randint(key, shape, 0, lengths[row])
        return table[row, col]

    @staticmethod
    def _mask(params):
        table, lengths = params["table"], params["lengths"]
        mask = jnp.arange(table.shape[-1]) < lengths[..., None]
        return table, mask, jnp.sum(lengths)

    def mean(self, params):
        table, mask, total = self._mask(params)
        return jnp.sum(jnp.where(mask, table, 0.0), axis=(-2, -1)) / total

    def variance(self, params):
        table, mask, total = self._mask(params)
        mean = self.mean(params)[..., None, None]
        centred = jnp.where(mask, table - mean, 0.0)
        return jnp.sum(centred**2, axis=(-2, -1)) / total

    def cdf(self, params, x):
        table, mask, total = self._mask(params)
        x = jnp.asarray(x)[..., None, None]
        return jnp.sum(mask & (table <= x), axis=(-2, -1)) / total

    def spec(self) -> str:
        if self.path is None:
            raise ValueError(
                "a Trace built from arrays has no SPEC: write it to a CSV file "
                "and use 'trace:path=FILE'"
            )
        extra = f",format={self.format}" if self.format != "auto" else ""
        if self.replays:
            extra += f",mode=replay,end={self.end}"
            extra += f",start={self.start}" if self.start is not None else ""
        return f"{self.name}:path={self.path}{extra}"


trace = Trace
