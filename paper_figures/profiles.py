"""Profiles: the size of every experiment of the reproduction.

``tiny`` is what the test suite runs (seconds of compute, little compile);
``quick`` (the default) is sized for 10 minutes on a 2-core CPU, compile
included; ``full`` is sized for one GPU (more workers, the CIFAR-10 CNN of the
ABS group, many more seeds). Why each number is what it is: README.md.

**Time.** The main comparisons draw every local step's compute time from an
exponential law of rate 1 (the ABS group's model,
docs/concepts.md#concepts-reproduction), so one unit of simulated time is the
mean duration of one step; a job of U local steps lasts the sum of its U
draws. The phase map's laws (:data:`TAILS`) all have mean 1 too.
"""

from __future__ import annotations

import dataclasses
import math

MAIN_DELAY = "exp:rate=1"  # per-step compute time of the main comparisons

# The phase map's tail axis, from light to heavy; every law has mean 1.
TAILS = {
    "exponential": "shifted_exp:shift=0,rate=1",
    "shifted exp.": "shifted_exp:shift=0.5,rate=2",
    "Pareto a=4": "pareto:scale=0.75,alpha=4",
    "Pareto a=2.5": "pareto:scale=0.6,alpha=2.5",
    "Pareto a=1.5": "pareto:scale=0.333333333,alpha=1.5",
}


def geometric(low: float, high: float, count: int) -> tuple[float, ...]:
    """``count`` learning rates spaced geometrically from ``low`` to ``high``
    (rounded to 4 significant digits, so that tables read well)."""
    if count == 1:
        return (low,)
    ratio = (high / low) ** (1.0 / (count - 1))
    return tuple(float(f"{low * ratio**i:.4g}") for i in range(count))


@dataclasses.dataclass(frozen=True)
class Setting:
    """The tuning grids of one setting (every method of it gets
    ``len(lr_grid) * len(u_grid) * len(k_grid)`` configurations).

    ``k0_grid``: K^0 of ABS, AdaSync and SA-AdaSync; ``k_grid``: K of K-sync
    (gradient setting) or of local SGD (local-update setting; K = N is plain
    local SGD); ``u_grid``: the local steps U of every method ((1,) in the
    gradient setting). Methods without a knob (sync, async) get a geometric
    learning-rate grid over the same range with as many points
    (:meth:`fine_lr_grid`).
    """

    lr_grid: tuple[float, ...]
    k0_grid: tuple[int, ...]
    k_grid: tuple[int, ...]
    u_grid: tuple[int, ...] = (1,)

    def __post_init__(self):
        if len(self.k0_grid) != len(self.k_grid):
            raise ValueError("k0_grid and k_grid must have the same size (fairness)")

    @property
    def configurations(self) -> int:
        return len(self.lr_grid) * len(self.u_grid) * len(self.k_grid)

    def fine_lr_grid(self) -> tuple[float, ...]:
        return geometric(min(self.lr_grid), max(self.lr_grid), self.configurations)


@dataclasses.dataclass(frozen=True)
class NoisyQuadratic:
    """The phase map's cheap objective (``phasemap.objective``): one fast
    direction of curvature 1 and ``dim - 1`` slow ones of curvature ``slow``,
    gradient noise ``noise``. Hashable, so that a ``PhaseMap`` can key the
    cache of compiled programs."""

    dim: int
    noise: float
    slow: float

    def __str__(self) -> str:
        return f"dim={self.dim}, noise={self.noise:g}, slow curvature={self.slow:g}"


