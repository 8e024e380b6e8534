"""Theory the simulator is checked against: round times, staleness, error bounds.

Everything here is a pure function of the delay laws and the policy numbers,
computed in float64 with numpy and scipy; it never imports the engine, so that
it can check the simulator instead of sharing its mistakes (docs: Concepts >
Theory, docs/concepts.md#concepts-theory).

- Order statistics of job durations: closed forms where they exist, otherwise
  numerical integration of ``P(X_(k:n) > x)`` (i.i.d. and heterogeneous).
- Expected round time per policy (Dutta et al., arXiv 1803.01113).
- Staleness law and wasted work under exponential delays.
- Error-runtime bounds (Dutta et al.), the exact noisy-quadratic recursion, the
  Rennala / Ringmaster time complexity (Tyurin & Richtarik, arXiv 2305.12387;
  Maranjyan et al., arXiv 2501.16168) and the shape of the ABS rate (Tan et
  al., arXiv 2301.08895).

Several statements are quoted from the papers as summarised in the docs
(Concepts > Theory, docs/concepts.md#concepts-theory); not every theorem
number could be checked against the papers' text, so each docstring names the
statement by its content.

>>> round(expected_round_time("sync", "exp:rate=1", n=2), 6)  # 1/2 + 1/1
1.5
>>> round(staleness_mean(n=8, k=2), 6)  # (n - k) / k
3.0
"""

from absjax.theory.bounds import (
    abs_rate_shape,
    best_fixed_k,
    error_vs_time,
    kasync_error_bound,
    ksync_error_bound,
    noisy_quadratic_expected_loss,
    rennala_time_complexity,
)
from absjax.theory.laws import DurationLaw, worker_cdfs
from absjax.theory.order_statistics import (
    order_statistic_mean,
    order_statistic_mean_heterogeneous,
    order_statistic_variance,
    order_statistic_variance_heterogeneous,
)
from absjax.theory.round_time import (
    POLICY_NAMES,
    expected_round_time,
    round_time_is_exact,
)
from absjax.theory.staleness_law import staleness_mean, staleness_pmf, wasted_per_round

__all__ = [
    "DurationLaw",
    "POLICY_NAMES",
    "abs_rate_shape",
    "best_fixed_k",
    "error_vs_time",
    "expected_round_time",
    "kasync_error_bound",
    "ksync_error_bound",
    "noisy_quadratic_expected_loss",
    "order_statistic_mean",
    "order_statistic_mean_heterogeneous",
    "order_statistic_variance",
    "order_statistic_variance_heterogeneous",
    "rennala_time_complexity",
    "round_time_is_exact",
    "staleness_mean",
    "staleness_pmf",
    "wasted_per_round",
    "worker_cdfs",
]
