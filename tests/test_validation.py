"""A tiny real parameter-server run, recorded and predicted by absjax.

The server's job durations are real (worker processes computing numpy
gradients), so only what does not depend on the machine's speed is asserted:
the record's bookkeeping, the trace's shape and that absjax's loss per update
follows the measured one.
"""

import json

import numpy as np
import pandas as pd
import pytest

from absjax.delays._csv import load_trace
from validation import compare, server


@pytest.mark.parametrize(
    "mode, k", [("async", 1), pytest.param("k_async", 2, marks=pytest.mark.slow)]
)
def test_a_tiny_recorded_run_and_its_prediction(tmp_path, mode, k):
    records = server.run(mode, workers=2, k=k, rounds=120, dim=10, samples=400)
    folder = server.write(records, tmp_path / mode)
    jobs = pd.read_csv(folder / "jobs.csv")
    updates = pd.read_csv(folder / "updates.csv")
    assert len(updates) == 120 and len(jobs) == 120 * k
    assert np.all(jobs["staleness"] == jobs["round"] - jobs["base"])
    assert np.all(jobs["end"] > jobs["start"]) and np.all(updates["service"] > 0)
    assert np.all(np.diff(updates["end"]) >= 0)  # rounds in time order
    columns = load_trace(folder / "durations.csv")
    assert [len(c) for c in columns] == [
        int(np.sum(jobs["worker"] == i)) for i in range(2)
    ]
    numbers = compare.compare([folder], tmp_path / "cmp", seeds=4)
    name = next(n for n in numbers if n != "trace_mode")
    gap = numbers[name]["loss_relative_gap_by_update"]
    assert gap["median"] < 0.1  # the same objective, lr and staleness law
    assert (tmp_path / "cmp" / "predicted_vs_measured.png").stat().st_size > 0
    saved = json.loads((tmp_path / "cmp" / "agreement.json").read_text())
    assert saved["trace_mode"] == "replay"  # in order, from each worker's first job
    assert ",mode=replay,start=0" in compare.delay_spec(folder)
    assert "mode=replay" not in compare.delay_spec(folder, replay=False)
