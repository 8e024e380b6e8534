"""The delay model of a cluster (:class:`Delay`) built on the duration laws.

Per-worker speed factors (``SPEED_MODES``), random stragglers, the persistent
(Markov) straggler chain, which draws from its own key stream
``CHAIN_STREAM``, and communication time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from absjax._validate import check_real
from absjax.delays.laws import Law, Params
from absjax.delays.replay import check_rounds
from absjax.delays.traces import Trace
from absjax.protocols import DelayLaw, check_fits

SPEED_MODES = ("none", "sqrt", "random")
# The persistent-straggler chain draws from fold_in(job key, CHAIN_STREAM); slot
# keys fold in small slot indices (< num_workers + K), never this one.
CHAIN_STREAM = 2**31 - 1
# Start-up times draw from fold_in(seed's speed key, STARTUP_STREAM).
STARTUP_STREAM = 2**31 - 3


@dataclasses.dataclass(frozen=True)
class Delay:
    """The duration of one job of worker ``i``: the delay model of a cluster.

    ``duration = speed_i * compute * (straggler_factor if straggling else 1)
    * (markov_factor if slow else 1) + upload + download``, where ``compute``,
    ``upload`` and ``download`` are independent draws of their laws (a
    :class:`Trace` draws from worker ``i``'s measured durations), a job
    straggles with probability ``straggler_prob`` independently of everything
    else, and ``slow`` is the state of worker ``i``'s persistent-straggler chain.

    **Persistent stragglers** (docs: Concepts > Delay laws,
    docs/concepts.md#concepts-delays): each worker carries a
    two-state Markov chain, normal / slow, that moves once at each of its job
    starts: a normal worker's next job is slow with probability ``p =
    markov_slow``, a slow worker's next job is normal with probability ``q =
    markov_recover``. A worker's first job is slow with the stationary
    probability ``pi = p / (p + q)`` (0 when ``p = 0``), so every job is slow
    with probability ``pi``: the long-run fraction of slow jobs. Slow spells
    last ``1 / q`` jobs on average (geometric), normal spells ``1 / p``, and
    ``P(slow | previous slow) = 1 - q``; ``q = 1 - p`` makes the jobs
    independent (random stragglers again). The chain is the two-state burst
    model of Gilbert ("Capacity of a burst-noise channel", Bell Syst. Tech. J.
    39(5), 1960), here over a worker's jobs. The engine carries the state
    (``SimState.slow``) and draws it with :meth:`chain`. The defaults ``p = 0``
    (never slow) and ``markov_factor = 1`` leave every duration unchanged.

    Attributes
    ----------
    compute : ~absjax.delays.Law
        Law of the computation time of a job.
    upload : ~absjax.delays.Law, optional
        Law of the time to push an update (``None``: instantaneous).
    download : ~absjax.delays.Law, optional
        Law of the time to pull the model (``None``: instantaneous).
    speeds : str or tuple, default 'none'
        Per-worker slowdown factors: ``"none"`` (all 1), ``"sqrt"`` (worker ``i`` is
        ``sqrt(i + 1)`` times slower, Tyurin & Richtarik arXiv 2305.12387), ``"random"``
        (``exp(speed_spread * Z_i)`` drawn once per seed, the "fixed computation
        model"), or a tuple of given factors.
    speed_spread : float, default 0.5
        Log-scale spread of the ``"random"`` speeds.
    straggler_prob : float, default 0.0
        Probability that a job is a random straggler.
    straggler_factor : float, default 1.0
        Slowdown factor of a straggling job.
    markov_slow : float, default 0.0
        ``p``, probability that a normal worker's next job is slow.
    markov_recover : float, default 1.0
        ``q``, probability that a slow worker's next job is normal (default 1: a slow
        spell lasts one job).
    markov_factor : float, default 1.0
        Slowdown factor of the compute time of a slow job.
    startup : ~absjax.delays.Law or tuple of float, optional
        When each worker's first job can finish at the earliest: a law drawn once per
        worker and seed, a tuple of per-worker times, or ``None`` (all 0). Every
        worker pulls ``w_0`` at time 0 and its first update arrives at
        ``startup_i + X`` (a start-up such as launching the process and loading the
        data, spent before the first gradient on ``w_0``), so a late worker's first
        update is stale.
    first_job : ~absjax.delays.Law, optional
        Law of the compute time of a worker's first job (``None``: ``compute``'s),
        e.g. a slower first step (compilation, warm caches).

    Examples
    --------
    >>> from absjax.delays import exponential
    >>> d = Delay(exponential(rate=2.0), straggler_prob=0.1, straggler_factor=5)
    >>> round(float(d.mean(d.params)), 6)  # 0.5 * (0.9 + 0.1 * 5)
    0.7
    >>> d = Delay(exponential(rate=2.0), markov_slow=0.1, markov_recover=0.4,
    ...           markov_factor=3)
    >>> round(float(d.stationary_slow(d.params)), 6)  # 0.1 / (0.1 + 0.4)
    0.2
    >>> round(float(d.mean(d.params)), 6)  # 0.5 * (0.8 + 0.2 * 3)
    0.7
    """

    compute: Law
    upload: Law | None = None
    download: Law | None = None
    speeds: str | tuple[float, ...] = "none"
    speed_spread: float = 0.5
    straggler_prob: float = 0.0
    straggler_factor: float = 1.0
    markov_slow: float = 0.0
    markov_recover: float = 1.0
    markov_factor: float = 1.0
    startup: Law | tuple[float, ...] | None = None
    first_job: Law | None = None

    def __post_init__(self):
        check_fits("compute", self.compute, DelayLaw, "a delay law")
        for name in ("upload", "download"):
            value = getattr(self, name)
            if value is not None:
                check_fits(name, value, DelayLaw, "a delay law or None")
        if isinstance(self.speeds, str):
            if self.speeds not in SPEED_MODES:
                raise ValueError(
                    f"speeds={self.speeds!r} must be one of {SPEED_MODES} "
                    "or a tuple of positive factors"
                )
        else:
            object.__setattr__(self, "speeds", tuple(float(s) for s in self.speeds))
            for s in self.speeds:
                check_real("speeds[i]", s, 0.0, math.inf, strict_low=True)
        _check_modifiers({name: getattr(self, name) for name in MODIFIERS})
        self._check_startup()

    def _check_startup(self) -> None:
        """The start-up time and first-job law."""
        if self.first_job is not None and not isinstance(self.first_job, Law):
            raise ValueError(
                f"first_job={self.first_job!r} must be a delay law or None"
            )
        if self.first_job is not None and isinstance(self.compute, Trace):
            if self.compute.replays:
                raise ValueError(
                    "first_job cannot be combined with a replayed trace: the "
                    "trace's rows already hold the first jobs' durations"
                )
        if self.startup is None or isinstance(self.startup, Law):
            return
        if isinstance(self.startup, str) or not hasattr(self.startup, "__len__"):
            raise ValueError(
                f"startup={self.startup!r} must be a delay law, a tuple of "
                "per-worker times or None"
            )
        times = tuple(float(x) for x in self.startup)
        for i, x in enumerate(times):
            if not (math.isfinite(x) and x >= 0):
                raise ValueError(f"startup[{i}]={x} must be a finite time >= 0")
        object.__setattr__(self, "startup", times)

    def check(self, params: Params) -> None:
        """Check the numbers ``params`` (a point of a grid) against their ranges.

        Parameters
        ----------
        params : dict
            The numbers, as ``params``.

        Raises
        ------
        ValueError
            If a number is outside its range: each law's, and the modifiers'.
        """
        for name, law in self._laws():
            law.check(params[name])
        _check_modifiers({name: float(params[name]) for name in MODIFIERS})
        if self.first_job is not None:
            self.first_job.check(params["first_job"])
        if isinstance(self.startup, Law):
            self.startup.check(params["startup"])

    @property
    def params(self) -> Params:
        """Vmappable numbers: the laws' params, the straggler/speed/chain numbers."""
        p: Params = {
            "compute": self.compute.params,
            "speed_spread": jnp.asarray(self.speed_spread),
            "straggler_prob": jnp.asarray(self.straggler_prob),
            "straggler_factor": jnp.asarray(self.straggler_factor),
            "markov_slow": jnp.asarray(float(self.markov_slow)),
            "markov_recover": jnp.asarray(float(self.markov_recover)),
            "markov_factor": jnp.asarray(float(self.markov_factor)),
        }
        if self.upload is not None:
            p["upload"] = self.upload.params
        if self.download is not None:
            p["download"] = self.download.params
        if self.first_job is not None:
            p["first_job"] = self.first_job.params
        if isinstance(self.startup, Law):
            p["startup"] = self.startup.params
        elif self.startup is not None:
            p["startup"] = jnp.asarray(self.startup)
        return p

    def _laws(self):
        """``(name, law)`` of the laws in use."""
        return [
            (name, law)
            for name in ("compute", "upload", "download")
            if (law := getattr(self, name)) is not None
        ]

    @property
    def homogeneous(self) -> bool:
        """Whether all workers draw from one law (no speeds, no communication,
        no per-worker trace)."""
        per_worker = isinstance(self.compute, Trace) and not self.compute.pooled
        return (
            self.speeds == "none"
            and self.upload is None
            and self.download is None
            and not per_worker
        )

    def check_workers(self, num_workers: int) -> None:
        """Check that given speeds or a per-worker trace match ``num_workers``.

        Parameters
        ----------
        num_workers : int
            N, the simulation's number of workers.

        Raises
        ------
        ValueError
            If given speeds or a per-worker trace do not match ``num_workers``.
        """
        if isinstance(self.startup, tuple) and len(self.startup) != num_workers:
            raise ValueError(
                f"startup has {len(self.startup)} times; it needs one per "
                f"worker (num_workers={num_workers})"
            )
        if isinstance(self.speeds, tuple) and len(self.speeds) != num_workers:
            raise ValueError(
                f"speeds has {len(self.speeds)} factors; it needs one per "
                f"worker (num_workers={num_workers})"
            )
        for name, law in self._laws():
            if isinstance(law, Trace) and not law.pooled:
                if law.workers != num_workers:
                    source = law.path if law.path is not None else "the durations"
                    raise ValueError(
                        f"{name} trace {source} has {law.workers} workers; "
                        f"num_workers={num_workers} needs one column per worker "
                        "(or format=pooled to share all durations)"
                    )

    @property
    def replays(self) -> bool:
        """Whether a law replays a trace in order (it reads job numbers)."""
        return any(isinstance(law, Trace) and law.replays for _, law in self._laws())

    def check_rounds(
        self, rounds: int, k: int, every_worker: bool, draws: int = 1
    ) -> None:
        """Refuses a run that needs more rows than a stopping replay holds.

        The check of ``absjax.delays.replay.check_rounds`` over this delay
        model's laws.

        Parameters
        ----------
        rounds : int
            The rounds of the run, each aggregating at least ``k`` arrivals.
        k : int
            The arrivals each round aggregates at least (K).
        every_worker : bool
            Whether every worker starts one job a round (sync, K-sync).
        draws : int, default 1
            Rows per compute job.

        Raises
        ------
        ValueError
            A replay with ``end="stop"`` whose columns are too short.
        """
        check_rounds(self._laws(), rounds, k, every_worker, draws)

    def startup_times(self, key: jax.Array, params: Params, num_workers: int):
        """Per-worker start-up times, shape ``(num_workers,)``.

        A law's are drawn once per seed from ``fold_in(key, STARTUP_STREAM)``.

        Parameters
        ----------
        key : jax.Array
            The seed's speed key.
        params : dict
            The numbers (``params``).
        num_workers : int
            N.

        Returns
        -------
        jax.Array or None
            ``(num_workers,)`` float, or ``None`` without a start-up.
        """
        if self.startup is None:
            return None
        if not isinstance(self.startup, Law):
            return params["startup"]
        key = jax.random.fold_in(key, STARTUP_STREAM)
        worker = jnp.arange(num_workers)
        return _draw(self.startup, key, params["startup"], (num_workers,), worker)

    def worker_speeds(self, key: jax.Array, params: Params, num_workers: int):
        """Per-worker slowdown factors, shape ``(num_workers,)``.

        Random speeds are drawn once per seed from ``key``.

        Parameters
        ----------
        key : jax.Array
            The seed's speed key.
        params : dict
            The numbers (``params``).
        num_workers : int
            N.

        Returns
        -------
        jax.Array
            ``(num_workers,)`` float.
        """
        if isinstance(self.speeds, tuple):
            return jnp.asarray(self.speeds)
        if self.speeds == "sqrt":
            return jnp.sqrt(jnp.arange(1.0, num_workers + 1.0))
        if self.speeds == "random":
            z = jax.random.normal(key, (num_workers,))
            return jnp.exp(params["speed_spread"] * z)
        return jnp.ones((num_workers,))

    @staticmethod
    def stationary_slow(params: Params) -> jax.Array:
        """``p / (p + q)``: the chain's long-run fraction of slow jobs (0 if
        ``p = 0``).

        Parameters
        ----------
        params : dict
            The numbers (``params``).

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        p, q = params["markov_slow"], params["markov_recover"]
        return jnp.where(p > 0, p / jnp.where(p > 0, p + q, 1.0), 0.0)

    def chain(
        self,
        key: jax.Array,
        params: Params,
        shape: Sequence[int],
        previous: jax.Array | None = None,
    ) -> jax.Array:
        """The persistent-straggler state of jobs starting now (``True``: slow).

        ``previous`` is each worker's state at its previous job (``None``: a
        first job, drawn from the stationary law). ``key`` is the jobs' key,
        the one :meth:`sample` takes; the chain uses its own stream
        ``fold_in(key, CHAIN_STREAM)``, so the other draws do not change.
        With ``markov_slow = 0`` no job is ever slow, and nothing is drawn.

        Parameters
        ----------
        key : jax.Array
            The jobs' key.
        params : dict
            The numbers (``params``).
        shape : sequence of int
            The jobs' shape.
        previous : jax.Array, optional
            Bool, each worker's state at its previous job.

        Returns
        -------
        jax.Array
            Bool of shape ``shape``.
        """

        def draw():
            u = jax.random.uniform(jax.random.fold_in(key, CHAIN_STREAM), shape)
            if previous is None:
                return u < self.stationary_slow(params)
            stay = u >= params["markov_recover"]  # slow -> slow
            fall = u < params["markov_slow"]  # normal -> slow
            return jnp.where(previous, stay, fall)

        return _unless_zero(params["markov_slow"], draw, shape)

    def sample(
        self,
        key: jax.Array,
        params: Params,
        speed: jax.Array,
        steps: int = 1,
        local_duration: str = "sum",
        *,
        worker: jax.Array | None = None,
        slow: jax.Array | None = None,
        job: jax.Array | None = None,
        seed_key: jax.Array | None = None,
        first: bool = False,
    ) -> jax.Array:
        """Draws job durations; the output has the shape of ``speed``.

        A job of ``steps`` local SGD steps computes ``steps`` times: with
        ``local_duration="sum"`` each step's compute time (and straggling) is
        drawn independently and the draws are summed; with ``"scaled"`` one
        draw is multiplied by ``steps``. Upload and download are added once.

        ``worker`` (int, broadcast to ``speed``'s shape) tells a per-worker
        :class:`Trace` whose durations to draw; ``None`` draws pooled. ``slow``
        (bool, the shape of ``speed``) is the jobs' chain state from
        :meth:`chain`: every step of a slow job is ``markov_factor`` slower.

        Parameters
        ----------
        key : jax.Array
            The jobs' key.
        params : dict
            The numbers (``params``).
        speed : jax.Array
            The workers' slowdown factors; its shape is the output's.
        steps : int, default 1
            Local SGD steps per job.
        local_duration : {"sum", "scaled"}
            How the steps' compute times combine.
        worker : jax.Array, optional
            Worker indices, for a per-worker :class:`Trace`.
        slow : jax.Array, optional
            The jobs' chain states.
        job : jax.Array, optional
            Each job's number in its worker's sequence (the shape of ``speed``), for
            a replayed :class:`Trace` (``mode="replay"``); with summed local steps,
            job ``k`` replays the compute rows ``k U, ..., k U + U - 1``.
        seed_key : jax.Array, optional
            The seed's key (a replay's offset).
        first : bool, optional
            Draw the compute time from ``first_job`` when it is set (the initial
            jobs).

        Returns
        -------
        jax.Array
            Durations, ``speed``'s shape.
        """
        key_compute, key_straggle, key_up, key_down = jax.random.split(key, 4)
        shape = jnp.shape(speed)
        draws = steps if local_duration == "sum" else 1
        full = (draws, *shape) if draws > 1 else shape
        order = (job, seed_key)
        if job is not None and draws > 1:
            step = jnp.arange(draws).reshape((draws,) + (1,) * len(shape))
            order = (job * draws + step, seed_key)
        law, law_params = self.compute, params["compute"]
        if first and self.first_job is not None:
            law, law_params = self.first_job, params["first_job"]
        compute = _draw(law, key_compute, law_params, full, worker, order)
        x = speed * compute
        p = params["straggler_prob"]
        straggle = _unless_zero(
            p, lambda: jax.random.bernoulli(key_straggle, p, full), full
        )
        x = jnp.where(straggle, x * params["straggler_factor"], x)
        if slow is not None:
            x = jnp.where(slow, x * params["markov_factor"], x)
        if draws > 1:
            x = jnp.sum(x, axis=0)
        elif steps > 1:
            x = steps * x
        if self.upload is not None:
            up = _draw(
                self.upload, key_up, params["upload"], shape, worker, (job, seed_key)
            )
            x = x + up
        if self.download is not None:
            down = _draw(
                self.download,
                key_down,
                params["download"],
                shape,
                worker,
                (job, seed_key),
            )
            x = x + down
        return x

    @staticmethod
    def _factors(params: Params):
        """``(E[F], E[F^2])`` of the compute slowdown ``F``: a random straggler
        times a slow job, independent in the chain's stationary regime."""
        p, m = params["straggler_prob"], params["straggler_factor"]
        pi, f = Delay.stationary_slow(params), params["markov_factor"]
        first = (1 - p + p * m) * (1 - pi + pi * f)
        second = (1 - p + p * m**2) * (1 - pi + pi * f**2)
        return first, second

    def mean(self, params: Params, speed: float = 1.0) -> jax.Array:
        """Mean duration of a job of a worker with the given speed factor
        (pooled over the workers of a trace; stationary chain).

        Parameters
        ----------
        params : dict
            The numbers (``params``).
        speed : float, default 1.0
            The worker's slowdown factor.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        first, _ = self._factors(params)
        mean = speed * self.compute.mean(params["compute"]) * first
        for name in ("upload", "download"):
            law = getattr(self, name)
            if law is not None:
                mean = mean + law.mean(params[name])
        return mean

    def variance(self, params: Params, speed: float = 1.0) -> jax.Array:
        """Variance of a job's duration (a straggler mixture, plus communication).

        Parameters
        ----------
        params : dict
            The numbers (``params``).
        speed : float, default 1.0
            The worker's slowdown factor.

        Returns
        -------
        jax.Array
            ``()`` float.
        """
        first, second = self._factors(params)
        mu = self.compute.mean(params["compute"])
        moment2 = self.compute.variance(params["compute"]) + mu**2
        s2 = speed**2
        var = s2 * moment2 * second - (speed * mu * first) ** 2
        for name in ("upload", "download"):
            law = getattr(self, name)
            if law is not None:
                var = var + law.variance(params[name])
        return var

    def cdf(self, params: Params, x: jax.typing.ArrayLike, speed: float = 1.0):
        """CDF of a job's duration; needs no communication time (no closed form).

        Parameters
        ----------
        params : dict
            The numbers (``params``).
        x : jax.typing.ArrayLike
            Where to evaluate it.
        speed : float, default 1.0
            The worker's slowdown factor.

        Returns
        -------
        jax.Array
            ``P(duration <= x)``, ``x``'s shape.

        Raises
        ------
        NotImplementedError
            With upload or download time.
        """
        if self.upload is not None or self.download is not None:
            raise NotImplementedError(
                "the CDF of compute + communication time is a "
                "convolution with no closed form here"
            )
        p, m = params["straggler_prob"], params["straggler_factor"]
        pi, f = self.stationary_slow(params), params["markov_factor"]
        x = jnp.asarray(x) / speed
        law, lp = self.compute, params["compute"]
        normal = (1 - p) * law.cdf(lp, x) + p * law.cdf(lp, x / m)
        slow = (1 - p) * law.cdf(lp, x / f) + p * law.cdf(lp, x / (m * f))
        return (1 - pi) * normal + pi * slow


def _unless_zero(probability, draw, shape) -> jax.Array:
    """``draw()``, booleans of ``shape`` that are all ``False`` at
    ``probability`` 0, without drawing them at 0.

    In a compiled program this is a runtime branch (``lax.cond``), not
    structure: a sweep from 0 needs no new program and gives the numbers of
    drawing always, but at 0 no hashes are computed (the timing-only round
    drew the straggler and chain uniforms of every worker every round, 2 of
    its 3 hashes per worker). Under a ``vmap`` over probabilities both
    branches run. A concrete probability (eager calls, the replay of
    :meth:`~absjax.engine.jobs.Jobs.draws`) decides in Python: an eager
    ``lax.cond`` would compile its branches again at every call.
    """
    if not isinstance(probability, jax.core.Tracer):
        return draw() if probability > 0 else jnp.zeros(shape, bool)
    return jax.lax.cond(probability > 0, draw, lambda: jnp.zeros(shape, bool))


def _draw(law: Law, key, params, shape, worker, order=(None, None)):
    """``law``'s draws; a :class:`Trace` also gets the worker indices, and a
    replayed one the ``(job numbers, seed key)`` pair ``order``."""
    if isinstance(law, Trace):
        if law.replays:
            return law.sample(key, params, shape, worker, *order)
        return law.sample(key, params, shape, worker)
    return law.sample(key, params, shape)


# The numbers of a Delay besides its laws' (its params other than the laws).
MODIFIERS = (
    "speed_spread",
    "straggler_prob",
    "straggler_factor",
    "markov_slow",
    "markov_recover",
    "markov_factor",
)


def _check_modifiers(values: dict) -> None:
    """The ranges of the speed, straggler and chain numbers."""
    check_real("speed_spread", values["speed_spread"], 0.0, math.inf)
    check_real("straggler_prob", values["straggler_prob"], 0.0, 1.0 + 1e-12)
    check_real(
        "straggler_factor", values["straggler_factor"], 0.0, math.inf, strict_low=True
    )
    for name in ("markov_slow", "markov_recover"):
        value = values[name]
        number = isinstance(value, int | float | np.number) and not isinstance(
            value, bool
        )
        if not (number and 0.0 <= value <= 1.0):
            raise ValueError(f"{name}={value!r} must be a probability in [0, 1]")
    check_real("markov_factor", values["markov_factor"], 0.0, math.inf, strict_low=True)