@dataclasses.dataclass(frozen=True)
class PhaseMap:
    """The phase map (where ABS wins): ABS against the best baseline of the
    gradient setting on ``objective`` over ``workers`` x ``tails`` (names in
    :data:`TAILS`) x ``spreads`` (log-speed spread of the workers, see
    ``phasemap.py``). Every method is tuned per cell on ``lr_grid`` x
    ``k_fractions`` (K^0 or K = max(1, round(f N))); sync and async get
    ``len(lr_grid) * len(k_fractions)`` learning rates over the same range.
    ``horizon``: the wall-clock budget; ``t0``: the AdaSync period; the
    target is ``target_fraction`` of the initial loss in every cell. A row is
    logged every round (the objective's loss costs nothing)."""

    workers: tuple[int, ...]
    tails: tuple[str, ...]
    spreads: tuple[float, ...]
    objective: NoisyQuadratic
    horizon: float
    t0: float
    lr_grid: tuple[float, ...]
    k_fractions: tuple[float, ...]
    tune_seeds: int
    eval_seeds: int
    target_fraction: float = 0.2  # target loss = this fraction of L0
    resolution: float = 0.05  # wall-clock grid of the time to target
    chunk_seeds: int | None = None  # default: half a block (two CPU devices)

    @property
    def chunk(self) -> int:
        return self.chunk_seeds or max(1, self.tune_seeds // 2)

    def k_grid(self, n: int) -> tuple[int, ...]:
        return tuple(max(1, min(n, round(f * n))) for f in self.k_fractions)

    def fine_lr_grid(self) -> tuple[float, ...]:
        count = len(self.lr_grid) * len(self.k_fractions)
        return geometric(min(self.lr_grid), max(self.lr_grid), count)


@dataclasses.dataclass(frozen=True)
class Profile:
    """The numbers of one profile (see the module docstring).

    Main comparisons (the gradient and local-update settings): ``workers`` N,
    per-step delays :data:`MAIN_DELAY`, the network ``network`` on the
    digits (``kind`` "mlp" or "cnn" plus ``absjax.networks`` fields;
    ``cifar_network`` with ``--cifar10``), a wall-clock budget ``horizon``
    (every round of a run is logged; times to the target are read on a
    wall-clock grid of step ``resolution``), the grids ``gradient`` and
    ``local``, the AdaSync period ``t0`` (ABS, AdaSync, SA-AdaSync) and ABS's
    staleness factor ``kappa``. ``tune_seeds`` (one block, vmapped in chunks
    of ``chunk``) pick each configuration; ``eval_seeds`` (other seed
    indices, a multiple of the block) measure it.

    ``delay`` (a delay SPEC of absjax, ``--delay``) and ``workers``
    (``--workers``) can be changed with :func:`customise`, which keeps every
    other choice and measures time in mean steps of the new law.

    Readings ablation: every reading of ``readings`` and a stricter target
    (``strict_progress``) in the settings ``ablation_settings``, and the
    non-i.i.d. data ``splits`` (Dirichlet with ``dirichlet_alpha``) in the
    settings ``split_settings``, each re-tuned on the same grids and seeds.
    """

    name: str
    workers: int
    network: dict
    cifar_network: dict
    horizon: float
    t0: float
    gradient: Setting
    local: Setting
    tune_seeds: int
    eval_seeds: int
    bootstrap: int
    phase: PhaseMap
    theory_workers: int
    theory_rounds: int
    theory_seeds: int
    readings: tuple[str, ...] = ("loss_ratio", "exp_delay_root", "frozen", "distance")
    splits: tuple[str, ...] = ("label-shards", "dirichlet")
    ablation_settings: tuple[str, ...] = ("gradient", "local")
    split_settings: tuple[str, ...] = ("gradient", "local")
    strict_progress: float | None = 0.99
    dirichlet_alpha: float = 0.3
    kappa: float = 1.0
    target_progress: float = 0.9  # see tuning.target_loss
    chunk_seeds: int | None = None
    delay: str = MAIN_DELAY  # per-step delay SPEC (``--delay``)
    time_scale: float = 1.0  # mean step time of ``delay`` (horizon, t0 scaled)
    resolution: float = 0.05  # wall-clock grid of the time to target

    @property
    def chunk(self) -> int:
        """Seeds vmapped together: half a block, so that a block fills two
        CPU devices (numbers do not depend on the number of devices)."""
        return self.chunk_seeds or max(1, self.tune_seeds // 2)

    def __post_init__(self):
        if self.eval_seeds % self.tune_seeds:
            raise ValueError("eval_seeds must be a multiple of tune_seeds (a block)")
        if self.phase.eval_seeds % self.phase.tune_seeds:
            raise ValueError("phase eval_seeds must be a multiple of its tune_seeds")
        if self.local.u_grid == (1,) or self.gradient.u_grid != (1,):
            raise ValueError("the gradient setting has U = 1, the local one U > 1")
        if max(self.local.k_grid) != self.workers:
            raise ValueError("local SGD's K grid must hold N (plain local SGD)")


def scaled_k_grid(grid: tuple[int, ...], n0: int, n: int) -> tuple[int, ...]:
    """``grid`` (K values for ``n0`` workers) for ``n`` workers: each K scaled
    by ``n / n0`` and rounded into ``[1, n]``; a value that collides with an
    earlier one moves to the nearest unused K, so that the grid keeps its size
    (every method keeps the same number of configurations)."""
    if len(grid) > n:
        raise ValueError(f"a K grid of {len(grid)} values needs N >= {len(grid)}")
    out: list[int] = []
    for k in grid:
        want = max(1, min(n, round(k * n / n0)))
        free = [c for c in range(1, n + 1) if c not in out]
        out.append(min(free, key=lambda c: (abs(c - want), -c)))
    return tuple(sorted(out))


def customise(profile: Profile, delay: str | None, workers: int | None) -> Profile:
    """``profile`` with another per-step delay SPEC and/or number of workers
    (``--delay``, ``--workers``). The budget and the AdaSync period are in
    mean steps: both are multiplied by the new law's mean (pooled mean for a
    trace); the K grids are scaled with N (:func:`scaled_k_grid`), the
    largest K of local SGD staying N (plain local SGD). The phase map keeps
    its own tails and N (it is the study of those axes); theory too."""
    from absjax import delays

    changes: dict = {}
    if delay is not None:
        law = delays.as_delay(delay)
        mean = float(law.mean(law.params))
        if not (math.isfinite(mean) and mean > 0):
            raise ValueError(f"delay={delay!r} must have a finite mean > 0")
        scale = mean / profile.time_scale
        changes.update(
            delay=delay,
            time_scale=mean,
            horizon=profile.horizon * scale,
            t0=profile.t0 * scale,
            resolution=profile.resolution * scale,
        )
    if workers is not None and workers != profile.workers:
        n0 = profile.workers
        g, loc = profile.gradient, profile.local
        changes.update(
            workers=workers,
            gradient=dataclasses.replace(
                g,
                k0_grid=scaled_k_grid(g.k0_grid, n0, workers),
                k_grid=scaled_k_grid(g.k_grid, n0, workers),
            ),
            local=dataclasses.replace(
                loc,
                k0_grid=scaled_k_grid(loc.k0_grid, n0, workers),
                k_grid=scaled_k_grid(loc.k_grid, n0, workers),
            ),
        )
    return dataclasses.replace(profile, **changes)


PROFILES = {
    "tiny": Profile(
        name="tiny",
        workers=4,
        network=dict(kind="mlp", hidden=(8,), batch=8, eval_samples=256),
        cifar_network={},
        horizon=12.0,
        t0=3.0,
        gradient=Setting(lr_grid=(0.3,), k0_grid=(1,), k_grid=(2,)),
        local=Setting(lr_grid=(0.3,), k0_grid=(1,), k_grid=(4,), u_grid=(2,)),
        tune_seeds=4,
        eval_seeds=8,
        bootstrap=200,
        phase=PhaseMap(
            workers=(4,),
            tails=("exponential", "Pareto a=2.5"),
            spreads=(0.0, 1.0),
            objective=NoisyQuadratic(dim=4, noise=0.5, slow=0.1),
            horizon=8.0,
            t0=2.0,
            lr_grid=(0.3,),
            k_fractions=(0.25,),
            tune_seeds=4,
            eval_seeds=4,
        ),
        theory_workers=4,
        theory_rounds=40,
        theory_seeds=8,
        readings=("loss_ratio", "frozen", "distance"),
        splits=("label-shards",),
        ablation_settings=("gradient",),
        split_settings=("gradient",),
    ),
    "quick": Profile(
        name="quick",
        workers=8,
        network=dict(kind="mlp", hidden=(32,), batch=8, eval_samples=256),
        cifar_network={},
        horizon=60.0,
        t0=3.0,
        gradient=Setting(
            lr_grid=geometric(0.05, 0.8, 4), k0_grid=(1, 2, 4), k_grid=(1, 2, 4)
        ),
        local=Setting(
            lr_grid=geometric(0.05, 0.5, 3),
            k0_grid=(1, 4),
            k_grid=(4, 8),
            u_grid=(2, 8),
        ),
        tune_seeds=8,
        eval_seeds=96,
        bootstrap=2000,
        phase=PhaseMap(
            workers=(8, 16),
            tails=tuple(TAILS),
            spreads=(0.0, 1.0),
            objective=NoisyQuadratic(dim=20, noise=0.5, slow=0.1),
            horizon=20.0,
            t0=1.0,
            lr_grid=geometric(0.08, 1.0, 3),
            k_fractions=(0.125, 0.5),
            tune_seeds=8,
            eval_seeds=16,
        ),
        theory_workers=8,
        theory_rounds=400,
        theory_seeds=32,
        split_settings=("gradient",),
    ),
    "full": Profile(
        name="full",
        workers=20,
        network=dict(
            kind="cnn",
            channels=(64, 64),
            kernel=3,
            padding="same",
            fc=(384, 192),
            batch=100,
            eval_samples=1437,
        ),
        cifar_network=dict(
            kind="cnn",
            channels=(64, 64),
            kernel=5,
            padding="valid",
            fc=(384, 192),
            batch=100,
            eval_samples=2000,
            test_samples=2000,
        ),
        horizon=150.0,
        t0=7.5,
        gradient=Setting(
            lr_grid=geometric(0.02, 0.32, 4),
            k0_grid=(1, 4, 10),
            k_grid=(2, 5, 10),
        ),
        local=Setting(
            lr_grid=geometric(0.02, 0.2, 3),
            k0_grid=(2, 10),
            k_grid=(10, 20),
            u_grid=(2, 8),
        ),
        tune_seeds=64,
        eval_seeds=1024,
        bootstrap=10000,
        chunk_seeds=64,  # one GPU: a whole block in one vmapped chunk
        phase=PhaseMap(
            workers=(8, 16, 32, 64),
            tails=tuple(TAILS),
            spreads=(0.0, 0.25, 0.5, 1.0, 1.5),
            objective=NoisyQuadratic(dim=20, noise=0.5, slow=0.1),
            horizon=60.0,
            t0=3.0,
            lr_grid=geometric(0.1, 1.0, 3),
            k_fractions=(0.125, 0.25, 0.5),
            tune_seeds=64,
            eval_seeds=256,
            chunk_seeds=64,
        ),
        theory_workers=16,
        theory_rounds=2000,
        theory_seeds=512,
    ),
}
