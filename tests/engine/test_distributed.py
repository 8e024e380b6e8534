"""Several processes, as on several hosts: ``jax.distributed`` on localhost.

Two CPU processes join one coordinator (``jax.distributed.initialize``), each
with two local devices, and each runs its half of the seeds with a disjoint
``seed_offset`` and saves it (``Result.save``). The union equals one
single-process run of all the seeds, bit for bit. With ``jax.distributed`` up,
``jax.devices()`` lists every process's devices; a run must shard over its own
(``jax.local_devices()``) only, or the second process computes on the first's
and cannot read its results back.

Slow (three compilations in three processes): run with ``--runslow``.
"""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import absjax

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = (
    'absjax.Simulator(4, absjax.policies.k_async(2), "exp:rate=1", '
    '"quadratic:dim=3", rounds=20, log_every=10)'
)
SEEDS, SEED, CHUNK = 8, 5, 2  # each process: 4 seeds = 2 chunks = 2 devices

CHILD = textwrap.dedent("""
    import sys
    import jax
    process_id, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jax.distributed.initialize(
        coordinator_address=f"localhost:{{port}}",
        num_processes=2,
        process_id=process_id,
        initialization_timeout=60,
    )
    print("initialized", flush=True)
    assert jax.process_count() == 2 and jax.device_count() == 4, jax.devices()
    assert jax.local_device_count() == 2, jax.local_devices()
    import absjax
    share = {seeds} // 2
    sim = {simulator}
    result = sim.run(
        seeds=share, seed={seed}, seed_offset=process_id * share, chunk={chunk}
    )
    result.save(f"{{out}}/part{{process_id}}.nc")
    jax.distributed.shutdown()
""").format(seeds=SEEDS, simulator=SIMULATOR, seed=SEED, chunk=CHUNK)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _run_processes(out: Path, timeout: float = 300):
    env = dict(
        os.environ,
        JAX_PLATFORMS="cpu",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(i), port, str(out)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=timeout) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        pytest.fail(f"the two processes did not finish within {timeout} s")
    finally:
        for p in procs:
            p.kill()
            p.wait()
    for i, (p, (stdout, stderr)) in enumerate(zip(procs, outputs, strict=True)):
        if p.returncode and "initialized" not in stdout:
            pytest.skip(
                f"jax.distributed cannot start here (process {i}): {stderr[-2000:]}"
            )
        assert p.returncode == 0, f"process {i} failed:\n{stderr[-4000:]}"


@pytest.mark.slow  # three processes compile: about 2 min on 2 shared cores
def test_two_processes_share_the_seeds_bit_for_bit(tmp_path):
    _run_processes(tmp_path)
    parts = [absjax.load(tmp_path / f"part{i}.nc") for i in range(2)]
    assert [p.seeds.tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    single = eval(SIMULATOR).run(seeds=SEEDS, seed=SEED, chunk=CHUNK)
    joined = absjax.Result.concat(parts)
    for name, values in single.metrics.items():
        np.testing.assert_array_equal(joined.metrics[name], values, err_msg=name)
    np.testing.assert_array_equal(joined.diverged_round, single.diverged_round)
    np.testing.assert_array_equal(joined.seeds, single.seeds)
    assert joined.config == single.config
    # the README's other way of joining: xarray along the seeds
    ds = xr.concat([p.to_xarray() for p in parts], dim="seed")
    xr.testing.assert_identical(ds, single.to_xarray())
