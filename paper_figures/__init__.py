"""Reproduction of the ABS paper's claims and figures (spec section 7).

One command, ``absjax figures --profile quick --out DIR`` (or ``python -m
paper_figures``), built on the public absjax API only: fair tuning of ABS and
six baselines, the six figures as PNG and PDF, and ``DIR/report.md`` with a
verdict on each claim of the abstract. See ``paper_figures/README.md``.
"""
