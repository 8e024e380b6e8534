"""One command: the paper's figures and the claims report.

``absjax figures --profile quick --out DIR`` (or ``python -m paper_figures``)
tunes every method of both settings of the paper fairly, evaluates it, rechecks
every verdict under our other readings, maps where ABS wins, draws the figures
(PNG and PDF) and writes ``DIR/report.md`` with a verdict on each claim of the
abstract. Every file is written atomically (a temporary file in ``DIR``,
then renamed), the report last; temporary files left by a killed run are
removed by the next one. The same ``--seed`` gives the same numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from paper_figures.profiles import PROFILES, customise

HOST_DEVICES = 2  # a block's two chunks run on two CPU devices (two cores)
# XLA's backend optimisation level 1 compiles about a quarter faster than the
# default (3) and ran these programs as fast (measured on the 2-core machine).
OPT_LEVEL = "--xla_backend_optimization_level=1"


class UsageError(Exception):
    """A user error: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument(
        "--profile",
        default="quick",
        help=f"one of {', '.join(PROFILES)} (default: quick, 10 min on 2 CPU cores)",
    )
    p.add_argument("--out", default="results/figures", help="output directory")
    p.add_argument("--seed", default="0", help="base seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--cifar10",
        default=None,
        help="folder of the CIFAR-10 python batches (profile full only; "
        "without it, full runs on the digits and says so)",
    )
    p.add_argument(
        "--delay",
        default=None,
        help="per-step delay SPEC of the two settings, any absjax delay "
        "(e.g. 'pareto:scale=0.6,alpha=2.5', 'trace:path=FILE'); default: the "
        "profile's (exp:rate=1); the budget is in mean steps of it",
    )
    p.add_argument(
        "--workers",
        default=None,
        help="N, the number of workers of the two settings (default: the "
        "profile's; the K grids scale with it)",
    )
    p.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="do not use JAX's persistent compilation cache (default folder: "
        "$ABSJAX_COMPILE_CACHE or ~/.cache/absjax/jax; a re-run skips compiles)",
    )
    return p


def _arguments(argv, prog):
    args = parser(prog).parse_args(argv)
    if args.profile not in PROFILES:
        raise UsageError(
            f"profile={args.profile!r} must be one of {', '.join(PROFILES)}"
        )
    try:
        args.seed = int(args.seed)
    except ValueError:
        raise UsageError(f"seed={args.seed!r} must be an integer >= 0") from None
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"seed={args.seed} must be in [0, 2**32)")
    if args.cifar10 is not None:
        if args.profile != "full":
            raise UsageError("--cifar10 needs --profile full (paper scale)")
        if not Path(args.cifar10).is_dir():
            raise UsageError(f"cifar10={args.cifar10!r} is not a directory")
    args.profile_ = _customised(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"out={args.out!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create out={args.out!r}: {e.strerror}") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"out={args.out!r} is not writable")
    return args


def _customised(args):
    """The profile with ``--delay`` and ``--workers`` applied (or a UsageError
    naming the bad value)."""
    profile = PROFILES[args.profile]
    workers = None
    if args.workers is not None:
        try:
            workers = int(args.workers)
        except ValueError:
            raise UsageError(f"workers={args.workers!r} must be an integer") from None
        if not 2 <= workers <= 4096:
            raise UsageError(f"workers={workers} must be in [2, 4096]")
    if args.delay is not None:
        from absjax import delays

        try:
            delays.as_delay(args.delay).check_workers(workers or profile.workers)
        except (ValueError, TypeError, OSError, KeyError) as e:
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise UsageError(f"delay={args.delay!r}: {message}") from None
    try:
        return customise(profile, args.delay, workers)
    except ValueError as e:
        raise UsageError(str(e).splitlines()[0]) from None


def _host_devices() -> None:
    """Two CPU devices (one per core) and XLA's optimisation level 1 unless
    the user set them; a no-op once JAX has started (the numbers do not depend
    on the device count, only the speed)."""
    from absjax.engine.layout import use_host_cores

    use_host_cores(HOST_DEVICES)
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" not in flags:
        flags += f" {OPT_LEVEL}"
    os.environ["XLA_FLAGS"] = flags.strip()


class Progress:
    """Numbered tqdm bars on stderr, one per stage; silent with ``quiet``."""

    def __init__(self, quiet: bool, stages: int):
        self.quiet, self.stage, self.stages = quiet, 0, stages

    def __call__(self, description: str, total: int):
        from tqdm.auto import tqdm

        self.stage += 1
        return tqdm(
            total=total,
            desc=f"[{self.stage}/{self.stages}] {description}",
            unit="run",
            disable=self.quiet,
            file=sys.stderr,
            dynamic_ncols=True,
        )


def main(argv: list[str] | None = None, prog: str = "python -m paper_figures") -> int:
    """Runs the reproduction; returns the exit code (2: bad arguments)."""
    _host_devices()  # before absjax (hence JAX) is first imported
    try:
        args = _arguments(argv, prog)
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    from absjax import compile_cache
    from paper_figures import pipeline

    if not args.no_compile_cache:
        compile_cache.enable()

    out = Path(args.out)
    for leftover in out.glob(".*.tmp"):  # a killed run's temporary files
        leftover.unlink(missing_ok=True)
    start = time.perf_counter()
    profile = args.profile_
    pipeline.run(
        profile,
        out,
        seed=args.seed,
        progress=Progress(args.quiet, pipeline.stage_count(profile)),
        cifar10=args.cifar10,
        command=_command(prog, argv),
        start=start,
    )
    if not args.quiet:
        print(f"wrote {out / 'report.md'} in {time.perf_counter() - start:.0f} s")
    return 0


def _command(prog: str, argv) -> str:
    argv = sys.argv[1:] if argv is None else argv
    return " ".join([prog, *argv])
