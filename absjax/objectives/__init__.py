"""Training objectives: what a job computes and how the loss is measured.

An objective owns its data (a pytree of arrays, generated once from
``data_seed`` so that every simulated seed trains on the same problem) and four
pure functions the engine calls:

- ``init(data) -> w``: the initial model ``w_0`` (a pytree);
- ``sample(key, data, worker) -> batch``: the randomness of one job (a
  minibatch) of worker ``worker`` (``()`` int32; objectives with per-worker data
  shards sample from that worker's shard, the others ignore it);
- ``gradient(data, w, batch) -> g``: the stochastic gradient of one job;
- ``batch_loss(data, w, batch) -> ()``: the loss of that minibatch at ``w``,
  what a worker computes alongside its gradient and the server may observe;
- ``loss(data, w)`` and ``metric(data, w)``: the logged training loss (exact
  over the whole training set or in closed form) and a test metric (``nan``
  where the objective has none).

The modules: :mod:`~absjax.objectives.base` (the ``Objective`` base class,
``uniform_indices``), :mod:`~absjax.objectives.convex` (``quadratic``,
``linreg``, ``logreg``, ``timing_only``), :mod:`~absjax.objectives.networks`
(``MLP`` and ``CNN``, on the shared :mod:`~absjax.objectives.classifier`),
:mod:`~absjax.objectives.datasets` (the CIFAR-10 and MNIST readers),
:mod:`~absjax.objectives.digits` (scikit-learn's digits),
:mod:`~absjax.objectives.partition` (non-i.i.d. worker splits) and
:mod:`~absjax.objectives.spec` (one SPEC registry for every objective).

>>> import jax
>>> obj = quadratic(dim=4, noise=0.0)
>>> w = obj.init(obj.data)
>>> g = obj.gradient(obj.data, w, obj.sample(jax.random.key(0), obj.data, 0))
>>> bool(jax.numpy.allclose(g, obj.data["h"] * w))
True
"""

from absjax.objectives import datasets, digits, networks, partition
from absjax.objectives.base import Data, Objective, uniform_indices
from absjax.objectives.convex import (
    LinearRegression,
    Quadratic,
    SoftmaxRegression,
    TimingOnly,
    linreg,
    logreg,
    quadratic,
    timing_only,
)
from absjax.objectives.networks import CNN, MLP, cnn, mlp
from absjax.objectives.spec import as_objective, parse_objective

__all__ = [
    "CNN",
    "Data",
    "LinearRegression",
    "MLP",
    "Objective",
    "Quadratic",
    "SoftmaxRegression",
    "TimingOnly",
    "as_objective",
    "cnn",
    "datasets",
    "digits",
    "linreg",
    "logreg",
    "mlp",
    "networks",
    "parse_objective",
    "partition",
    "quadratic",
    "timing_only",
    "uniform_indices",
]
