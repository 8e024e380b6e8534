"""Names shared across absjax: round mechanics, the unbounded tau, CSV columns.

A leaf module (it imports nothing of absjax), so that the policies, the theory
(which never imports the engine or the policies) and the results all use one
list of names instead of copies.
"""

# The six round mechanics (docs/concepts.md#concepts-mechanics); every policy
# is one of them plus
# optional parts (absjax.policies).
BASES = ("sync", "k_sync", "k_batch_sync", "k_async", "k_batch_async", "async")
SYNCHRONOUS = ("sync", "k_sync", "k_batch_sync")  # every worker restarts each round

UNBOUNDED = 2**30  # the staleness bound that stands for "no bound" (tau=None)

# The logged metrics, by their CSV column names, in column order
# (docs/concepts.md#concepts-metrics). The engine's log rows and round
# diagnostics use the same names.
METRICS = (
    "round",
    "wall_clock",
    "loss",
    "k",
    "tau",
    "staleness_mean",
    "staleness_max",
    "uploads",
    "downloads",
    "jobs_started",
    "jobs_aggregated",
    "jobs_wasted",
    "jobs_discarded",
    "jobs_dropped",
    "idle_time",
    "loss_estimate",
)
