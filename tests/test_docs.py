"""The documentation site: a complete API reference and no broken internal link.

- Every name of every public ``__all__`` has an entry in the reference's
  generated pages (cheap: the pages are written without building the site),
  and, when the site is built, in its inventory ``objects.inv``.
- Every internal link of the built HTML (``docs/_build/html``) reaches a file
  that exists and, with ``#anchor``, an element with that id. Skipped when the
  site is not built; ``--runslow`` builds it (``-W -n``) and checks it.
"""

import functools
import html
import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import absjax

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BUILT = DOCS / "_build" / "html"
sys.path.insert(0, str(DOCS / "_ext"))
apiref = importlib.import_module("apiref")


def public_all() -> dict[str, list[str]]:
    """``{module: __all__}`` of every module without an underscore part."""
    names = ["absjax"] + [
        info.name
        for info in pkgutil.walk_packages(absjax.__path__, "absjax.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    found = {}
    for name in names:
        module = importlib.import_module(name)
        if hasattr(module, "__all__"):
            found[name] = list(module.__all__)
    return found


def test_public_all_is_found():
    found = public_all()
    assert {"absjax", "absjax.delays", "absjax.policies", "absjax.theory"} <= set(found)
    assert "Simulator" in found["absjax"]


def _entries(page: str) -> set[str]:
    """The names a generated module page lists (autosummary rows and module
    links)."""
    entries, inside = set(), False
    for line in page.splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
        elif inside and line.startswith("   ") and not line.strip().startswith(":"):
            entries.add(line.strip())
        elif inside and line and not line.startswith(" "):
            inside = False
        if line.startswith("- ``") and ":doc:" in line:
            entries.add(line.split("``")[1])
    return entries


def test_every_public_name_is_in_the_reference(tmp_path):
    apiref.write_pages(tmp_path)
    missing = []
    for module, names in public_all().items():
        page = tmp_path / f"{module}.rst"
        if not page.exists():
            missing.append(f"{module} (no page)")
            continue
        listed = _entries(page.read_text())
        missing += [f"{module}.{n}" for n in names if n not in listed]
    assert not missing, f"not in the API reference: {missing}"
    index = (tmp_path / "modules.rst").read_text()
    assert all(f"   {m}" in index for m in public_all())


def test_the_reference_check_can_fail(tmp_path):
    page = apiref.page("absjax.delays").replace("   Pareto\n", "")
    assert "Pareto" not in _entries(page)
    assert "Exponential" in _entries(page)


def inventory(path: Path) -> set[str]:
    """The object names of a Sphinx ``objects.inv``."""
    data = path.read_bytes()
    for _ in range(4):  # four header lines, then zlib
        data = data[data.index(b"\n") + 1 :]
    lines = zlib.decompress(data).decode().splitlines()
    return {line.split(" ", 1)[0] for line in lines if line.strip()}


@pytest.mark.skipif(
    not (BUILT / "objects.inv").exists(),
    reason="the site is not built (sphinx-build -b html docs docs/_build/html)",
)
def test_every_public_name_is_in_the_built_inventory():
    names = inventory(BUILT / "objects.inv")
    missing = []
    for module, members in public_all().items():
        for n in members:
            value = getattr(importlib.import_module(module), n)
            # a module in an __all__ is documented under its own name
            name = value.__name__ if inspect.ismodule(value) else f"{module}.{n}"
            if name not in names:
                missing.append(f"{module}.{n}")
    assert not missing, f"not in docs/_build/html/objects.inv: {missing}"


_ID = re.compile(r"""\s(?:id|name)=["']([^"']+)["']""")
_HREF = re.compile(r"""<(?:a|link)\s[^>]*?href=["']([^"']+)["']""")


class _Page:
    """The ids and the hrefs of one HTML page."""

    def __init__(self, text: str):
        self.ids = {html.unescape(i) for i in _ID.findall(text)}
        self.hrefs = [html.unescape(h) for h in _HREF.findall(text)]


def broken_links(site: Path) -> list[str]:
    """``page: href`` of every internal link of ``site`` that reaches no file,
    or no element with its ``#anchor``."""
    site = site.resolve()
    pages = {}
    for path in site.rglob("*.html"):
        if "_static" in path.relative_to(site).parts:  # the theme's templates
            continue
        pages[str(path)] = _Page(path.read_text(errors="replace"))

    @functools.cache
    def target_of(folder: str, link: str) -> str | None:
        """The file ``link`` reaches from ``folder``, or None."""
        target = os.path.normpath(os.path.join(folder, link))
        if os.path.isdir(target):
            target = os.path.join(target, "index.html")
        return target if os.path.exists(target) else None

    broken = []
    for path, parser in pages.items():
        for href in parser.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith("mailto:"):
                continue
            if parts.path:
                target = target_of(os.path.dirname(path), unquote(parts.path))
            else:
                target = path
            if target is None:
                broken.append(f"{os.path.relpath(path, site)}: {href}")
            elif parts.fragment and target.endswith(".html"):
                ids = pages[target].ids if target in pages else set()
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{os.path.relpath(path, site)}: {href}")
    return sorted(broken)


def test_broken_links_are_found(tmp_path):
    (tmp_path / "a.html").write_text(
        '<a href="b.html#there">b</a> <a href="b.html#gone">x</a>'
        '<a href="missing.html">m</a> <a href="https://example.org">e</a>'
        '<a href="#top">t</a><p id="top"></p>'
    )
    (tmp_path / "b.html").write_text('<h1 id="there">B</h1>')
    assert broken_links(tmp_path) == ["a.html: b.html#gone", "a.html: missing.html"]


@pytest.mark.skipif(
    not (BUILT / "index.html").exists(),
    reason="the site is not built (sphinx-build -b html docs docs/_build/html)",
)
def test_built_site_has_no_broken_internal_link():
    assert broken_links(BUILT) == []


@pytest.mark.slow
def test_site_builds_without_warnings_and_links_hold(tmp_path):
    out = tmp_path / "html"
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q"]
        + ["-b", "html", str(DOCS), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    assert broken_links(out) == []
