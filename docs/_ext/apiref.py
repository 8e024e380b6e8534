"""The API reference's pages, written from each public module's ``__all__``.

At every build, :func:`write_pages` writes one page per public module into
``docs/reference/generated/`` (ignored by git): the module's docstring and an
``autosummary`` table of its public names, from which ``sphinx.ext.autosummary``
writes one page per name. A name added to an ``__all__`` therefore appears in
the reference without editing it.

The public modules are ``absjax``, every module named by a public module's
``__all__`` (``absjax.delays``, ``absjax.theory``, ...) and :data:`EXTRA`
(public modules that no ``__all__`` names). A module's public names are its
``__all__``; a module without one contributes the names it defines itself
(classes and functions whose ``__module__`` is the module, and names assigned
at its top level) and those it re-exports from a private module (an import
marked ``public here``, or written ``import name as name``), that do not start
with an underscore.

Every other module whose name has no part starting with an underscore (the
modules the public ones are built from, such as ``absjax.engine.step``) gets a
page of its own under "Internal modules", documenting all its members, so that
the docstrings' references to them resolve; they are not a stable API.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

ROOT = "absjax"
# Public modules that no __all__ names: they are used by their full path.
EXTRA = (
    "absjax.catalog",
    "absjax.engine",
    "absjax.io",
    "absjax.plots",
    "absjax.results",
    "absjax.store",
    "absjax.sweep",
)
OUT = Path(__file__).resolve().parent.parent / "reference" / "generated"


def public_modules() -> list[str]:
    """Every public module's dotted name, sorted (``absjax`` first)."""
    found, todo = set(), [ROOT, *EXTRA]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        module = importlib.import_module(name)
        for member in public_names(module):
            value = getattr(module, member)
            if inspect.ismodule(value) and value.__name__.startswith(ROOT + "."):
                todo.append(value.__name__)
    return sorted(found, key=lambda n: (n != ROOT, n))


def internal_modules() -> list[str]:
    """The modules without an underscore part that are not public, sorted."""
    package = importlib.import_module(ROOT)
    names = {
        info.name
        for info in pkgutil.walk_packages(package.__path__, ROOT + ".")
        if not any(part.startswith("_") for part in info.name.split("."))
    }
    return sorted(names - set(public_modules()))


def _private(module: str) -> bool:
    """Whether a module path has a private part (``absjax._atomic``)."""
    return any(p.startswith("_") and not p.startswith("__") for p in module.split("."))


def _assigned(module: ModuleType) -> set[str]:
    """The names assigned at the top level of ``module``'s source, and those it
    re-exports from a private module (an import marked ``public here``)."""
    try:
        source = inspect.getsource(module)
        tree, lines = ast.parse(source), source.splitlines()
    except (OSError, TypeError):
        return set()
    names = set()
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
        if isinstance(node, ast.ImportFrom) and _private(node.module or ""):
            marked = "public here" in lines[node.end_lineno - 1]
            names |= {  # re-exports: marked, or "import x as x" (PEP 484)
                alias.asname or alias.name
                for alias in node.names
                if marked or alias.asname == alias.name
            }
    return names


def public_names(module: ModuleType) -> list[str]:
    """``module.__all__``, or the public names the module defines itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    assigned = _assigned(module)
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        home = getattr(value, "__module__", None) or ""
        own = home == module.__name__
        if (inspect.isclass(value) or inspect.isfunction(value)) and own:
            names.append(name)
        elif name in assigned:  # assigned here, or re-exported
            names.append(name)
    return sorted(names)


def _title(text: str) -> str:
    return f"{text}\n{'=' * len(text)}\n"


def page(name: str) -> str:
    """The reStructuredText of one module's page."""
    module = importlib.import_module(name)
    members = public_names(module)
    modules = [m for m in members if inspect.ismodule(getattr(module, m))]
    objects = [m for m in members if m not in modules]
    lines = [
        _title(name),
        f".. automodule:: {name}",
        "   :no-members:",
        "",
        f".. currentmodule:: {name}",
        "",
    ]
    if objects:
        lines += [
            ".. autosummary::",
            "   :toctree: .",
            "",
            *(f"   {m}" for m in objects),
        ]
        lines.append("")
    if modules:
        lines += ["Modules", "-------", ""]
        for m in modules:
            target = getattr(module, m).__name__
            lines.append(f"- ``{m}``: :doc:`{target}`")
        lines.append("")
    return "\n".join(lines)


def internal_page(name: str) -> str:
    """The reStructuredText of one internal module's page: its docstring, its
    documented classes and functions, and its constants."""
    module = importlib.import_module(name)
    constants = [
        n
        for n in sorted(_assigned(module))
        if not n.startswith("_")
        and hasattr(module, n)
        and not callable(getattr(module, n))
        and not inspect.ismodule(getattr(module, n))
    ]
    lines = [_title(name), f".. automodule:: {name}", "   :members:", ""]
    for n in constants:
        lines += [f".. autodata:: {name}.{n}", "   :no-value:", ""]
    return "\n".join(lines)


def write_pages(out: Path = OUT) -> list[str]:
    """Writes every module's page and the index of them into ``out``; returns
    the module names. A page is rewritten only when its text changes."""
    out.mkdir(parents=True, exist_ok=True)
    names, internal = public_modules(), internal_modules()
    texts = {f"{n}.rst": page(n) for n in names}
    texts |= {f"{n}.rst": internal_page(n) for n in internal}
    texts["internal.rst"] = "\n".join(
        [
            _title("Internal modules"),
            "The modules the public ones are built from, with all their members,",
            "for readers of the source; they may change without notice.",
            "",
            ".. toctree::",
            "   :maxdepth: 1",
            "",
            *(f"   {n}" for n in internal),
            "",
        ]
    )
    texts["modules.rst"] = "\n".join(
        [
            _title("Modules"),
            ".. toctree::",
            "   :maxdepth: 1",
            "",
            *(f"   {n}" for n in names),
            "   internal",
            "",
        ]
    )
    for file, text in texts.items():
        path = out / file
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return names
