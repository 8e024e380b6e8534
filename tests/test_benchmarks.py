"""The GPU benchmark runs on the CPU at its tiny size and writes its JSON."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

import gpu  # noqa: E402 (benchmarks/gpu.py)


def test_gpu_benchmark_tiny_writes_every_study(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    assert gpu.main(["--tiny", "--out", str(out), "--budget", "1"]) == 0
    report = json.loads(out.read_text())
    rows = report["rows"]
    assert {r["study"] for r in rows} == {"standard", "timing", "workers"}
    ran = [r for r in rows if r["status"] == "ok"]
    assert len(ran) == 3 and all(r["seed_rounds_per_s"] > 0 for r in ran)
    (skipped,) = [r for r in rows if r["status"] != "ok"]  # 10^6 seeds > budget
    assert skipped["seeds"] == 10**6 and skipped["status"].startswith("skipped")
    assert report["machine"]["backend"] == "cpu"
    assert "| study | seeds |" in capsys.readouterr().out


def test_learn_benchmark_tiny_prints_both_speeds(capsys):
    import learn as learn_benchmark  # benchmarks/learn.py

    argv = ["--population", "2", "--seeds", "2", "--rounds", "10", "--repeats", "1"]
    assert learn_benchmark.main([*argv, "--workloads", "quadratic"]) == 0
    out = capsys.readouterr().out
    assert "batched" in out and "one by one" in out and "generations/s" in out


def test_tune_benchmark_tiny_measures_both_ways(capsys):
    import tune as tune_benchmark  # benchmarks/tune.py

    rows = tune_benchmark.main(
        ["--trials", "2", "--seeds", "2", "--rounds", "8", "--workers", "4"]
        + ["--repeats", "1", "--workloads", "quadratic"]  # the MLP: seconds more
    )
    assert [r["workload"] for r in rows] == ["quadratic"]
    assert all(
        r["batched_trials_per_s"] > 0 < r["one_by_one_trials_per_s"] for r in rows
    )
    assert capsys.readouterr().out.startswith("machine: ")
