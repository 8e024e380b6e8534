"""Training objectives (``absjax/objectives/``).

Tolerances (style point 12):
- Monte-Carlo means of stochastic gradients: per-coordinate z-test
  ``|mean - theory| / (sd / sqrt(M)) < 4`` over ``M = 20000`` jobs;
- ``uniform_indices``: per-bin z-test ``< 4`` (n = 7) and the normal
  approximation of the chi-square statistic ``(chi2 - dof) / sqrt(2 dof) < 4``
  (n = 4096), plus bit-exact agreement with ``floor(u * n / 2^32)``;
- closed forms in float32: ``rtol = 1e-5`` (elementwise) and ``rtol = 1e-4`` for
  the Gram-matrix loss (a sum over ``dim^2`` float32 terms).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import absjax
from absjax import objectives
from absjax.objectives import uniform_indices

M = 20_000
Z_MAX = 4.0


def _gradients(obj, w, key, m=M):
    """``m`` stochastic gradients of independent jobs at ``w``, jitted."""
    data = obj.data

    @jax.jit
    def draw(keys):
        return jax.vmap(lambda k: obj.gradient(data, w, obj.sample(k, data)))(keys)

    return draw(jax.random.split(key, m))


def _assert_unbiased(g, expected):
    g = np.asarray(g, np.float64).reshape(g.shape[0], -1)
    expected = np.asarray(expected, np.float64).reshape(-1)
    se = g.std(axis=0) / math.sqrt(g.shape[0])
    z = np.abs(g.mean(axis=0) - expected) / se
    assert np.all(z < Z_MAX), z


# ---------------------------------------------------------------- quadratic
def test_quadratic_data_init_and_loss():
    obj = objectives.quadratic(dim=3, noise=0.2, hmin=1.0, hmax=3.0, init_scale=2.0)
    data = obj.data
    np.testing.assert_allclose(data["h"], [1.0, 2.0, 3.0], rtol=1e-6)
    w0 = obj.init(data)
    np.testing.assert_array_equal(w0, [2.0, 2.0, 2.0])
    # F(w0) = 0.5 * (1 + 2 + 3) * 4 = 12; F(w) = 0.5 * (1*1 + 2*4 + 3*0.25) = 4.875
    assert float(obj.loss(data, w0)) == pytest.approx(12.0, rel=1e-6)
    w = jnp.asarray([1.0, -2.0, 0.5])
    assert float(obj.loss(data, w)) == pytest.approx(4.875, rel=1e-6)
    assert float(obj.loss(data, jnp.zeros(3))) == 0.0
    assert np.isnan(float(obj.metric(data, w)))
    assert not obj.has_metric


def test_quadratic_spectrum():
    obj = objectives.quadratic(dim=2, spectrum=(0.5, 4))
    np.testing.assert_array_equal(obj.data["h"], [0.5, 4.0])
    assert float(obj.loss(obj.data, jnp.ones(2))) == pytest.approx(2.25, rel=1e-6)


def test_quadratic_gradient_formula():
    obj = objectives.quadratic(dim=5, noise=0.3)
    data, w = obj.data, jnp.linspace(-1.0, 2.0, 5)
    z = obj.sample(jax.random.key(0), data)
    assert z.shape == (5,)
    g = obj.gradient(data, w, z)
    np.testing.assert_allclose(g, data["h"] * w + 0.3 * z, rtol=1e-6)
    noiseless = objectives.quadratic(dim=5, noise=0.0)
    np.testing.assert_array_equal(
        noiseless.gradient(noiseless.data, w, z), noiseless.data["h"] * w
    )


def test_quadratic_gradient_unbiased_with_noise_variance():
    obj = objectives.quadratic(dim=8, noise=0.3, hmin=0.1, hmax=2.0)
    w = jnp.linspace(-1.0, 1.0, 8)
    g = _gradients(obj, w, jax.random.key(1))
    assert g.shape == (M, 8)
    _assert_unbiased(g, obj.data["h"] * w)
    # Per-coordinate variance noise^2; the sample variance of M Gaussians has
    # relative sd sqrt(2 / M) = 1%, so 5% is five standard errors.
    np.testing.assert_allclose(np.var(np.asarray(g), axis=0), 0.09, rtol=0.05)


# ---------------------------------------------------------------- linreg
def _linreg(**kw):
    return objectives.linreg(**{"dim": 5, "samples": 64, "batch": 4, **kw})


def test_linreg_data():
    obj = _linreg(noise=0.5)
    data = obj.data
    x = np.asarray(data["x"], np.float64)
    y = np.asarray(data["y"], np.float64)
    assert x.shape == (64, 5) and y.shape == (64,)
    np.testing.assert_allclose(data["gram"], x.T @ x / 64, rtol=1e-5, atol=1e-6)
    w_star = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(data["w_star"], w_star, rtol=1e-4, atol=1e-6)
    f_star = 0.5 * np.mean((x @ w_star - y) ** 2)
    np.testing.assert_allclose(data["f_star"], f_star, rtol=1e-4)
    np.testing.assert_array_equal(obj.init(data), np.zeros(5))
    idx = obj.sample(jax.random.key(0), data)
    assert idx.shape == (4,) and idx.dtype == jnp.int32
    assert obj.data is data  # generated once per object


def test_linreg_data_seed():
    a, b, c = _linreg(data_seed=3), _linreg(data_seed=3), _linreg(data_seed=4)
    for k in ("x", "y"):
        np.testing.assert_array_equal(a.data[k], b.data[k])
        assert not np.allclose(a.data[k], c.data[k])


def test_linreg_gradient_formula():
    obj = _linreg(noise=0.5)
    data = obj.data
    w = jnp.asarray([0.3, -1.0, 0.5, 2.0, 0.0])
    idx = jnp.asarray([0, 5, 5, 63])  # with replacement: row 5 twice
    x = np.asarray(data["x"], np.float64)[np.asarray(idx)]
    y = np.asarray(data["y"], np.float64)[np.asarray(idx)]
    expected = x.T @ (x @ np.asarray(w, np.float64) - y) / 4
    np.testing.assert_allclose(obj.gradient(data, w, idx), expected, rtol=1e-5)


def test_linreg_gradient_unbiased():
    obj = _linreg(noise=0.5)
    data = obj.data
    w = jnp.asarray([0.3, -1.0, 0.5, 2.0, 0.0])
    x = np.asarray(data["x"], np.float64)
    y = np.asarray(data["y"], np.float64)
    full = x.T @ (x @ np.asarray(w, np.float64) - y) / x.shape[0]
    _assert_unbiased(_gradients(obj, w, jax.random.key(2)), full)


@pytest.mark.parametrize("noise", [0.1, 0.0])
def test_linreg_loss_matches_direct(noise):
    obj = objectives.linreg(dim=20, samples=512, noise=noise, data_seed=1)
    data = obj.data
    x = np.asarray(data["x"], np.float64)
    y = np.asarray(data["y"], np.float64)
    rng = np.random.default_rng(0)
    for w in (np.zeros(20), rng.standard_normal(20), 0.1 * rng.standard_normal(20)):
        w32 = jnp.asarray(w, jnp.float32)
        direct = 0.5 * np.mean((x @ np.asarray(w32, np.float64) - y) ** 2)
        np.testing.assert_allclose(float(obj.loss(data, w32)), direct, rtol=1e-4)


def test_linreg_loss_at_least_squares_optimum():
    """Default noise: at the optimum the loss is the noise floor, to 1e-4."""
    obj = objectives.linreg(dim=20, samples=512, noise=0.1, data_seed=1)
    data = obj.data
    x = np.asarray(data["x"], np.float64)
    y = np.asarray(data["y"], np.float64)
    w32 = jnp.asarray(np.linalg.lstsq(x, y, rcond=None)[0], jnp.float32)
    direct = 0.5 * np.mean((x @ np.asarray(w32, np.float64) - y) ** 2)
    np.testing.assert_allclose(float(obj.loss(data, w32)), direct, rtol=1e-4)


def test_linreg_loss_at_optimum_small_noise():
    obj = objectives.linreg(dim=100, samples=4096, noise=0.01)
    data = obj.data
    x = np.asarray(data["x"], np.float64)
    y = np.asarray(data["y"], np.float64)
    w32 = jnp.asarray(np.linalg.lstsq(x, y, rcond=None)[0], jnp.float32)
    direct = 0.5 * np.mean((x @ np.asarray(w32, np.float64) - y) ** 2)
    np.testing.assert_allclose(float(obj.loss(data, w32)), direct, rtol=1e-4)


# ---------------------------------------------------------------- indices
@pytest.mark.parametrize("n", [1, 7, 4096, 65535, 2**16])
def test_uniform_indices_is_exact_multiply_shift(n):
    """Bit-exact ``floor(u * n / 2^32)`` of the same 32-bit words."""
    key = jax.random.key(5)
    idx = np.asarray(uniform_indices(key, (10_000,), n))
    u = np.asarray(jax.random.bits(key, (10_000,), jnp.uint32)).astype(np.uint64)
    np.testing.assert_array_equal(idx, (u * np.uint64(n)) >> np.uint64(32))
    assert idx.min() >= 0 and idx.max() < n


@pytest.mark.parametrize("n, draws", [(7, 700_000), (4096, 4096 * 250)])
def test_uniform_indices_uniform(n, draws):
    idx = jax.jit(lambda k: uniform_indices(k, (draws,), n))(jax.random.key(6))
    assert idx.dtype == jnp.int32
    idx = np.asarray(idx)
    assert idx.min() >= 0 and idx.max() < n
    counts = np.bincount(idx, minlength=n).astype(np.float64)
    assert counts.size == n
    p = 1.0 / n
    z = np.abs(counts - draws * p) / math.sqrt(draws * p * (1 - p))
    if n <= 16:
        assert np.all(z < Z_MAX), z
    else:
        chi2 = np.sum((counts - draws * p) ** 2 / (draws * p))
        dof = n - 1
        assert abs(chi2 - dof) / math.sqrt(2 * dof) < Z_MAX, chi2


def test_uniform_indices_large_n_in_range():
    n = 100_003  # above 2^16: the randint path
    idx = np.asarray(uniform_indices(jax.random.key(7), (50_000,), n))
    assert idx.min() >= 0 and idx.max() < n
    # The mean of U{0..n-1} is (n-1)/2 with sd n/sqrt(12): z-test.
    se = n / math.sqrt(12) / math.sqrt(idx.size)
    assert abs(idx.mean() - (n - 1) / 2) / se < Z_MAX


# ---------------------------------------------------------------- logreg
def _logreg(**kw):
    return objectives.logreg(
        **{"dim": 6, "classes": 4, "samples": 256, "test_samples": 512, **kw}
    )


def test_logreg_data_shapes():
    obj = _logreg(batch=16)
    data = obj.data
    assert data["x"].shape == (256, 6) and data["x_test"].shape == (512, 6)
    assert data["y"].shape == (256,) and data["y_test"].shape == (512,)
    for y in (np.asarray(data["y"]), np.asarray(data["y_test"])):
        assert y.dtype == np.int32
        assert y.min() >= 0 and y.max() < 4
    w = obj.init(data)
    assert w["weights"].shape == (6, 4) and w["bias"].shape == (4,)
    assert not np.any(np.asarray(w["weights"])) and not np.any(np.asarray(w["bias"]))
    batch = np.asarray(obj.sample(jax.random.key(0), data))
    assert batch.shape == (16,) and batch.min() >= 0 and batch.max() < 256
    assert obj.has_metric and obj.metric_name == "test_accuracy"


def test_logreg_data_seed():
    a, b, c = _logreg(data_seed=1), _logreg(data_seed=1), _logreg(data_seed=2)
    for k in ("x", "y", "x_test", "y_test"):
        np.testing.assert_array_equal(a.data[k], b.data[k])
        assert not np.array_equal(a.data[k], c.data[k])


def _mean_cross_entropy(w, x, y):
    """Written independently of the module: -mean log softmax(x W + b)[y]."""
    logits = x @ w["weights"] + w["bias"]
    logz = jax.scipy.special.logsumexp(logits, axis=1)
    return jnp.mean(logz - logits[jnp.arange(y.shape[0]), y])


def _random_w(key, dim=6, classes=4):
    kw, kb = jax.random.split(key)
    return {
        "weights": jax.random.normal(kw, (dim, classes)),
        "bias": jax.random.normal(kb, (classes,)),
    }


def test_logreg_gradient_is_grad_of_batch_cross_entropy():
    obj = _logreg(batch=16)
    data = obj.data
    w = _random_w(jax.random.key(1))
    batch = obj.sample(jax.random.key(2), data)
    x, y = data["x"][batch], data["y"][batch]
    g = jax.jit(obj.gradient)(data, w, batch)
    expected = jax.jit(jax.grad(_mean_cross_entropy))(w, x, y)
    for k in ("weights", "bias"):
        np.testing.assert_allclose(g[k], expected[k], rtol=1e-5, atol=1e-6)
    # And the closed form: dW = X^T (softmax - onehot) / B, db = mean(...).
    r = jax.nn.softmax(x @ w["weights"] + w["bias"]) - jax.nn.one_hot(y, 4)
    np.testing.assert_allclose(g["weights"], x.T @ r / 16, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g["bias"], r.mean(axis=0), rtol=1e-5, atol=1e-6)


def test_logreg_loss_is_mean_cross_entropy():
    obj = _logreg()
    data = obj.data
    w0 = obj.init(data)
    assert float(obj.loss(data, w0)) == pytest.approx(math.log(4), rel=1e-6)
    w = _random_w(jax.random.key(3))
    expected = jax.jit(_mean_cross_entropy)(w, data["x"], data["y"])
    loss = jax.jit(obj.loss)(data, w)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def test_logreg_accuracy_of_zero_model():
    """At ``w = 0`` all logits tie, argmax picks class 0: accuracy = P(y = 0)."""
    obj = _logreg()
    data = obj.data
    y_test = np.asarray(data["y_test"])
    acc = float(obj.metric(data, obj.init(data)))
    assert acc == pytest.approx(np.mean(y_test == 0), abs=1e-7)
    # Plausible labels: every class occurs, none dominates.
    freq = np.bincount(y_test, minlength=4) / y_test.size
    assert np.all(freq > 0.05) and np.all(freq < 0.7), freq
    # A model that knows the labels' direction beats chance.
    x = np.asarray(data["x"], np.float64)
    onehot = np.eye(4)[np.asarray(data["y"])]
    w_ls = np.linalg.lstsq(x, onehot - onehot.mean(0), rcond=None)[0]
    w = {"weights": jnp.asarray(w_ls, jnp.float32), "bias": jnp.zeros(4)}
    assert float(obj.metric(data, w)) > 0.5


def test_non_numeric_objective_parameter_raises_value_error():
    with pytest.raises(ValueError, match="noise='0.1'"):
        objectives.quadratic(noise="0.1")


# ---------------------------------------------------------------- specs
@pytest.mark.parametrize(
    "spec, expected",
    [
        ("quadratic:dim=4,noise=0", dict(dim=4, noise=0.0)),
        ("quadratic:hmin=0.5,hmax=2,init_scale=3", dict(hmin=0.5, init_scale=3.0)),
        ("linreg:dim=10,samples=128,batch=8,data_seed=2", dict(samples=128, batch=8)),
        ("logreg:classes=3,test_samples=64,noise=0.2", dict(classes=3, noise=0.2)),
        ("logreg", dict(dim=20, classes=5)),
    ],
)
def test_parse_objective(spec, expected):
    obj = objectives.parse_objective(spec)
    assert obj.name == spec.partition(":")[0]
    for key, value in expected.items():
        assert getattr(obj, key) == value
        assert type(getattr(obj, key)) is type(value)
    assert objectives.as_objective(spec).name == obj.name
    assert objectives.as_objective(obj) is obj


INVALID = [
    ("quadratic:dim=0", "dim=0"),
    ("quadratic:dim=2.5", "dim='2.5' is not a valid int"),
    ("quadratic:noise=-1", "noise=-1.0"),
    ("quadratic:noise=nan", "noise=nan"),
    ("quadratic:hmin=0", "hmin=0.0"),
    ("quadratic:hmin=2,hmax=1", "hmin=2.0 must be <= hmax=1.0"),
    ("quadratic:init_scale=-1", "init_scale=-1.0"),
    ("linreg:dim=0", "dim=0"),
    ("linreg:batch=0", "batch=0"),
    ("linreg:samples=0", "samples=0"),
    ("linreg:data_seed=-1", "data_seed=-1"),
    ("linreg:noise=-0.5", "noise=-0.5"),
    ("logreg:classes=1", "classes=1"),
    ("logreg:batch=0", "batch=0"),
    ("logreg:test_samples=0", "test_samples=0"),
    ("linreg:rows=10", "no parameter 'rows'"),
    ("quadratic:spectrum=1", "no parameter 'spectrum'"),
    ("quadratic:dim=3,dim=4", "key 'dim' given twice"),
    ("linreg:dim", "item 'dim' must look like key=value"),
    ("resnet:depth=3", "unknown objective 'resnet'"),
    ("", "spec="),
]


@pytest.mark.parametrize("spec, match", INVALID, ids=[s for s, _ in INVALID])
def test_invalid_objective_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        objectives.parse_objective(spec)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: objectives.quadratic(dim=0), "dim=0"),
        (lambda: objectives.quadratic(dim=2.0), "dim=2.0"),
        (lambda: objectives.quadratic(dim=True), "dim=True"),
        (lambda: objectives.quadratic(noise=-1.0), "noise=-1.0"),
        (lambda: objectives.quadratic(hmin=2.0, hmax=1.0), "hmin=2.0"),
        (lambda: objectives.quadratic(dim=2, spectrum=(1.0,)), "spectrum"),
        (lambda: objectives.quadratic(dim=2, spectrum=(1.0, 0.0)), "spectrum"),
        (lambda: objectives.linreg(batch=0), "batch=0"),
        (lambda: objectives.linreg(noise=math.inf), "noise=inf"),
        (lambda: objectives.logreg(classes=1), "classes=1"),
        (lambda: objectives.logreg(dim=-3), "dim=-3"),
        (lambda: objectives.as_objective(3), "objective=3"),
    ],
)
def test_invalid_objective_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _old_regression_data(seed, samples, dim, noise):
    """The linreg data as drawn before blocks: whole, through float64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, dim)).astype(np.float32)
    w_true = rng.standard_normal(dim) / np.sqrt(dim)
    y = x @ w_true + noise * rng.standard_normal(samples)
    return x, y


