"""Tests of :mod:`absjax.theory.laws`: the float64 duration laws.

Tolerance: ``atol = 2e-6`` against the simulator's float32 CDFs, and
``rtol = 1e-12`` for ``F + sf = 1``.
"""

import numpy as np
import pytest
from theory_helpers import CLOSED, NUMERIC

from absjax import delays, theory


@pytest.mark.parametrize("spec", CLOSED + NUMERIC)
def test_float64_laws_match_the_simulator_cdf(spec):
    """theory's own CDFs use the same parametrisation as absjax.delays."""
    d = delays.as_delay(spec)
    law = theory.worker_cdfs(d, 1)[0]
    x = np.linspace(0.01, 4.0, 41)
    np.testing.assert_allclose(law(x), np.asarray(d.cdf(d.params, x)), atol=2e-6)
    np.testing.assert_allclose(law(x) + law.sf(x), 1.0, rtol=1e-12)
