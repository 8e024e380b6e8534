"""Delay laws and the cluster delay model (``absjax/delays/``,
docs/concepts.md#concepts-delays).

Three independent checks per law: the closed-form moments and CDF against
``scipy.stats``, the sampler against those formulas by Monte Carlo (200k
draws, fixed keys), and the SPEC round trip and validation.

Tolerances (style point 12):
- sample mean: z-test ``|mean - theory| / (sd / sqrt(n)) < 4`` (skipped where the
  variance is infinite, Pareto ``alpha <= 2``);
- sample variance: relative tolerance ``5 * sqrt((kurtosis_excess + 2) / n)``, five
  standard errors of the sample variance from scipy's excess kurtosis, at least
  2%; Pareto ``alpha = 3.5`` (infinite fourth moment) gets a stated 20%;
- CDF: ``max |ECDF - cdf| < 0.01`` over 19 sample quantiles (the Kolmogorov
  statistic of 200k draws exceeds ``2 / sqrt(n) = 0.0045`` with probability
  below 1e-3);
- closed forms vs scipy: ``rtol = 1e-5`` (float32 arithmetic).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from absjax import delays
from absjax.delays import Delay

N_DRAWS = 200_000
Z_MAX = 4.0
KS_MAX = 0.01
QUANTILES = np.linspace(0.05, 0.95, 19)

# (law name, params, scipy reference or None, variance rtol override or None)
CASES = [
    ("exp", {"rate": 1.0}, lambda p: stats.expon(scale=1 / p["rate"]), None),
    ("exp", {"rate": 4.0}, lambda p: stats.expon(scale=1 / p["rate"]), None),
    (
        "shifted_exp",
        {"shift": 0.5, "rate": 2.0},
        lambda p: stats.expon(loc=p["shift"], scale=1 / p["rate"]),
        None,
    ),
    (
        "shifted_exp",
        {"shift": 0.0, "rate": 0.5},
        lambda p: stats.expon(loc=p["shift"], scale=1 / p["rate"]),
        None,
    ),
    (
        "pareto",
        {"scale": 1.0, "alpha": 3.5},
        lambda p: stats.pareto(b=p["alpha"], scale=p["scale"]),
        0.2,  # infinite fourth moment: no standard error, stated tolerance
    ),
    (
        "pareto",
        {"scale": 0.5, "alpha": 5.0},
        lambda p: stats.pareto(b=p["alpha"], scale=p["scale"]),
        None,
    ),
    (
        "pareto",
        {"scale": 1.0, "alpha": 1.5},  # finite mean, infinite variance
        lambda p: stats.pareto(b=p["alpha"], scale=p["scale"]),
        None,
    ),
    (
        "lognormal",
        {"mu": 0.0, "sigma": 0.5},
        lambda p: stats.lognorm(s=p["sigma"], scale=math.exp(p["mu"])),
        None,
    ),
    (
        "lognormal",
        {"mu": -1.0, "sigma": 1.0},
        lambda p: stats.lognorm(s=p["sigma"], scale=math.exp(p["mu"])),
        None,
    ),
    (
        "gamma",
        {"shape": 2.0, "scale": 0.5},
        lambda p: stats.gamma(a=p["shape"], scale=p["scale"]),
        None,
    ),
    (
        "gamma",
        {"shape": 0.5, "scale": 3.0},
        lambda p: stats.gamma(a=p["shape"], scale=p["scale"]),
        None,
    ),
    (
        "weibull",
        {"shape": 1.5, "scale": 1.0},
        lambda p: stats.weibull_min(c=p["shape"], scale=p["scale"]),
        None,
    ),
    (
        "weibull",
        {"shape": 0.7, "scale": 2.0},
        lambda p: stats.weibull_min(c=p["shape"], scale=p["scale"]),
        None,
    ),
    (
        "uniform",
        {"low": 0.5, "high": 1.5},
        lambda p: stats.uniform(loc=p["low"], scale=p["high"] - p["low"]),
        None,
    ),
    (
        "uniform",
        {"low": 0.25, "high": 3.0},
        lambda p: stats.uniform(loc=p["low"], scale=p["high"] - p["low"]),
        None,
    ),
    ("constant", {"value": 1.0}, None, None),
    ("constant", {"value": 0.25}, None, None),
]
IDS = [
    f"{name}-" + "-".join(f"{k}={v:g}" for k, v in p.items()) for name, p, *_ in CASES
]


def _law(i):
    name, kwargs, *_ = CASES[i]
    return delays.LAWS[name](**kwargs)


_DRAWS: dict[int, np.ndarray] = {}


def _draws(i):
    """200k draws of case ``i`` (cached: the sampler runs once per case)."""
    if i not in _DRAWS:
        law = _law(i)
        x = law.sample(jax.random.key(1000 + i), law.params, (N_DRAWS,))
        assert x.shape == (N_DRAWS,)
        _DRAWS[i] = np.asarray(x, np.float64)
    return _DRAWS[i]


def test_cases_cover_every_law():
    assert {name for name, *_ in CASES} == set(delays.LAWS)
    for name, kwargs, *_ in CASES:
        assert delays.LAWS[name] is type(delays.parse_law(name))
        assert delays.LAWS[name](**kwargs).name == name


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_closed_forms_match_scipy(i):
    name, kwargs, ref, _ = CASES[i]
    law = _law(i)
    p = law.params
    if ref is None:  # constant: by hand
        v = kwargs["value"]
        assert float(law.mean(p)) == pytest.approx(v, rel=1e-6)
        assert float(law.variance(p)) == 0.0
        x = np.array([0.0, v * 0.999, v, v * 1.001, 10 * v])  # by hand
        np.testing.assert_array_equal(np.asarray(law.cdf(p, x)), [0, 0, 1, 1, 1])
        return
    dist = ref(kwargs)
    mean, var = dist.stats("mv")
    np.testing.assert_allclose(float(law.mean(p)), float(mean), rtol=1e-5)
    np.testing.assert_allclose(float(law.variance(p)), float(var), rtol=1e-5)
    x = np.concatenate([[-1.0, 0.0], dist.ppf(np.linspace(0.001, 0.999, 17))])
    np.testing.assert_allclose(
        np.asarray(law.cdf(p, x), np.float64), dist.cdf(x), rtol=1e-5, atol=1e-6
    )


def test_pareto_infinite_moments():
    p = delays.pareto(scale=1.0, alpha=1.5).params
    assert np.isinf(float(delays.pareto().variance(p)))
    assert float(delays.pareto().mean(p)) == pytest.approx(3.0, rel=1e-6)
    p = delays.pareto(scale=1.0, alpha=0.8).params
    assert np.isinf(float(delays.pareto().mean(p)))
    assert np.isinf(float(delays.pareto().variance(p)))


# ---------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_sample_mean_z_test(i):
    law = _law(i)
    theory_var = float(law.variance(law.params))
    if not np.isfinite(theory_var):
        pytest.skip("infinite variance: the sample mean has no standard error")
    x = _draws(i)
    mean = float(law.mean(law.params))
    if theory_var == 0.0:
        np.testing.assert_allclose(x, mean, rtol=1e-6)
        return
    z = abs(x.mean() - mean) / (x.std() / math.sqrt(x.size))
    assert z < Z_MAX, (x.mean(), mean)


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_sample_variance(i):
    name, kwargs, ref, rtol = CASES[i]
    law = _law(i)
    var = float(law.variance(law.params))
    if not np.isfinite(var):
        pytest.skip("infinite variance")
    x = _draws(i)
    if var == 0.0:
        assert x.var() == 0.0
        return
    if rtol is None:
        excess_kurtosis = float(ref(kwargs).stats("k"))
        rtol = max(0.02, 5 * math.sqrt((excess_kurtosis + 2) / x.size))
    np.testing.assert_allclose(x.var(), var, rtol=rtol)


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_empirical_cdf(i):
    law = _law(i)
    x = np.sort(_draws(i))
    q = np.quantile(x, QUANTILES)
    ecdf = np.searchsorted(x, q, side="right") / x.size
    cdf = np.asarray(law.cdf(law.params, q.astype(np.float32)), np.float64)
    assert np.max(np.abs(ecdf - cdf)) < KS_MAX


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_samples_positive_and_finite(i):
    x = _draws(i)
    assert np.all(np.isfinite(x))
    assert np.all(x > 0)


def test_pareto_and_shift_lower_bounds():
    law = delays.pareto(scale=0.5, alpha=5.0)
    assert float(law.sample(jax.random.key(1), law.params, (10_000,)).min()) >= 0.5
    law = delays.shifted_exponential(shift=0.5, rate=2.0)
    assert float(law.sample(jax.random.key(2), law.params, (10_000,)).min()) >= 0.5


@pytest.mark.parametrize("law", [delays.exponential(1.0), delays.weibull(1.5, 1.0)])
def test_exponential_never_returns_zero(law):
    # key(4) is one of the seeds whose 10^6 float32 draws contain u = 0.
    draw = jax.jit(lambda key: law.sample(key, law.params, (1_000_000,)).min())
    assert float(draw(jax.random.key(4))) > 0


def test_sampler_follows_params_without_recompiling():
    """Numbers live in ``params``: a sampler jitted once follows new numbers."""
    law = delays.exponential(rate=1.0)
    traces = []

    def mean_of(params):
        traces.append(1)
        return law.sample(jax.random.key(0), params, (50_000,)).mean()

    fn = jax.jit(mean_of)
    m1 = float(fn({"rate": jnp.asarray(1.0)}))
    m4 = float(fn({"rate": jnp.asarray(4.0)}))
    assert len(traces) == 1
    assert m1 == pytest.approx(4 * m4, rel=1e-5)  # same key: draws scale as 1/rate


# ---------------------------------------------------------------- SPEC strings
@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_spec_round_trip(i):
    law = _law(i)
    assert delays.parse_law(law.spec()) == law
    assert delays.parse_delay(law.spec()).compute == law
    assert delays.parse_delay(law.spec()) == Delay(law)


def test_spec_round_trip_keeps_full_precision():
    law = delays.exponential(rate=1 / 3)
    assert delays.parse_law(law.spec()) == law


def test_parse_law_spellings():
    assert delays.parse_law("exponential:rate=2") == delays.exponential(rate=2.0)
    assert delays.parse_law(" exp : rate = 2 , ") == delays.exponential(rate=2.0)
    assert delays.parse_law("pareto") == delays.pareto()
    assert delays.parse_law("uniform:high=4") == delays.uniform(low=0.5, high=4.0)


def test_parse_delay_modifiers():
    d = delays.parse_delay(
        "exp:rate=2,straggler_prob=0.1,straggler_factor=4,speeds=sqrt,speed_spread=0.3",
        upload="constant:value=0.1",
        download="uniform:low=0,high=0.2",
    )
    assert d == Delay(
        delays.exponential(rate=2.0),
        upload=delays.constant(0.1),
        download=delays.uniform(0.0, 0.2),
        speeds="sqrt",
        speed_spread=0.3,
        straggler_prob=0.1,
        straggler_factor=4.0,
    )


def test_as_delay():
    law = delays.gamma(2.0, 0.5)
    assert delays.as_delay(law) == Delay(law)
    assert delays.as_delay(Delay(law)) == Delay(law)
    assert delays.as_delay("gamma:shape=2,scale=0.5") == Delay(law)
    with pytest.raises(ValueError, match="delay="):
        delays.as_delay(3.0)


# ---------------------------------------------------------------- validation
INVALID_LAWS = [
    (lambda: delays.exponential(rate=0.0), "rate=0.0"),
    (lambda: delays.exponential(rate=-1.0), "rate=-1.0"),
    (lambda: delays.exponential(rate=math.nan), "rate=nan"),
    (lambda: delays.exponential(rate=math.inf), "rate=inf"),
    (lambda: delays.shifted_exponential(shift=-0.1), "shift=-0.1"),
    (lambda: delays.shifted_exponential(rate=0.0), "rate=0.0"),
    (lambda: delays.pareto(alpha=0.0), "alpha=0.0"),
    (lambda: delays.pareto(scale=0.0), "scale=0.0"),
    (lambda: delays.lognormal(sigma=0.0), "sigma=0.0"),
    (lambda: delays.lognormal(mu=math.nan), "mu=nan"),
    (lambda: delays.gamma(shape=0.0), "shape=0.0"),
    (lambda: delays.gamma(scale=-1.0), "scale=-1.0"),
    (lambda: delays.weibull(shape=-0.5), "shape=-0.5"),
    (lambda: delays.weibull(scale=0.0), "scale=0.0"),
    (lambda: delays.uniform(low=1.0, high=1.0), "high=1.0"),
    (lambda: delays.uniform(low=2.0, high=1.0), "high=1.0"),
    (lambda: delays.uniform(low=-1.0, high=1.0), "low=-1.0"),
    (lambda: delays.constant(value=0.0), "value=0.0"),
    (lambda: delays.constant(value=-2.0), "value=-2.0"),
]


@pytest.mark.parametrize("make, match", INVALID_LAWS, ids=[m for _, m in INVALID_LAWS])
def test_invalid_law_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


INVALID_SPECS = [
    ("exp:rate=0", "rate=0.0"),
    ("exp:rate=-1", "rate=-1.0"),
    ("exp:rate=nan", "rate=nan"),
    ("pareto:alpha=0", "alpha=0.0"),
    ("uniform:low=2,high=1", "high=1.0"),
    ("constant:value=0", "value=0.0"),
    ("bogus:rate=1", "unknown delay law 'bogus'"),
    ("exp:speed=1", "no parameter 'speed'"),
    ("exp:rate=fast", "rate='fast' is not a valid float"),
    ("exp:rate=1,rate=2", "key 'rate' given twice"),
    ("exp:rate", "item 'rate' must look like key=value"),
    ("exp:=2", "item '=2' must look like key=value"),
    ("exp:rate=", "item 'rate=' must look like key=value"),
    ("", "spec=''"),
]


@pytest.mark.parametrize(
    "spec, match", INVALID_SPECS, ids=[s for s, _ in INVALID_SPECS]
)
def test_invalid_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        delays.parse_law(spec)
    with pytest.raises(ValueError, match=match):
        delays.parse_delay(spec)


@pytest.mark.parametrize(
    "spec, match",
    [
        ("exp:rate=1,straggler_prob=often", "straggler_prob='often'"),
        ("exp:rate=1,straggler_prob=1.5", "straggler_prob=1.5"),
        ("exp:rate=1,straggler_factor=0", "straggler_factor=0.0"),
        ("exp:rate=1,speeds=fast", "speeds='fast'"),
        ("exp:rate=1,speed_spread=-1", "speed_spread=-1.0"),
    ],
)
def test_invalid_delay_modifiers(spec, match):
    with pytest.raises(ValueError, match=match):
        delays.parse_delay(spec)


# ---------------------------------------------------------------- Delay
def _delay_draws(delay, key, speed=1.0, params=None):
    params = delay.params if params is None else params
    s = jnp.full((N_DRAWS,), speed)
    x = delay.sample(jax.random.key(key), params, s)
    assert x.shape == (N_DRAWS,)
    return np.asarray(x, np.float64)


def _assert_moments(delay, x, speed=1.0, params=None):
    """Mean z-test; variance z-test with the sample fourth moment."""
    params = delay.params if params is None else params
    n = x.size
    mean = float(delay.mean(params, speed))
    var = float(delay.variance(params, speed))
    assert abs(x.mean() - mean) / (x.std() / math.sqrt(n)) < Z_MAX, (x.mean(), mean)
    c = x - x.mean()
    se_var = math.sqrt((np.mean(c**4) - np.mean(c**2) ** 2) / n)
    assert abs(x.var() - var) / se_var < Z_MAX, (x.var(), var)


STRAGGLERS = [
    (delays.weibull(1.5, 1.0), 0.2, 4.0, 1.0),
    (delays.exponential(2.0), 0.05, 10.0, 2.5),
    (delays.shifted_exponential(0.5, 1.0), 1.0, 3.0, 1.0),  # every job straggles
]


@pytest.mark.parametrize("law, p, m, speed", STRAGGLERS)
def test_straggler_mixture(law, p, m, speed):
    d = Delay(law, straggler_prob=p, straggler_factor=m)
    x = _delay_draws(d, 7, speed)
    _assert_moments(d, x, speed)
    # Hand formulas: E = s mu (1 - p + p m), E[X^2] = s^2 (var + mu^2)(1 - p + p m^2).
    mu, var = float(law.mean(law.params)), float(law.variance(law.params))
    mean = speed * mu * (1 - p + p * m)
    second = speed**2 * (var + mu**2) * (1 - p + p * m**2)
    assert float(d.mean(d.params, speed)) == pytest.approx(mean, rel=1e-5)
    assert float(d.variance(d.params, speed)) == pytest.approx(
        second - mean**2, rel=1e-5
    )
    xs = np.sort(x)
    q = np.quantile(xs, QUANTILES)
    ecdf = np.searchsorted(xs, q, side="right") / xs.size
    cdf = np.asarray(d.cdf(d.params, q.astype(np.float32), speed), np.float64)
    assert np.max(np.abs(ecdf - cdf)) < KS_MAX


def test_no_stragglers_is_the_bare_law():
    law = delays.weibull(1.5, 1.0)
    d = Delay(law)
    p = d.params
    assert float(d.mean(p)) == pytest.approx(float(law.mean(law.params)))
    assert float(d.variance(p)) == pytest.approx(float(law.variance(law.params)))
    x = np.linspace(0.1, 3, 19)
    np.testing.assert_allclose(d.cdf(p, x), law.cdf(law.params, x), rtol=1e-6)
    assert d.homogeneous


def test_straggler_prob_from_params_is_sampled():
    d = Delay(delays.exponential(1.0))  # built with straggler_prob=0
    params = {
        **d.params,
        "straggler_prob": jnp.asarray(0.5),
        "straggler_factor": jnp.asarray(5.0),
    }
    assert float(d.mean(params)) == pytest.approx(3.0)
    x = _delay_draws(d, 8, params=params)
    _assert_moments(d, x, params=params)


def test_straggler_and_chain_draws_same_compiled_or_eager():
    """At probability 0 the straggler and chain draws are skipped (a runtime
    branch when compiled, a Python one when eager): the same numbers both
    ways, and one program for every probability."""
    d = Delay(delays.exponential(1.0), straggler_factor=4.0, markov_factor=3.0)
    key, speed = jax.random.key(3), jnp.ones((64,))
    previous = jnp.arange(64) % 2 == 0
    base = d.compute.sample(jax.random.split(key, 4)[0], d.compute.params, (64,))

    def durations(params):
        slow = d.chain(key, params, (64,), previous)
        return d.sample(key, params, speed, slow=slow), slow

    compiled = jax.jit(durations)
    for p in (0.0, 0.3):
        numbers = {**d.params, "straggler_prob": p, "markov_slow": p}
        numbers = jax.tree.map(jnp.asarray, numbers)
        x, slow = compiled(numbers)
        x_eager, slow_eager = durations(numbers)
        np.testing.assert_array_equal(x, x_eager)
        np.testing.assert_array_equal(slow, slow_eager)
        if p == 0:  # nothing drawn: no straggler, no slow job
            assert not slow.any()
            np.testing.assert_array_equal(x, base)
        else:
            assert slow.any() and (x != base).any()
    assert compiled._cache_size() == 1


def test_communication_adds_means_and_variances():
    compute = delays.exponential(2.0)
    upload = delays.uniform(0.1, 0.3)
    download = delays.shifted_exponential(0.05, 20.0)
    d = Delay(
        compute,
        upload=upload,
        download=download,
        straggler_prob=0.1,
        straggler_factor=3.0,
    )
    speed = 1.5
    mean = speed * 0.5 * (0.9 + 0.1 * 3.0) + 0.2 + 0.1
    second = speed**2 * (0.25 + 0.25) * (0.9 + 0.1 * 9.0)
    var = second - (speed * 0.5 * 1.2) ** 2 + 0.2**2 / 12 + 0.05**2
    assert float(d.mean(d.params, speed)) == pytest.approx(mean, rel=1e-5)
    assert float(d.variance(d.params, speed)) == pytest.approx(var, rel=1e-5)
    assert not d.homogeneous
    x = _delay_draws(d, 9, speed)
    _assert_moments(d, x, speed)
    # Upload alone: a constant upload shifts every duration.
    d_up = Delay(compute, upload=delays.constant(0.25))
    x_up = _delay_draws(d_up, 10)
    assert x_up.min() >= 0.25
    _assert_moments(d_up, x_up)


@pytest.mark.parametrize("side", ["upload", "download"])
def test_cdf_with_communication_is_not_implemented(side):
    d = Delay(delays.exponential(1.0), **{side: delays.constant(0.1)})
    with pytest.raises(NotImplementedError):
        d.cdf(d.params, 1.0)


def test_speeds_none_and_sqrt():
    key = jax.random.key(0)
    d = Delay(delays.exponential(1.0))
    np.testing.assert_array_equal(d.worker_speeds(key, d.params, 3), np.ones(3))
    d = Delay(delays.exponential(1.0), speeds="sqrt")
    np.testing.assert_allclose(
        d.worker_speeds(key, d.params, 4), np.sqrt([1.0, 2.0, 3.0, 4.0]), rtol=1e-6
    )
    assert not d.homogeneous


def test_speeds_given():
    d = Delay(delays.exponential(1.0), speeds=[1, 2.5, 4])
    assert d.speeds == (1.0, 2.5, 4.0)
    np.testing.assert_array_equal(
        d.worker_speeds(jax.random.key(0), d.params, 3), [1.0, 2.5, 4.0]
    )


def test_speeds_random_drawn_from_key():
    d = Delay(delays.exponential(1.0), speeds="random", speed_spread=0.5)
    a = np.asarray(d.worker_speeds(jax.random.key(1), d.params, 8))
    b = np.asarray(d.worker_speeds(jax.random.key(1), d.params, 8))
    c = np.asarray(d.worker_speeds(jax.random.key(2), d.params, 8))
    np.testing.assert_array_equal(a, b)
    assert np.all(a != c)
    assert np.all(a > 0)
    # log-speeds are N(0, spread^2): z-test on their mean, 5% on their sd.
    n = 100_000
    z = np.log(np.asarray(d.worker_speeds(jax.random.key(3), d.params, n), float))
    assert abs(z.mean()) / (0.5 / math.sqrt(n)) < Z_MAX
    np.testing.assert_allclose(z.std(), 0.5, rtol=0.05)
    # spread = 0: every worker has speed 1.
    d0 = Delay(delays.exponential(1.0), speeds="random", speed_spread=0.0)
    np.testing.assert_allclose(
        d0.worker_speeds(jax.random.key(1), d0.params, 4), np.ones(4)
    )


def test_per_worker_speeds_scale_durations():
    """Speed factors broadcast over the worker axis: worker i's mean is s_i E[X]."""
    d = Delay(delays.lognormal(0.0, 0.5), speeds="sqrt")
    n_workers, n = 4, 50_000
    speed = d.worker_speeds(jax.random.key(0), d.params, n_workers)
    x = d.sample(jax.random.key(4), d.params, jnp.tile(speed, (n, 1)))
    x = np.asarray(x, np.float64)
    assert x.shape == (n, n_workers)
    for i in range(n_workers):
        mean = float(d.mean(d.params, float(speed[i])))
        z = abs(x[:, i].mean() - mean) / (x[:, i].std() / math.sqrt(n))
        assert z < Z_MAX, (i, x[:, i].mean(), mean)


