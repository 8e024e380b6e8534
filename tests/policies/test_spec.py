"""Policy SPECs: bare names with documented defaults, readings by name, and
errors that name the user's own parameter (never an internal function)."""

import re

import pytest

from absjax import rules, staleness
from absjax._spec import Derived
from absjax.policies.spec import REGISTRY, default_k, parse_policy

N = 8
DELAY = "exp:rate=2"  # mean job duration 0.5
INTERNAL = re.compile(r"(?<![\w.])_[A-Za-z]\w*\(")  # `_name(`: a private function

NUMERIC = [
    (name, key, param)
    for name, entry in REGISTRY.items()
    for key, param in entry.params.items()
    if param.kind in (int, float)
]


def _error(spec: str, **context) -> str:
    with pytest.raises(ValueError) as info:
        parse_policy(spec, **({"num_workers": N, "delay": DELAY} | context))
    message = str(info.value)
    assert not INTERNAL.search(message), message
    return message


@pytest.mark.parametrize(
    "name,key,param",
    NUMERIC,
    ids=[f"{name}-{key}" for name, key, _ in NUMERIC],  # stable across processes
)
def test_every_numeric_parameter_out_of_range_is_named(name, key, param):
    message = _error(f"{name}:{key}=-1")
    assert message.startswith(f"policy {name!r}: {key}=-1"), message
    assert "must be" in message
    message = _error(f"{name}:{key}=abc")
    assert f"{key}='abc' is not a valid {param.kind.__name__}" in message
    if param.high == "num_workers":
        message = _error(f"{name}:{key}={N + 1}")
        assert f"{key}={N + 1} must be an integer in [1, num_workers={N}]" in message


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_unknown_parameters_list_the_allowed_ones_with_defaults(name):
    message = _error(f"{name}:nope=1")
    assert f"policy {name!r} has no parameter 'nope'" in message
    for key, param in REGISTRY[name].params.items():
        assert f"{key}={param.default_text()}" in message


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_policy_works_by_its_bare_name(name):
    policy = parse_policy(name, num_workers=N, delay=DELAY)
    assert policy.name == name


def test_documented_defaults():
    k = default_k(N)
    assert k == 2 and default_k(3) == 1
    assert parse_policy("k_sync", num_workers=N).k == k
    assert parse_policy("rennala", num_workers=N).k == k
    p = parse_policy("abs", num_workers=N, delay=DELAY)
    assert (p.k, p.k_rule.t0, p.tau, p.local_steps) == (k, 2.5, None, 1)
    assert isinstance(p.tau_rule, rules.StalenessBound)
    p = parse_policy("abs:local_steps=2,t0=7", num_workers=N, delay=DELAY)
    assert p.k_rule.t0 == 7.0
    p = parse_policy("abs:local_steps=2", num_workers=N, delay=DELAY)
    assert p.k_rule.t0 == 5.0  # 5 mean durations x U
    assert parse_policy("local_sgd", num_workers=N).local_steps == 4
    assert parse_policy("ssp", num_workers=N).ssp == 1
    assert parse_policy("ringmaster", num_workers=N).discard == 2
    assert parse_policy("k_async:tau=none", num_workers=N).tau is None
    assert parse_policy("async:tau=inf").tau is None


def test_readings_by_name():
    for word, rule in [
        ("adasync", rules.AdaSync),
        ("loss_ratio", rules.LossRatio),
        ("exp_root", rules.ExpDelayRoot),
    ]:
        for name in ("abs", "adasync"):
            p = parse_policy(f"{name}:k0=1,t0=3,k_rule={word}")
            assert type(p.k_rule) is rule and p.k_rule.t0 == 3.0
    p = parse_policy("abs:k0=1,t0=3,tau=3")
    assert p.tau == 3 and p.tau_rule is None  # a constant bound
    p = parse_policy("sa_adasync:k0=1,t0=3")
    assert p.weight == staleness.inverse()
    p = parse_policy("sa_adasync:k0=1,t0=3,step=distance,c=0.05")
    assert p.weight == staleness.distance(c=0.05)
    assert parse_policy("sa_adasync:k0=1,t0=3,step=distance").weight == (
        staleness.distance()
    )
    assert "give step=distance" in _error("sa_adasync:c=0.05")


@pytest.mark.parametrize(
    "spec,needle",
    [
        ("rennala:b=0", "policy 'rennala': b=0 must be an integer in [1, num_workers"),
        ("abs:k0=9", "policy 'abs': k0=9 must be an integer in [1, num_workers=8]"),
        ("abs:loss_decay=2", "loss_decay=2.0 must be a number in (0, 1]"),
        ("abs:t0=nan", "t0=nan must be a number > 0"),
        ("ringmaster:variant=x", "variant='x' must be one of discard, stop"),
        ("adasync:base=sync", "base='sync' must be one of k_sync, k_async"),
        ("abs:k_rule=x", "k_rule='x' must be one of adasync, loss_ratio, exp_root"),
    ],
)
def test_messages_name_the_users_parameter(spec, needle):
    assert needle in _error(spec)


def test_defaults_that_need_the_run_say_so():
    derived = [
        (name, key)
        for name, entry in REGISTRY.items()
        for key, param in entry.params.items()
        if isinstance(param.default, Derived)
    ]
    assert derived
    for name, key in derived:
        others = ",".join(f"{k}=1" for n, k in derived if n == name and k != key)
        spec = f"{name}:{others}" if others else name
        message = _error(spec, num_workers=None, delay=None)
        assert message.startswith(f"policy {name!r}: {key} has no default"), message
    message = _error("abs:k0=1", delay=None)
    assert "t0 has no default without mean_duration" in message
