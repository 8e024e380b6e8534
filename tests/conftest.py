"""Test options (``--runslow`` runs the tests marked ``slow``, GPU-sized), one
compilation cache per test session, and the fixtures of the sweep tests
(``tests/test_sweep*.py``)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sweep_helpers import compiled_once, configured

from absjax import compile_cache, sweep


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# The commands turn JAX's persistent compilation cache on in the user's cache
# folder by default; the tests keep that off (one test turns it on in a folder
# of its own).
os.environ.setdefault("ABSJAX_COMPILE_CACHE", "off")
# Instead, one test session shares one fresh, empty compilation cache between
# its xdist workers (and the commands they start): a program that several tests
# compile is compiled once per session. Nothing is kept between sessions
# (unless JAX_COMPILATION_CACHE_DIR is set: then that folder is used).
# Measured on 2 cores: tests/engine/test_engine.py and tests/policies, 428 s
# without it, 375 s with it.
_SESSION_CACHE = "JAX_COMPILATION_CACHE_DIR"
_CREATED = pytest.StashKey[str]()  # the folder this process made, to remove


def pytest_configure(config):
    if _SESSION_CACHE not in os.environ:  # the first process: xdist's controller
        os.environ[_SESSION_CACHE] = tempfile.mkdtemp(prefix="absjax-tests-jax-")
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        config.stash[_CREATED] = os.environ[_SESSION_CACHE]
    # jax was imported above, before the variables were read: set them here too.
    compile_cache.enable(os.environ[_SESSION_CACHE])


def pytest_unconfigure(config):
    created = config.stash.get(_CREATED, None)
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
        del os.environ[_SESSION_CACHE]


@pytest.fixture(scope="module")
def compile_once():
    """A module's sweeps build (and compile) each Simulator once."""
    with compiled_once():
        yield


@pytest.fixture(scope="module")
def cleans(tmp_path_factory):
    """``cleans(fmt)``: an uninterrupted, unsharded sweep of the sweep tests'
    CONFIG stored as ``fmt``, run once per module (do not modify: copy it)."""
    made = {}

    def clean(fmt: str) -> Path:
        if fmt not in made:
            made[fmt] = tmp_path_factory.mktemp(f"clean-{fmt}") / "sweep"
            sweep.run_sweep(configured(fmt), made[fmt], progress=False)
        return made[fmt]

    return clean