def test_check_workers():
    d = Delay(delays.exponential(1.0), speeds=(1.0, 2.0))
    d.check_workers(2)
    with pytest.raises(ValueError, match="speeds has 2 factors.*num_workers=3"):
        d.check_workers(3)
    for mode in ("none", "sqrt", "random"):
        Delay(delays.exponential(1.0), speeds=mode).check_workers(17)


INVALID_DELAYS = [
    (dict(speeds="fast"), "speeds='fast'"),
    (dict(speeds=(1.0, 0.0)), r"speeds\[i\]=0.0"),
    (dict(speeds=(1.0, -2.0)), r"speeds\[i\]=-2.0"),
    (dict(straggler_prob=-0.1), "straggler_prob=-0.1"),
    (dict(straggler_prob=1.5), "straggler_prob=1.5"),
    (dict(straggler_prob=math.nan), "straggler_prob=nan"),
    (dict(straggler_factor=0.0), "straggler_factor=0.0"),
    (dict(speed_spread=-1.0), "speed_spread=-1.0"),
    (dict(upload="exp:rate=1"), "upload="),
    (dict(download=1.0), "download="),
]


@pytest.mark.parametrize(
    "kwargs, match", INVALID_DELAYS, ids=[m for _, m in INVALID_DELAYS]
)
def test_invalid_delay(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Delay(delays.exponential(1.0), **kwargs)


def test_non_numeric_law_parameter_raises_value_error():
    with pytest.raises(ValueError, match="rate='2'"):
        delays.exponential(rate="2")


def test_invalid_compute():
    with pytest.raises(ValueError, match="compute="):
        Delay("exp:rate=1")


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_straggler_prob_bounds_accepted(p):
    assert Delay(delays.exponential(1.0), straggler_prob=p).straggler_prob == p
