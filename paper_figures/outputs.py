"""The names of the reproduction's outputs: its settings, figures and tables.

Both the pipeline (which writes the files) and the report (which links them)
read these names from here.
"""

from __future__ import annotations

from paper_figures import methods

SETTINGS = ("gradient", "local")
SETTING_FIGURES = {
    "fig1_loss_vs_time": "Training loss and test accuracy vs wall-clock time",
    "fig2_loss_vs_rounds": "Training loss and test accuracy vs communication rounds",
    "fig3_k_tau": "K^t and tau_max^t over time",
    "fig4_targets": "Time-, rounds- and messages-to-target",
}
OTHER_FIGURES = {
    "fig5_phase_map": "Phase map: where ABS wins",
    "fig6_theory": "Theory vs simulation",
}


def figure_stems() -> dict[str, str]:
    """Every figure's file stem and title."""
    stems = {
        f"{setting}_{stem}": f"{methods.SETTING_TITLES[setting].split(' (')[0]}: "
        f"{title}"
        for setting in SETTINGS
        for stem, title in SETTING_FIGURES.items()
    }
    return {**stems, **OTHER_FIGURES}


def table_names() -> list[str]:
    """Every table the reproduction writes, ``config.json`` last."""
    per_setting = ("claims.csv", "methods.csv", "tuning.csv", "targets_per_seed.csv")
    names = [f"{s}_{n}" for s in SETTINGS for n in per_setting]
    names += ["ablation.csv", "ablation_tuning.csv", "phase_map.csv"]
    names += ["resolution_check.csv"]
    return names + ["theory_round_time.csv", "theory_staleness.csv", "config.json"]
