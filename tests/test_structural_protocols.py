"""Objects that fit a protocol of ``absjax.protocols`` without subclassing
anything of absjax run wherever absjax takes that part; one that lacks a
member is refused with a ``ValueError`` naming the member."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import absjax
from absjax import policies, protocols, staleness


class PlainLaw:
    """Exponential durations of rate ``rate``."""

    def __init__(self, rate=2.0):
        self.rate = rate

    @property
    def params(self):
        return {"rate": jnp.asarray(self.rate)}

    def sample(self, key, params, shape):
        return jax.random.exponential(key, shape) / params["rate"]

    def mean(self, params):
        return 1.0 / params["rate"]

    def variance(self, params):
        return 1.0 / params["rate"] ** 2

    def cdf(self, params, x):
        return 1.0 - jnp.exp(-params["rate"] * x)

    def check(self, params):
        if not np.all(np.asarray(params["rate"]) > 0):
            raise ValueError("rate must be > 0")


class PlainWeight:
    """``omega(s) = 1 / (1 + a s)``."""

    params = {"a": jnp.asarray(1.0)}

    def __call__(self, s, params):
        return 1.0 / (1.0 + params["a"] * jnp.asarray(s).astype(float))

    def check(self, params):
        if not np.all(np.asarray(params["a"]) >= 0):
            raise ValueError("a must be >= 0")


class PlainObjective:
    """``0.5 ||w - target||^2`` with Gaussian gradient noise."""

    has_loss = True
    metric_name = ""

    @property
    def data(self):
        return {"target": jnp.arange(3.0)}

    def init(self, data):
        return jnp.zeros(3)

    def sample(self, key, data, worker):
        return 0.1 * jax.random.normal(key, (3,))

    def gradient(self, data, w, batch):
        return w - data["target"] + batch

    def batch_loss(self, data, w, batch):
        return 0.5 * jnp.sum((w - data["target"]) ** 2)

    def loss(self, data, w):
        return 0.5 * jnp.sum((w - data["target"]) ** 2)

    def metric(self, data, w):
        return jnp.asarray(jnp.nan)

    def check_workers(self, num_workers):
        pass


class PlainRule:
    """K = the initial K, always (a rule that reads nothing)."""

    needs_loss = False
    params = {}

    def __call__(self, view, params):
        return view.k0

    def check(self, params, low, high):
        pass


class PlainArrivals:
    """The built-in first-finishers arrival rule, wrapped."""

    def __call__(self, jobs, keys, state, params):
        return policies.FirstFinishers()(jobs, keys, state, params)


class PlainRestart:
    """The built-in bounded-staleness restart rule, wrapped."""

    def __call__(self, view, running, numbers):
        return policies.BoundedStaleness()(view, running, numbers)


def _run(policy=None, delay=None, objective=None, weight=None):
    sim = absjax.Simulator(
        3,
        policy or policies.k_async(2),
        delay or "exp:rate=2",
        objective or "quadratic:dim=3",
        lr=0.2,
        rounds=10,
        log_every=5,
        weight=weight,
    )
    result = sim.run(seeds=2)
    assert np.all(np.isfinite(result.loss))
    return result


def test_plain_parts_fit_their_protocols():
    fits = [
        (PlainLaw(), protocols.DelayLaw),
        (PlainWeight(), protocols.StalenessWeight),
        (PlainObjective(), protocols.Objective),
        (PlainRule(), protocols.Rule),
        (PlainArrivals(), protocols.ArrivalRule),
        (PlainRestart(), protocols.RestartRule),
    ]
    for part, protocol in fits:
        assert isinstance(part, protocol)
        protocols.check_fits("part", part, protocol, "a part")


def test_a_plain_delay_law_runs():
    _run(delay=PlainLaw())
    _run(delay=absjax.delays.Delay(PlainLaw(), upload=PlainLaw(8.0)))


def test_a_plain_weight_runs_and_weighs():
    result = _run(weight=PlainWeight())
    assert not np.array_equal(result.loss, _run().loss)  # the weight acted
    _run(policy=policies.custom("k_async", k=2, weight=PlainWeight()))


def test_a_plain_objective_runs():
    result = _run(objective=PlainObjective())
    assert result.loss[:, -1].max() < result.loss[:, 0].min()


def test_plain_rules_run():
    _run(policy=policies.custom("k_async", k=2, k_rule=PlainRule()))
    _run(policy=policies.custom("k_async", k=2, tau_rule=PlainRule()))
    custom = policies.custom(
        "k_async", k=2, arrivals=PlainArrivals(), restart=PlainRestart()
    )
    np.testing.assert_array_equal(_run(policy=custom).loss, _run().loss)


def _without(cls, member):
    """A copy of a plain class without one member."""
    body = {k: v for k, v in vars(cls).items() if k != member}
    return type(cls.__name__, (), body)()


@pytest.mark.parametrize(
    "cls, member, build",
    [
        (PlainLaw, "cdf", lambda part: _run(delay=part)),
        (PlainLaw, "check", lambda part: absjax.delays.Delay(part)),
        (PlainWeight, "check", lambda part: _run(weight=part)),
        (
            PlainWeight,
            "__call__",
            lambda part: policies.custom("k_async", k=2, weight=part),
        ),
        (PlainObjective, "batch_loss", lambda part: _run(objective=part)),
        (PlainObjective, "has_loss", lambda part: _run(objective=part)),
        (
            PlainRule,
            "needs_loss",
            lambda part: policies.custom("k_async", k=2, k_rule=part),
        ),
    ],
)
def test_a_missing_member_is_named(cls, member, build):
    with pytest.raises(ValueError, match=f"has no {member!r}"):
        build(_without(cls, member))


def test_a_member_that_must_be_called_is_checked():
    weight = PlainWeight()
    weight.check = 3
    with pytest.raises(ValueError, match="'check' is not callable"):
        _run(weight=weight)


def test_the_built_in_parts_still_pass():
    _run(weight=staleness.delay_capped(c=1.0))
    with pytest.raises(ValueError, match="objective=3 must be an Objective"):
        _run(objective=3)
