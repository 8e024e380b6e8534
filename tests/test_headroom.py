"""The opt-in headroom study runs at the tiny profile and writes its files."""

import pandas as pd
import pytest

pytest.importorskip("evosax")


@pytest.mark.slow
def test_headroom_tiny_writes_table_rule_and_figure(tmp_path):
    from paper_figures import headroom

    assert headroom.main(["--profile", "tiny", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "headroom.csv")
    assert set(table["method"]) == {"abs", "adasync", "fixed_k", "learned"}
    assert len(table) == 4 * len(headroom.CELLS)
    assert (table[table["method"] == "abs"]["abs_over_this"] == 1.0).all()
    assert (tmp_path / "headroom_k.png").stat().st_size > 0
    assert (tmp_path / "learned_rule.json").exists()
