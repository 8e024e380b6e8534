"""Test options (``--runslow`` runs the tests marked ``slow``, GPU-sized) and
the fixtures of the sweep tests (``tests/test_sweep*.py``)."""

import os
from pathlib import Path

import pytest
from sweep_helpers import compiled_once, configured

from absjax import sweep


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# The commands turn JAX's persistent compilation cache on by default; the
# tests keep it off (one test turns it on in a folder of its own).
os.environ.setdefault("ABSJAX_COMPILE_CACHE", "off")


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