@pytest.mark.parametrize(
    "dim, samples", [(100, 4096), (6, 64), (8, 256), (3, 16), (1, 5), (1500, 1000)]
)
def test_linreg_data_bit_identical_to_the_whole_draw(dim, samples):
    objective = objectives.linreg(dim=dim, samples=samples, data_seed=2)
    x, y = _old_regression_data(2, samples, dim, objective.noise)
    data = objective.data
    np.testing.assert_array_equal(np.asarray(data["x"]), jnp.asarray(x, float))
    np.testing.assert_array_equal(np.asarray(data["y"]), jnp.asarray(y, float))


def test_logreg_data_bit_identical_to_the_whole_draw():
    objective = objectives.logreg(dim=30, classes=3, samples=200, test_samples=50)
    rng = np.random.default_rng(objective.data_seed)
    x = rng.standard_normal((250, 30)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(objective.data["x"]), x[:200])
    np.testing.assert_array_equal(np.asarray(objective.data["x_test"]), x[200:])


@pytest.mark.parametrize(
    "spec, name",
    [
        ("linreg:dim=100000,samples=1000000,batch=32", "linreg"),
        ("logreg:dim=100000,samples=1000000,batch=32", "logreg"),
    ],
)
def test_a_data_set_beyond_memory_is_refused_before_allocating(spec, name):
    objective = objectives.parse_objective(spec)
    with pytest.raises(
        ValueError, match=rf"{name}: a data set of \d+ rows x dim=100000 "
    ):
        _ = objective.data
    with pytest.raises(ValueError, match=r"needs an estimated [\d.e+]+ GiB"):
        absjax.Simulator(4, absjax.policies.k_async(2), "exp", objective)
