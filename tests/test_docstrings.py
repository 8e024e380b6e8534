"""Every public function and class has a numpy-style docstring.

Public means every name in the ``__all__`` of absjax's packages and every
public name defined in the public modules they re-export (which have no
``__all__``), and the public methods and properties of the public classes.
Each docstring has a one-line summary; a callable with parameters has a
``Parameters`` section (a class may list its fields under ``Attributes``
instead) naming each of them, except ``self``/``cls`` and ``*args``/``**kwargs``.
"""

import importlib
import inspect
import types

import pytest

PACKAGES = (
    "absjax",
    "absjax.delays",
    "absjax.engine",
    "absjax.learn",
    "absjax.objectives",
    "absjax.policies",
    "absjax.sweep",
    "absjax.theory",
    "absjax.tune",
)
SECTIONS = ("Parameters", "Attributes", "Other Parameters")
SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _module_names(module: types.ModuleType) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and getattr(obj, "__module__", None) == module.__name__
        and (inspect.isclass(obj) or inspect.isfunction(obj))
    ]


def _public_objects() -> dict[str, object]:
    """Qualified name -> object for every public function, class and method."""
    found: dict[str, object] = {}
    modules = [importlib.import_module(name) for name in PACKAGES]
    seen: set[str] = set()
    while modules:
        module = modules.pop()
        if module.__name__ in seen:
            continue
        seen.add(module.__name__)
        for name in _module_names(module):
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                if obj.__name__.startswith("absjax"):
                    modules.append(obj)
            elif inspect.isclass(obj) or inspect.isfunction(obj):
                found.setdefault(f"{module.__name__}.{name}", obj)
                if inspect.isclass(obj):
                    found.update(_methods(f"{module.__name__}.{name}", obj))
    # One name per object (a re-exported name is checked once, under its
    # shortest path).
    unique: dict[int, str] = {}
    for name in sorted(found, key=lambda n: (n.count("."), n)):
        unique.setdefault(id(found[name]), name)
    return {name: found[name] for name in sorted(unique.values())}


def _methods(prefix: str, cls: type) -> dict[str, object]:
    methods = {}
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr) or isinstance(attr, property):
            methods[f"{prefix}.{name}"] = attr
    return methods


PUBLIC = _public_objects()


def _doc(obj: object) -> str:
    """A class's own docstring, or a method's (inherited from the method it
    overrides, as the reference renders it)."""
    if inspect.isclass(obj):
        return inspect.cleandoc(vars(obj).get("__doc__") or "")
    return inspect.getdoc(obj) or ""


def _parameters(obj: object) -> list[str]:
    """The names a docstring must document."""
    if isinstance(obj, property):
        return []
    if inspect.isclass(obj):
        if hasattr(obj, "_fields"):  # a NamedTuple: its fields
            return list(obj._fields)
        if "__init__" not in vars(obj) and not hasattr(obj, "__dataclass_fields__"):
            return []
        if getattr(obj, "_is_protocol", False):
            return []
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, parameter in signature.parameters.items()
        if name not in ("self", "cls") and parameter.kind not in SKIPPED_KINDS
    ]


def _documented(doc: str) -> set[str]:
    """Names listed as ``name : type`` (or ``name``) lines in the sections."""
    names: set[str] = set()
    lines = doc.splitlines() + [""]
    section = None
    for line, underline in zip(lines, lines[1:], strict=False):
        if underline.strip() and set(underline.strip()) == {"-"}:
            section = line.strip()
        elif section in SECTIONS and line.strip() and not line.startswith(" "):
            if not set(line.strip()) <= {"-"}:
                entry = line.split(" : ")[0]
                names.update(n.strip().lstrip("*") for n in entry.split(","))
    return names


def test_public_surface_is_found():
    assert "absjax.Simulator" in PUBLIC
    assert "absjax.engine.simulator.Simulator.run" in PUBLIC or any(
        name.endswith("Simulator.run") for name in PUBLIC
    )
    assert len(PUBLIC) > 100


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_docstring(name):
    obj = PUBLIC[name]
    doc = _doc(obj)
    assert doc, f"{name} has no docstring"
    lines = doc.splitlines() + [""]
    assert lines[0].strip(), f"{name}: the docstring's first line is empty"
    assert set(lines[1].strip()) != {"-"}, f"{name}: no summary line before {lines[0]}"
    wanted = _parameters(obj)
    if not wanted:
        return
    missing = [p for p in wanted if p not in _documented(doc)]
    assert not missing, f"{name}: Parameters section does not name {missing}"
