"""The code base is formatted and linted with ruff (88 columns)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["absjax", "tests", "benchmarks", "analysis", "paper_figures", "validation"]


def _ruff(*args):
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    paths = [t for t in TARGETS if (ROOT / t).exists()]
    return subprocess.run(
        [exe, *args, *paths], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_format():
    proc = _ruff("format", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check():
    proc = _ruff("check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _imports():
    """``(importer, imported)`` absjax components (the part after ``absjax.``,
    e.g. ``engine``), module-level and function-level, of every module."""
    import ast

    def component(name):
        parts = name.split(".")
        return parts[1] if parts[0] == "absjax" and len(parts) > 1 else parts[0]

    edges = set()
    for path in (ROOT / "absjax").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        here = component(".".join(rel.parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "absjax":
                names = [f"absjax.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name.split(".")[0] in ("absjax", "paper_figures", "analysis"):
                    if component(name) not in (here, "absjax"):
                        edges.add((here, component(name)))
    return edges


def test_imports_flow_one_way():
    edges = _imports()
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reaches(start, goal):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    cycles = sorted((a, b) for a, b in edges if reaches(b, a))
    assert not cycles, f"import cycles: {cycles}"
    outside = sorted((a, b) for a, b in edges if b in ("paper_figures", "analysis"))
    assert not outside, f"absjax imports its users: {outside}"
    theory = {b for a, b in edges if a == "theory"}
    assert theory <= {"delays", "_validate", "_vocabulary"}, theory
    engine = {b for a, b in edges if a == "engine"}
    assert not engine & {"cli", "sweep", "config", "io", "plots"}, engine


def test_users_of_absjax_import_only_its_public_api():
    import ast

    for folder in ("analysis", "paper_figures", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    private = node.module.startswith("absjax") and (
                        "._" in node.module
                        or any(a.name.startswith("_") for a in node.names)
                    )
                    assert not private, f"{path}: from {node.module} import ..."
