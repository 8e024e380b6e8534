"""The built-in parts fit the protocols of ``absjax.protocols``.

``isinstance`` against a runtime-checkable protocol only checks that the
members exist; the signatures are exercised by the parts' own tests.
"""

import pytest

from absjax import delays, objectives, policies, rules, staleness
from absjax.protocols import (
    ArrivalRule,
    DelayLaw,
    Objective,
    RestartRule,
    Rule,
    StalenessWeight,
)

SMALL_OBJECTIVES = [
    "timing",
    "quadratic:dim=3",
    "linreg:dim=3,samples=16,batch=4",
    "logreg:dim=3,classes=2,samples=16,test_samples=8,batch=4",
    "mlp:hidden=4,samples=16,test_samples=8,batch=4",
    "cnn:channels=2,image_size=4,samples=8,test_samples=4,batch=2",
]


@pytest.mark.parametrize("name", sorted(delays.LAWS))
def test_every_law_is_a_delay_law(name):
    assert isinstance(delays.LAWS[name](), DelayLaw)


def test_a_trace_is_a_delay_law():
    assert isinstance(delays.Trace([[1.0, 2.0], [3.0]]), DelayLaw)


@pytest.mark.parametrize("spec", SMALL_OBJECTIVES)
def test_every_objective_fits_the_protocol(spec):
    assert isinstance(objectives.parse_objective(spec), Objective)


def test_a_missing_member_is_seen():
    class NoCheck:
        params = {}

        def sample(self, key, params, shape): ...

        def mean(self, params): ...

        def variance(self, params): ...

        def cdf(self, params, x): ...

    assert not isinstance(NoCheck(), DelayLaw)


@pytest.mark.parametrize(
    "weight",
    [
        staleness.constant(),
        staleness.inverse(),
        staleness.polynomial(a=1.0),
        staleness.exponential(a=0.5),
        staleness.threshold(c=2.0, v=0.0),
    ],
)
def test_every_weight_fits_the_protocol(weight):
    assert isinstance(weight, StalenessWeight)


@pytest.mark.parametrize(
    "rule",
    [
        rules.AdaSync(t0=1.0),
        rules.StalenessBound(kappa=1.0),
        rules.Schedule((1.0,), (1, 2)),
        rules.Function(lambda view, params: view.k),
    ],
)
def test_every_rule_fits_the_protocol(rule):
    assert isinstance(rule, Rule)


@pytest.mark.parametrize(
    "policy",
    [
        policies.sync(),
        policies.k_async(2, tau=1),
        policies.k_batch_sync(2),
        policies.rennala(2),
        policies.ssp(1),
        policies.abs_(1, 1.0),
    ],
)
def test_every_policy_mechanic_fits_the_protocols(policy):
    assert isinstance(policy.arrival_rule(), ArrivalRule)
    assert isinstance(policy.restart_rule(), RestartRule)
