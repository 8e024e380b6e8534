"""Staleness weights ``omega(s)`` and the normalisation
(docs/concepts.md#concepts-weights).

Every expected value is written by hand from the formula at ``s = 0..5``;
comparisons use ``rtol = 1e-6`` (float32 arithmetic).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from absjax import staleness

S = jnp.arange(6)  # staleness 0..5, int32
RTOL = 1e-6

HAND = [
    (staleness.constant(), [1, 1, 1, 1, 1, 1]),
    (staleness.inverse(), [1, 1, 1 / 2, 1 / 3, 1 / 4, 1 / 5]),
    (staleness.polynomial(a=1.0), [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6]),
    (staleness.polynomial(a=0.5), [1 / math.sqrt(1 + s) for s in range(6)]),
    (staleness.polynomial(a=2.0), [1, 1 / 4, 1 / 9, 1 / 16, 1 / 25, 1 / 36]),
    (staleness.polynomial(a=0.0), [1, 1, 1, 1, 1, 1]),
    (staleness.exponential(a=1.0), [math.exp(-s) for s in range(6)]),
    (staleness.exponential(a=0.25), [math.exp(-0.25 * s) for s in range(6)]),
    (staleness.exponential(a=0.0), [1, 1, 1, 1, 1, 1]),
    (staleness.threshold(c=2, v=0.25), [1, 1, 1, 0.25, 0.25, 0.25]),
    (staleness.threshold(c=0, v=0.0), [1, 0, 0, 0, 0, 0]),
    (staleness.threshold(c=1.5, v=0.5), [1, 1, 0.5, 0.5, 0.5, 0.5]),
    (staleness.threshold(c=5, v=0.0), [1, 1, 1, 1, 1, 1]),
]


@pytest.mark.parametrize("weight, expected", HAND, ids=[repr(w) for w, _ in HAND])
def test_weight_hand_values(weight, expected):
    out = weight(S, weight.params)
    assert out.shape == (6,)
    assert jnp.issubdtype(out.dtype, jnp.floating)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=RTOL)


@pytest.mark.parametrize("weight, expected", HAND, ids=[repr(w) for w, _ in HAND])
def test_weight_elementwise_on_worker_shapes(weight, expected):
    """A (seeds, workers) array of staleness maps elementwise."""
    s = jnp.stack([S, S[::-1]])
    out = np.asarray(weight(s, weight.params))
    np.testing.assert_allclose(out, [expected, expected[::-1]], rtol=RTOL)


@pytest.mark.parametrize(
    "weight",
    [staleness.polynomial(a=1.0), staleness.exponential(a=1.0)],
    ids=["polynomial", "exponential"],
)
def test_weight_accepts_python_int(weight):
    assert float(weight(2, weight.params)) == pytest.approx(
        float(weight(jnp.asarray(2), weight.params)), rel=RTOL
    )


def test_params_are_the_numbers():
    assert staleness.constant().params == {}
    assert staleness.inverse().params == {}
    assert {k: float(v) for k, v in staleness.polynomial(a=0.5).params.items()} == {
        "a": 0.5
    }
    p = staleness.threshold(c=2, v=0.1).params
    assert float(p["c"]) == 2.0
    assert float(p["v"]) == pytest.approx(0.1)


def test_params_traced_without_recompiling():
    """A jitted weight follows new numbers in ``params`` with one trace."""
    weight = staleness.exponential(a=1.0)
    traces = []

    def f(params):
        traces.append(1)
        return weight(S, params)

    fn = jax.jit(f)
    for a in (0.0, 0.5, 2.0):
        out = fn({"a": jnp.asarray(a)})
        np.testing.assert_allclose(out, np.exp(-a * np.arange(6)), rtol=RTOL)
    assert len(traces) == 1


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("constant", staleness.constant()),
        ("inverse", staleness.inverse()),
        ("polynomial", staleness.polynomial()),
        ("polynomial:a=0.5", staleness.polynomial(a=0.5)),
        ("exponential:a=0.2", staleness.exponential(a=0.2)),
        ("threshold:c=2,v=0.1", staleness.threshold(c=2.0, v=0.1)),
        ("distance:c=0.01", staleness.distance(c=0.01)),
        (" threshold : v=0.1 , c=2 ", staleness.threshold(c=2.0, v=0.1)),
    ],
)
def test_parse_weight(spec, expected):
    weight = staleness.parse_weight(spec)
    assert weight == expected
    assert type(weight) is type(expected)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: staleness.polynomial(a=-1.0), "a=-1.0"),
        (lambda: staleness.polynomial(a=math.nan), "a=nan"),
        (lambda: staleness.polynomial(a=math.inf), "a=inf"),
        (lambda: staleness.exponential(a=-0.5), "a=-0.5"),
        (lambda: staleness.threshold(c=-1.0), "c=-1.0"),
        (lambda: staleness.threshold(v=-0.5), "v=-0.5"),
        (lambda: staleness.threshold(c=math.nan), "c=nan"),
        (lambda: staleness.threshold(v=math.inf), "v=inf"),
        (lambda: staleness.distance(c=0.0), "c=0.0"),
        (lambda: staleness.distance(c=-1.0), "c=-1.0"),
        (lambda: staleness.distance(c=math.nan), "c=nan"),
    ],
)
def test_invalid_weight_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "spec, match",
    [
        ("polynomial:a=-1", "a=-1.0"),
        ("exponential:a=nan", "a=nan"),
        ("threshold:c=2,v=-1", "v=-1.0"),
        ("polynomial:b=1", "no parameter 'b'"),
        ("inverse:a=1", r"no parameter 'a' \(allowed: none\)"),
        ("polynomial:a=big", "a='big' is not a valid float"),
        ("polynomial:a=1,a=2", "key 'a' given twice"),
        ("polynomial:a", "item 'a' must look like key=value"),
        ("harmonic", "unknown staleness weight 'harmonic'"),
        ("", "spec="),
    ],
)
def test_invalid_weight_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        staleness.parse_weight(spec)


def test_non_numeric_weight_parameter_raises_value_error():
    with pytest.raises(ValueError, match="a='0.5'"):
        staleness.polynomial(a="0.5")


@pytest.mark.parametrize("normalization", ["count", "weight-sum"])
def test_check_normalization_accepts(normalization):
    assert staleness.check_normalization(normalization) == normalization
    assert normalization in staleness.NORMALIZATIONS


@pytest.mark.parametrize("normalization", ["sum", "Count", "weight_sum", "", None])
def test_check_normalization_rejects(normalization):
    with pytest.raises(ValueError, match="normalization="):
        staleness.check_normalization(normalization)


def test_distance_weight_hand_values():
    """Dutta et al. eq. 13 with eta_max = lr: omega = min(C / (lr d^2), 1)."""
    w = staleness.distance(c=0.02)
    assert w.needs_distance and not staleness.inverse().needs_distance
    assert {k: float(v) for k, v in w.params.items()} == {"c": pytest.approx(0.02)}
    d2 = jnp.array([0.0, 0.1, 0.2, 0.4, 1.0, jnp.inf])
    # lr = 0.1: C / (lr d^2) = 0.02 / (0.1 d^2) = 0.2 / d^2 ->
    # d = 0 (fresh): 1; 0.1: 2 -> 1; 0.2: 1 (the cap exactly); 0.4: 0.5;
    # 1: 0.2; inf: 0. The staleness itself is not read.
    out = w(S, w.params, distance2=d2, lr=0.1)
    np.testing.assert_allclose(np.asarray(out), [1, 1, 1, 0.5, 0.2, 0], rtol=RTOL)
    same = w(jnp.zeros(6, jnp.int32), w.params, distance2=d2, lr=0.1)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(same))
    # The step lr * omega is min(C / d^2, lr): with lr = 0.5, d^2 = 0.4:
    # min(0.05, 0.5) = 0.05 -> omega = 0.1.
    assert float(w(1, w.params, distance2=0.4, lr=0.5)) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="distance2"):
        w(S, w.params)


# The delay-adaptive steps: Mishchenko et al. 2022 (arXiv 2206.07638),
# min(1, c / delay), and Koloskova et al. 2022 (arXiv 2206.08307), 1 up to
# the threshold tau_C = c, then 0; delay = staleness + offset.
DELAY_ADAPTIVE = [
    (staleness.delay_capped(c=2.0), [1, 1, 1, 2 / 3, 2 / 4, 2 / 5]),
    (staleness.delay_capped(c=0.5), [1, 0.5, 0.25, 0.5 / 3, 0.125, 0.1]),
    (staleness.delay_capped(c=2.0, offset=1.0), [1, 1, 2 / 3, 2 / 4, 2 / 5, 2 / 6]),
    (staleness.delay_threshold(c=2.0), [1, 1, 1, 0, 0, 0]),
    (staleness.delay_threshold(c=0.0), [1, 0, 0, 0, 0, 0]),
    (staleness.delay_threshold(c=2.0, offset=1.0), [1, 1, 0, 0, 0, 0]),
]


@pytest.mark.parametrize(
    "weight, expected", DELAY_ADAPTIVE, ids=[repr(w) for w, _ in DELAY_ADAPTIVE]
)
def test_delay_adaptive_hand_values(weight, expected):
    out = weight(S, weight.params)
    assert jnp.issubdtype(out.dtype, jnp.floating)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=RTOL)
    grads = jax.grad(lambda c: weight(S, {**weight.params, "c": c}).sum())
    assert np.isfinite(float(grads(jnp.asarray(float(weight.c)))))


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("delay_capped:c=4", staleness.delay_capped(c=4.0)),
        ("delay_capped:c=4,offset=1", staleness.delay_capped(c=4.0, offset=1.0)),
        ("delay_threshold:c=3", staleness.delay_threshold(c=3.0)),
        ("delay_threshold", staleness.delay_threshold()),
    ],
)
def test_parse_delay_adaptive(spec, expected):
    weight = staleness.parse_weight(spec)
    assert weight == expected and type(weight) is type(expected)


@pytest.mark.parametrize(
    "spec, match",
    [
        ("delay_capped:c=0", r"c=0.0 must be in \(0.0, inf\)"),
        ("delay_capped:c=-2", "c=-2.0"),
        ("delay_capped:c=nan", "c=nan"),
        ("delay_capped:c=1,offset=-1", "offset=-1.0"),
        ("delay_threshold:c=-1", "c=-1.0"),
        ("delay_threshold:c=inf", "c=inf"),
        ("delay_threshold:tau=1", "no parameter 'tau'"),
    ],
)
def test_delay_adaptive_bad_input(spec, match):
    with pytest.raises(ValueError, match=match):
        staleness.parse_weight(spec)


def test_delay_capped_swept_over_c_without_recompiling():
    """A grid over ``weight.c`` is one program, and each point is the run
    with that ``c``; a gridded ``c <= 0`` is refused before anything runs."""
    import absjax
    from absjax import policies

    sim = absjax.Simulator(
        4,
        policies.asynchronous(),
        "shifted_exp:shift=0.5,rate=2",
        "quadratic:dim=3,noise=0.3",
        lr=0.2,
        rounds=20,
        log_every=10,
        weight=staleness.delay_capped(c=1.0),
    )
    grid = sim.run(seeds=2, grid={"weight.c": [0.5, 1.0, 4.0]})
    assert sim.traces == 1
    sim.run(seeds=2, grid={"weight.c": [2.0, 8.0, 16.0]}, seed=1)
    assert sim.traces == 1
    single = sim.run(seeds=2)
    np.testing.assert_array_equal(grid.loss[1], single.loss)
    assert not np.array_equal(grid.loss[0], grid.loss[2])  # c acts
    with pytest.raises(ValueError, match="c=0.0"):
        sim.run(seeds=2, grid={"weight.c": [1.0, 0.0]})
