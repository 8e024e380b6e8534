"""Reproduction of the ABS paper's claims and figures (docs: Concepts > The
reproduction's workloads, docs/concepts.md#concepts-reproduction).

One command, ``absjax figures --profile quick --out DIR`` (or ``python -m
paper_figures``), built on the public absjax API only: both settings of the
paper (gradient and local-update) with fair tuning of ABS and its baselines,
a readings ablation, a phase map of where ABS wins, theory vs simulation, the
figures as PNG and PDF, and ``DIR/report.md`` with a verdict on each claim of
the abstract. See ``paper_figures/README.md``.
"""
