"""The README's quick start holds exactly two commands; CI runs the second.
The README's library example and the policies guide's examples run."""

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


def _python_blocks(path: str, section: str) -> list[str]:
    text = (ROOT / path).read_text()
    body = text.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def _run(blocks: list[str], path: str) -> None:
    for block in blocks:
        exec(compile(block, path, "exec"), {})


def test_library_example_runs():
    blocks = _python_blocks("README.md", "Using the library")
    assert len(blocks) == 1
    _run(blocks, "README.md")


def test_policies_section_examples_run():
    text = (ROOT / "docs" / "guide_policies.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2  # the user rule and the user restart rule
    _run(blocks, "docs/guide_policies.md")
