"""Resolves a docstring's short reference the way Python reads the name.

A docstring in ``absjax.delays.spec`` may write :class:`Delay`, a name that
module imports from ``absjax.delays.cluster``; Sphinx looks only for
``absjax.delays.spec.Delay``. This handler of ``missing-reference`` looks the
name up in the namespace of the module (and class) the reference is written
in, then links to where that object is documented: its defining module, the
module it was found in, or a parent package that re-exports it. A reference
to a private object (a module part starting with ``_``, never documented) is
shown as plain text.
"""

from __future__ import annotations

import importlib
import inspect


def _lookup(namespace, target: str):
    obj = namespace
    for part in target.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _documented(refdoc: str):
    """The object a generated reference page documents, or None."""
    name = refdoc.rsplit("/", 1)[-1]
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        return _lookup(module, ".".join(parts[i:])) if parts[i:] else module
    return None


def _candidates(modname: str, clsname: str | None, target: str, refdoc: str):
    """``(names to try, whether the object is private)``."""
    try:
        module = importlib.import_module(modname)
    except ImportError:
        return [], False
    spaces = [(modname, module)]
    homes = []
    if clsname:
        cls = _lookup(module, clsname)
        homes.append(getattr(cls, "__module__", None))
        if cls is not None and _lookup(cls, target) is not None:
            spaces.append((f"{modname}.{clsname}", cls))
            homes.append(f"{cls.__module__}.{cls.__qualname__}")
    if refdoc.startswith("reference/generated/absjax"):
        homes.append(getattr(_documented(refdoc), "__module__", None))
    for home in homes:
        if isinstance(home, str) and home != modname:
            try:
                spaces.append((home, importlib.import_module(home)))
            except ImportError:
                spaces.append((home, _lookup(module, clsname or "")))
    names, private = [], False
    for name, space in spaces:
        obj = _lookup(space, target)
        if obj is None:
            continue
        names.append(f"{name}.{target}")
        if inspect.ismodule(obj):
            names.append(obj.__name__)
        home, qual = (
            getattr(obj, "__module__", None),
            getattr(obj, "__qualname__", None),
        )
        if isinstance(home, str) and isinstance(qual, str):
            names.append(f"{home}.{qual}")
            private = private or any(p.startswith("_") for p in home.split("."))
    parts = modname.split(".")
    names += [".".join(parts[:i] + [target]) for i in range(len(parts) - 1, 0, -1)]
    return names, private


def resolve(app, env, node, contnode):
    if node.get("refdomain") != "py" or not node.get("py:module"):
        return None
    target = node["reftarget"].lstrip("~.")
    names, private = _candidates(
        node["py:module"], node.get("py:class"), target, node["refdoc"]
    )
    domain = env.get_domain("py")
    for name in dict.fromkeys(names):
        if name == node["reftarget"]:
            continue
        found = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], name, node, contnode
        )
        if found is not None:
            return found
    return contnode if private else None


def setup(app):
    app.connect("missing-reference", resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
