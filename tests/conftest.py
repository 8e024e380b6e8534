"""Test options: ``--runslow`` runs the tests marked ``slow`` (GPU-sized)."""

import os

import pytest


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
