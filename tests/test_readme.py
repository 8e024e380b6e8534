"""The README's quick start holds exactly two commands; CI runs the second."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_lines():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```[^\n]*\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands_main_job_first():
    lines = _quick_start_lines()
    assert len(lines) == 2
    assert "python3.11 -m venv" in lines[0] and "absjax " in lines[0]
    assert "pytest" in lines[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _quick_start_lines()[1] in ci


def _python_blocks(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def test_policies_section_examples_run():
    blocks = _python_blocks("Policies")
    assert len(blocks) >= 2  # the user rule and the user restart rule
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
