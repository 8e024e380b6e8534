"""Profiles: the size of every experiment of the reproduction.

``tiny`` is what the test suite runs (seconds of compute, little compile);
``quick`` (the default) fits in 10 minutes on a 2-core CPU, compile included;
``full`` is paper scale (at least 1000 evaluation seeds per method, longer
horizons), meant for a GPU.

Every delay law has mean 1, so one unit of simulated time is the mean duration
of one job (compute plus communication): ``exp`` with rate 1, ``shifted_exp``
with shift 0.5 and rate 2 (Lee et al., arXiv 1512.02673; Dutta et al., arXiv
1803.01113) and ``pareto`` with ``alpha = 2`` (infinite variance) and scale
0.5 (a heavy tail).
"""

from __future__ import annotations

import dataclasses

DELAYS = {
    "exponential": "exp:rate=1",
    "shifted exponential": "shifted_exp:shift=0.5,rate=2",
    "Pareto": "pareto:scale=0.5,alpha=2",
}
MAIN_DELAY = "shifted exponential"


@dataclasses.dataclass(frozen=True)
class Profile:
    """The numbers of one profile (see the module docstring).

    Main comparison (figures 1-4 and the claims): ``workers`` N, the delay law
    ``DELAYS[MAIN_DELAY]``, an MLP on a synthetic data set (``network`` are
    ``absjax.networks.MLP`` fields; ``cnn`` those of the CIFAR-10 CNN used when
    the user gives ``--cifar10``), a wall-clock budget ``horizon`` with about
    ``logs`` logged rows per run, and the tuning grids: one learning-rate grid
    for every method and one grid of the same size for each method's knob
    (``k_grid`` for K^0 of ABS, AdaSync and SA-AdaSync and for K of K-sync;
    ``u_grid`` for the local steps U of local SGD). ``t0`` is the AdaSync
    period shared by ABS, AdaSync and SA-AdaSync, ``kappa`` ABS's staleness
    factor. ``tune_seeds`` pick each method's configuration; ``eval_seeds``
    (other seed indices) measure it; ``block`` seeds run per call.

    Sensitivity (figure 5): ``sens_methods`` on ``sens_objective`` over
    ``sens_workers`` (main delay law) and the laws ``sens_delays`` of
    ``DELAYS`` (N = ``workers``), each with its learning rate tuned on the
    same grid.

    Theory (figure 6): round time vs K and the staleness law with
    ``theory_workers`` workers.
    """

    name: str
    workers: int
    network: dict
    horizon: float
    logs: int
    lr_grid: tuple[float, ...]
    k_grid: tuple[int, ...]
    u_grid: tuple[int, ...]
    t0: float
    tune_seeds: int
    eval_seeds: int
    block: int
    bootstrap: int
    sens_methods: tuple[str, ...]
    sens_workers: tuple[int, ...]
    sens_delays: tuple[str, ...]  # names in DELAYS, run at N = workers
    sens_objective: str
    sens_horizon: float
    sens_lr_grid: tuple[float, ...]
    sens_tune_seeds: int
    sens_eval_seeds: int
    theory_workers: int
    theory_rounds: int
    theory_seeds: int
    kappa: float = 1.0
    target_progress: float = 0.9  # see experiment.target_loss
    cnn: dict = dataclasses.field(default_factory=dict)
    chunk_seeds: int | None = None  # vmapped seeds per chunk (default block / 2)

    @property
    def chunk(self) -> int:
        """Seeds vmapped together: half a block, so that a block fills two CPU
        devices (and numbers do not depend on how many devices there are)."""
        return self.chunk_seeds or max(1, self.block // 2)

    def __post_init__(self):
        for name in ("tune_seeds", "eval_seeds"):
            if getattr(self, name) % self.block:
                raise ValueError(f"{name} must be a multiple of block={self.block}")
        if len(self.k_grid) != len(self.u_grid):
            raise ValueError("k_grid and u_grid must have the same size (fairness)")


PROFILES = {
    "tiny": Profile(
        name="tiny",
        workers=4,
        network=dict(
            hidden=(8,),
            dim=8,
            samples=256,
            test_samples=64,
            eval_samples=256,
            batch=8,
        ),
        horizon=8.0,
        logs=8,
        lr_grid=(0.5, 1.0),
        k_grid=(2,),
        u_grid=(2,),
        t0=2.0,
        tune_seeds=4,
        eval_seeds=8,
        block=4,
        bootstrap=200,
        sens_methods=("abs", "async"),
        sens_workers=(4,),
        sens_delays=("exponential",),
        sens_objective="linreg:dim=4,samples=128,batch=8,noise=0.5",
        sens_horizon=4.0,
        sens_lr_grid=(0.1, 0.2),
        sens_tune_seeds=4,
        sens_eval_seeds=8,
        theory_workers=4,
        theory_rounds=40,
        theory_seeds=8,
    ),
    "quick": Profile(
        name="quick",
        workers=8,
        network=dict(
            hidden=(32,),
            dim=16,
            samples=2048,
            test_samples=512,
            eval_samples=1024,
            batch=16,
        ),
        horizon=60.0,
        logs=200,
        lr_grid=(0.125, 0.25, 0.5, 1.0, 2.0, 4.0),
        k_grid=(1, 2, 4),
        u_grid=(2, 4, 8),
        t0=5.0,
        tune_seeds=16,
        eval_seeds=64,
        block=16,
        bootstrap=2000,
        sens_methods=("abs", "adasync", "k_sync", "async"),
        sens_workers=(4, 8, 16),
        sens_delays=tuple(DELAYS),
        sens_objective="linreg:dim=20,samples=1024,batch=16,noise=0.5",
        sens_horizon=8.0,
        sens_lr_grid=(0.05, 0.1, 0.2, 0.4, 0.8),
        sens_tune_seeds=16,
        sens_eval_seeds=48,
        theory_workers=8,
        theory_rounds=400,
        theory_seeds=32,
    ),
    "full": Profile(
        name="full",
        workers=16,
        network=dict(
            hidden=(64, 64),
            dim=32,
            samples=8192,
            test_samples=2048,
            eval_samples=4096,
            batch=32,
        ),
        cnn=dict(channels=(16, 32), samples=10000, test_samples=2000, batch=32),
        horizon=200.0,
        logs=400,
        lr_grid=(0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0),
        k_grid=(1, 2, 4, 8),
        u_grid=(2, 4, 8, 16),
        t0=10.0,
        tune_seeds=256,
        eval_seeds=1024,
        block=256,
        bootstrap=10000,
        sens_methods=(
            "abs",
            "adasync",
            "sa_adasync",
            "local_sgd",
            "sync",
            "k_sync",
            "async",
        ),
        sens_workers=(4, 8, 16, 32),
        sens_delays=tuple(DELAYS),
        sens_objective="linreg:dim=50,samples=4096,batch=32,noise=0.5",
        sens_horizon=20.0,
        sens_lr_grid=(0.025, 0.05, 0.1, 0.2, 0.4),
        sens_tune_seeds=128,
        sens_eval_seeds=1024,
        theory_workers=16,
        theory_rounds=2000,
        theory_seeds=512,
    ),
}
