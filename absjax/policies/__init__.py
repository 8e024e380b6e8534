"""Aggregation policies of the parameter server and their round mechanics.

A policy says when a round ends, which workers restart on the new model, which
keep computing on an old one and which jobs are cancelled (docs: Concepts >
The six mechanics, docs/concepts.md#concepts-mechanics):

=============== ===================================== ============ =============
policy          round ends when                       restart      cancelled
=============== ===================================== ============ =============
sync            all N finished                        all          -
k_sync(K)       K-th of the N jobs started on w_t     all          N-K slowest
k_batch_sync(K) K updates in total, finishers at      all          in progress
                once recompute on the same w_t
k_async(K)      K-th finish among current jobs        the K        -
k_batch_async   K arrivals, each finisher pulls the   each on      -
                current model and restarts at once    arrival
async           every arrival (= k_async(1))          the arriver  -
=============== ===================================== ============ =============

A staleness bound ``tau`` (asynchronous policies) adds the restart rule: after
round t every worker whose job would have staleness ``(t+1) - b > tau`` in the
next round abandons it (wasted) and restarts on ``w_{t+1}``.

Every policy is one of these six round mechanics (its ``base``) plus optional
parts, each an explicit parameter:

- ``k_rule`` / ``tau_rule``: how K and tau change between rounds
  (:mod:`absjax.rules`; default: fixed);
- ``local_steps`` U: a job runs U local SGD steps from the model it read,
  ``v_{j+1} = v_j - local_lr g(v_j; xi_j)``, and pushes ``u = sum_j g(v_j;
  xi_j)`` (``= (w_b - v_U) / local_lr``); its duration is the sum of U step
  draws (``local_duration="sum"``) or one draw times U (``"scaled"``);
- ``ssp`` s (base ``async``): a worker more than s pushes ahead of the slowest
  idles until it is not (blocked workers restart at the round end at which the
  slowest catches up);
- ``discard`` R (base ``k_batch_async``): an arrival with staleness ``>= R`` is
  discarded (wasted, not aggregated) and its worker restarts at once on
  ``w_t``; the round ends at the K-th accepted arrival;
- ``weight``: a staleness weight the policy prescribes (SA-AdaSync).

The named policies built from them (docs: Concepts > The named policies,
docs/concepts.md#concepts-policies):

================ ========================================================
``abs_``          k_async + AdaSync K rule + tau = ceil(kappa (N-K)/K) + U
``adasync``       k_sync or k_async + AdaSync K rule
``sa_adasync``    adasync over k_async, weight ``1 / max(1, s)``
``local_sgd``     sync (or k_sync) with U local steps
``ssp``           async with the SSP block rule
``rennala``       k_batch_async with K = B and discard R = 1 (fresh only)
``ringmaster``    async with discard R ("discard") or tau = R - 1 ("stop")
``learned``       k_async + a learned K table (:mod:`absjax.learn`) + tau rule
================ ========================================================

Our readings where the papers were not available (docs: Concepts > What the
ABS paper leaves open, docs/concepts.md#concepts-readings): ABS's
default K rule is AdaSync's and its tau rule ``ceil(kappa (N - K) / K)`` with
``kappa = 1``; Rennala's jobs in progress at a round end are not cancelled but
run on and are discarded on arrival (Tyurin & Richtarik 2023, Method 4: with
cancellation it would be k_batch_sync); the running loss estimate of the
AdaSync rule is an exponential average with decay ``loss_decay = 0.1`` of the
aggregated minibatches' losses (``loss_estimate="exact"`` is the oracle mode).

References: Dutta, Joshi, Ghosh, Dube, Nagpurkar, "Slow and Stale Gradients Can
Win the Race" (AISTATS 2018, arXiv 1803.01113) for the K-sync, K-batch-sync,
K-async and K-batch-async families; Tan, Zhu, Zhang, "ABS: Adaptive Bounded
Staleness" (arXiv 2301.08895) for the bounded-staleness restart rule and ABS;
Dutta et al., journal version (arXiv 2003.10579) for AdaSync; Zhang, Gupta,
Lian, Liu (IJCAI 2016, arXiv 1511.05950) for SA-AdaSync's weight; Ho et al.
(NIPS 2013) for SSP; Tyurin & Richtarik (NeurIPS 2023, arXiv 2305.12387) for
Rennala SGD; Maranjyan, Tyurin, Richtarik (ICML 2025, arXiv 2501.16168) for
Ringmaster ASGD; Wang & Joshi (arXiv 1810.08313) for local-update SGD.

Modules: :mod:`~absjax.policies.policy` (the :class:`Policy`),
:mod:`~absjax.policies.named` (the constructors), :mod:`~absjax.policies.round`
(what the mechanics read and return),
:mod:`~absjax.policies.first_finishers` and :mod:`~absjax.policies.event_loop`
(the arrival rules), :mod:`~absjax.policies.restarts` (the restart rules),
:mod:`~absjax.policies.loss_estimate` (what the server knows of the loss),
:mod:`~absjax.policies.spec` (SPEC strings).

>>> p = k_async(k=4, tau=3)
>>> p.name, p.k, p.tau, p.synchronous
('k_async', 4, 3, False)
"""

from absjax._vocabulary import BASES, SYNCHRONOUS, UNBOUNDED
from absjax.policies.event_loop import EventLoop
from absjax.policies.first_finishers import (
    FirstFinishers,
    finish_order,
    finish_rank,
    kth_arrivals,
)
from absjax.policies.learned import LearnedRule, LossTable, learned
from absjax.policies.loss_estimate import ExactLoss, MinibatchAverage, NoEstimate
from absjax.policies.named import (
    abs_,
    adasync,
    asynchronous,
    custom,
    k_async,
    k_batch_async,
    k_batch_sync,
    k_sync,
    local_sgd,
    make,
    rennala,
    ringmaster,
    sa_adasync,
    ssp,
    sync,
)
from absjax.policies.policy import NAMES, Policy
from absjax.policies.restarts import (
    BoundedStaleness,
    CancelAll,
    StaleSynchronous,
)
from absjax.policies.round import Arrivals, Restarts, Workers
from absjax.policies.spec import parse_policy

__all__ = [
    "BASES",
    "NAMES",
    "SYNCHRONOUS",
    "UNBOUNDED",
    "Arrivals",
    "BoundedStaleness",
    "CancelAll",
    "EventLoop",
    "ExactLoss",
    "FirstFinishers",
    "LearnedRule",
    "LossTable",
    "MinibatchAverage",
    "NoEstimate",
    "Policy",
    "Restarts",
    "StaleSynchronous",
    "Workers",
    "abs_",
    "adasync",
    "asynchronous",
    "custom",
    "finish_order",
    "finish_rank",
    "k_async",
    "k_batch_async",
    "k_batch_sync",
    "k_sync",
    "kth_arrivals",
    "learned",
    "local_sgd",
    "make",
    "parse_policy",
    "rennala",
    "ringmaster",
    "sa_adasync",
    "ssp",
    "sync",
]
