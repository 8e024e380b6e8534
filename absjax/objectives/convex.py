"""Objectives with closed-form or exact losses, and the timing-only one.

The noisy quadratic (exact loss), least squares on a synthetic data set (exact
loss through the least-squares solution), softmax regression on a synthetic
teacher (test accuracy as the metric), and :class:`TimingOnly`, which has no
model at all.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from absjax._limits import LIMIT_SHARE, device_limit
from absjax._validate import check_int, check_real
from absjax.objectives.base import Data, Objective, _check_dataset, uniform_indices


@dataclasses.dataclass(frozen=True, eq=False)
class Quadratic(Objective):
    """Noisy quadratic ``F(w) = 0.5 * sum_j h_j w_j^2`` with exact loss.

    A job's gradient is ``h * w + noise * z`` with ``z ~ N(0, I)``, so the
    gradient variance per coordinate is ``noise^2``. The Hessian spectrum ``h``
    is spaced linearly from ``hmin`` to ``hmax`` unless ``spectrum`` is given;
    ``w_0 = init * ones`` and ``F* = 0``.

    Parameters
    ----------
    dim : int, default 100
        Dimension, ``>= 1``.
    noise : float, default 0.1
        Gradient noise standard deviation per coordinate, ``>= 0``.
    hmin, hmax : float
        Ends of the linear Hessian spectrum, ``0 < hmin <= hmax`` (defaults
        0.1 and 1.0).
    init_scale : float, default 1.0
        ``w_0 = init_scale * ones``.
    spectrum : tuple of float, optional
        ``dim`` positive Hessian eigenvalues, instead of the linear spectrum.

    Raises
    ------
    ValueError
        If a field is outside its range (the message names it).
    """

    dim: int = 100
    noise: float = 0.1
    hmin: float = 0.1
    hmax: float = 1.0
    init_scale: float = 1.0
    spectrum: tuple[float, ...] | None = None
    name: ClassVar[str] = "quadratic"

    def __post_init__(self):
        check_int("dim", self.dim)
        check_real("noise", self.noise, 0.0)
        check_real("hmin", self.hmin, 0.0, strict_low=True)
        check_real("hmax", self.hmax, 0.0, strict_low=True)
        check_real("init_scale", self.init_scale, 0.0)
        if self.hmin > self.hmax:
            raise ValueError(f"hmin={self.hmin} must be <= hmax={self.hmax}")
        if self.spectrum is not None:
            spec = tuple(float(h) for h in self.spectrum)
            if len(spec) != self.dim or not all(
                h > 0 and math.isfinite(h) for h in spec
            ):
                raise ValueError(f"spectrum must hold dim={self.dim} positive numbers")
            object.__setattr__(self, "spectrum", spec)

    @property
    def data(self) -> Data:
        if self.spectrum is not None:
            h = jnp.asarray(self.spectrum)
        else:
            h = jnp.linspace(self.hmin, self.hmax, self.dim)
        return {"h": h, "noise": jnp.asarray(self.noise)}

    def init(self, data):
        return jnp.full_like(data["h"], self.init_scale)

    def sample(self, key, data, worker=0):
        return jax.random.normal(key, data["h"].shape, data["h"].dtype)

    def gradient(self, data, w, batch):
        return data["h"] * w + data["noise"] * batch

    def batch_loss(self, data, w, batch):
        # The loss whose gradient is the job's: unbiased for F(w).
        return self.loss(data, w) + data["noise"] * jnp.sum(batch * w)

    def loss(self, data, w):
        return 0.5 * jnp.sum(data["h"] * w**2)


_BLOCK = 1 << 20  # values drawn in float64 at a time


def _regression_data(
    seed: int, samples: int, dim: int, name: str, per_value: int, extra: int = 0
):
    """The generator and the ``(samples, dim)`` float32 matrix ``X``.

    The rows are drawn in blocks of about ``_BLOCK`` values, each in float64
    and then rounded: the generator's stream is the same as one draw of the
    whole matrix, so ``X`` is too, without a float64 copy of it. First, the
    bytes the data set needs (``per_value`` per entry of ``X``, plus
    ``extra``) are checked against the memory available, as a run's are.
    """
    need = samples * dim * per_value + extra
    limit, what = device_limit()
    if need > LIMIT_SHARE * limit:
        raise ValueError(
            f"{name}: a data set of {samples} rows x dim={dim} needs an estimated "
            f"{need / 2**30:.3g} GiB for its data set, more than "
            f"{LIMIT_SHARE:.0%} of the {limit / 2**30:.3g} GiB of {what}: "
            "use fewer samples or a smaller dim"
        )
    rng = np.random.default_rng(seed)
    x = np.empty((samples, dim), np.float32)
    rows = max(1, _BLOCK // dim)
    for start in range(0, samples, rows):
        block = x[start : start + rows]
        block[...] = rng.standard_normal(block.shape)
    return rng, x


@dataclasses.dataclass(frozen=True, eq=False)
class LinearRegression(Objective):
    """Least squares ``F(w) = mean((X w - y)^2) / 2`` on a synthetic data set.

    ``X`` has i.i.d. standard normal entries, ``y = X w_true + noise * eps`` with
    ``w_true ~ N(0, I / dim)``; a job samples ``batch`` rows with replacement.
    The logged loss is exact over the whole training set, computed from the
    least-squares solution and the Gram matrix ``X^T X / n`` (precomputed in
    float64) in ``O(dim^2)``; ``w_0 = 0``.

    Parameters
    ----------
    dim : int, default 100
        Features, ``>= 1``.
    samples : int, default 4096
        Training rows.
    batch : int, default 32
        Rows per job, drawn with replacement.
    noise : float, default 0.1
        Label noise standard deviation, ``>= 0``.
    data_seed : int, default 0
        Seed of the data set.

    Raises
    ------
    ValueError
        If a field is outside its range (the message names it).
    """

    dim: int = 100
    samples: int = 4096
    batch: int = 32
    noise: float = 0.1
    data_seed: int = 0
    name: ClassVar[str] = "linreg"

    def __post_init__(self):
        _check_dataset(self)

    @property
    def data(self) -> Data:
        if self._data is None:
            # Per entry of X: float32 X, its float64 copy for the exact loss,
            # lstsq's float64 work copy and the float32 copy on the device;
            # and the float64 Gram matrix.
            rng, x = _regression_data(
                self.data_seed,
                self.samples,
                self.dim,
                "linreg",
                4 + 8 + 8 + 4,
                extra=8 * self.dim**2,
            )
            w_true = rng.standard_normal(self.dim) / math.sqrt(self.dim)
            # The loss is exact through the least-squares solution w* (float64):
            # F(w) = F* + (w - w*)' G (w - w*) / 2 with G = X'X / n, which has
            # no cancellation near the optimum (unlike w'Gw - 2b'w + c).
            x64 = x.astype(np.float64)  # what x @ w_true would make of x
            y = x64 @ w_true + self.noise * rng.standard_normal(self.samples)
            y64 = y.astype(np.float64)
            w_star = np.linalg.lstsq(x64, y64, rcond=None)[0]
            f_star = 0.5 * np.mean((x64 @ w_star - y64) ** 2)
            data = {
                "x": jnp.asarray(x, float),
                "y": jnp.asarray(y, float),
                "gram": jnp.asarray(x64.T @ x64 / self.samples, float),
                "w_star": jnp.asarray(w_star, float),
                "f_star": jnp.asarray(f_star, float),
            }
            object.__setattr__(self, "_data", data)
        return self._data

    def init(self, data):
        return jnp.zeros(data["x"].shape[1], data["x"].dtype)

    def sample(self, key, data, worker=0):
        return uniform_indices(key, (self.batch,), data["x"].shape[0])

    def gradient(self, data, w, batch):
        x, y = data["x"][batch], data["y"][batch]
        return x.T @ (x @ w - y) / self.batch

    def batch_loss(self, data, w, batch):
        return 0.5 * jnp.mean((data["x"][batch] @ w - data["y"][batch]) ** 2)

    def loss(self, data, w):
        d = w - data["w_star"]
        return data["f_star"] + 0.5 * d @ data["gram"] @ d


@dataclasses.dataclass(frozen=True, eq=False)
class SoftmaxRegression(Objective):
    """Multinomial logistic regression on a synthetic teacher data set.

    Features are standard normal; labels are ``argmax(X W* + noise * G)`` with a
    random teacher ``W*`` (scaled so logits have unit variance per class) and
    Gumbel noise ``G``, so ``noise`` sets the Bayes error. The model is a
    ``(dim, classes)`` weight matrix and a bias, ``w_0 = 0``. The loss is the
    mean cross-entropy over the training set; the metric is accuracy on a
    held-out test set of ``test_samples`` rows.

    Parameters
    ----------
    dim : int, default 20
        Features, ``>= 1``.
    classes : int, default 5
        Classes, ``>= 2``.
    samples : int, default 4096
        Training rows.
    test_samples : int, default 1024
        Held-out test rows.
    batch : int, default 32
        Rows per job, drawn with replacement.
    noise : float, default 0.5
        Scale of the Gumbel label noise, ``>= 0`` (sets the Bayes error).
    data_seed : int, default 0
        Seed of the data set.

    Raises
    ------
    ValueError
        If a field is outside its range (the message names it).
    """

    dim: int = 20
    classes: int = 5
    samples: int = 4096
    test_samples: int = 1024
    batch: int = 32
    noise: float = 0.5
    data_seed: int = 0
    name: ClassVar[str] = "logreg"
    has_metric: ClassVar[bool] = True
    metric_name: ClassVar[str] = "test_accuracy"

    def __post_init__(self):
        _check_dataset(self)
        check_int("classes", self.classes, low=2)
        check_int("test_samples", self.test_samples)

    @property
    def data(self) -> Data:
        if self._data is None:
            total = self.samples + self.test_samples
            # Per entry of X: float32 X, the float64 cast in X @ teacher and the
            # float32 copy on the device.
            rng, x = _regression_data(self.data_seed, total, self.dim, "logreg", 16)
            teacher = rng.standard_normal((self.dim, self.classes)) / math.sqrt(
                self.dim
            )
            logits = x @ teacher + self.noise * rng.gumbel(size=(total, self.classes))
            labels = np.argmax(logits, axis=1).astype(np.int32)
            n = self.samples
            data = {
                "x": jnp.asarray(x[:n], float),
                "y": jnp.asarray(labels[:n]),
                "x_test": jnp.asarray(x[n:], float),
                "y_test": jnp.asarray(labels[n:]),
            }
            object.__setattr__(self, "_data", data)
        return self._data

    def init(self, data):
        dim = data["x"].shape[1]
        return {
            "weights": jnp.zeros((dim, self.classes)),
            "bias": jnp.zeros((self.classes,)),
        }

    def sample(self, key, data, worker=0):
        return uniform_indices(key, (self.batch,), data["x"].shape[0])

    def _cross_entropy(self, w, x, y):
        logits = x @ w["weights"] + w["bias"]
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def gradient(self, data, w, batch):
        return jax.grad(self._cross_entropy)(w, data["x"][batch], data["y"][batch])

    def batch_loss(self, data, w, batch):
        return self._cross_entropy(w, data["x"][batch], data["y"][batch])

    def loss(self, data, w):
        return self._cross_entropy(w, data["x"], data["y"])

    def metric(self, data, w):
        logits = data["x_test"] @ w["weights"] + w["bias"]
        return jnp.mean(jnp.argmax(logits, axis=1) == data["y_test"]).astype(float)


@dataclasses.dataclass(frozen=True, eq=False)
class TimingOnly(Objective):
    """No model: only the delays and the policy are simulated.

    The fast way to study round times, staleness, waste and idle time, or to
    calibrate a delay model against a few measured iterations: the model is
    one number that never changes (an empty array would trip ``lax.map``),
    updates cost nothing, and ``loss`` is logged as ``nan`` (never counted as
    divergence).

    >>> obj = timing_only()
    >>> obj.init(obj.data).shape
    (1,)
    """

    name: ClassVar[str] = "timing"
    has_loss: ClassVar[bool] = False

    @property
    def data(self) -> Data:
        return {}

    def init(self, data):
        return jnp.zeros((1,))

    def sample(self, key, data, worker=0):
        return ()

    def gradient(self, data, w, batch):
        return jnp.zeros_like(w)

    def batch_loss(self, data, w, batch):
        return jnp.asarray(jnp.nan)

    def loss(self, data, w):
        return jnp.asarray(jnp.nan)


quadratic = Quadratic
linreg = LinearRegression
logreg = SoftmaxRegression
timing_only = TimingOnly
