"""Sphinx configuration of absjax's documentation site.

Build it (the notebooks are executed; -W turns every warning into an error and
-n makes every cross-reference resolve) from the repository root:

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -n -b html docs docs/_build/html
"""

import logging
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # this tree's absjax, also when not installed

import apiref  # noqa: E402

import absjax  # noqa: E402

project = "absjax"
author = "the absjax authors"
copyright = "the absjax authors"  # noqa: A001
release = absjax.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_copybutton",
    "clidoc",
    "xref",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# The API reference: one page per public module, written from its __all__
# (docs/_ext/apiref.py), then one page per name by autosummary.
apiref.write_pages()
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_preserve_defaults = True
napoleon_numpy_docstring = True
napoleon_google_docstring = True  # private helpers may still read Google style
# Type lines such as "int, optional" or {"a", "b"} are split into references.
napoleon_preprocess_types = True
napoleon_use_rtype = False

# No internet here, so no intersphinx: the targets below live in other
# projects' documentation and cannot resolve offline. Only third-party names.
nitpick_ignore_regex = [
    (r"py:.*", r"(jax|jaxlib|jax\.numpy|jax\.typing|jax\.random)(\..*)?"),
    (r"py:.*", r"(numpy|np|pandas|pd|xarray|xr|pyarrow|pa|optax|scipy)(\..*)?"),
    (r"py:.*", r"(matplotlib|plt|seaborn|sns|argparse|pathlib|os)(\..*)?"),
    (r"py:.*", r"(Array|ArrayLike|PRNGKeyArray|KeyArray|DTypeLike|PyTree)"),
    (r"py:.*", r"(ndarray|DataFrame|Dataset|DataArray|Figure|Axes|Table|Path)"),
    (r"py:.*", r"(GradientTransformation|Schedule|Callable|Mapping|Sequence)"),
    # The standard library and Python's own types (Python's docs, not ours).
    (r"py:.*", r"(collections|typing|types|dataclasses|abc)(\..*)?"),
    (r"py:.*", r"(Any|Iterable|Iterator|NamedTuple|Protocol|Enum|Literal|Self)"),
    (r"py:.*", r"(int|float|str|bool|bytes|dict|list|tuple|set|frozenset|object)"),
    (r"py:.*", r"(None|type|callable|optional|iterable|sequence|mapping|default)"),
    (r"py:.*", r"(ValueError|TypeError|KeyError|OSError|Exception|FileNotFoundError)"),
    # Napoleon reads a property docstring's first line "text: more" as a type.
    (r"py:class", r"(Static number|arrivals a round computes|Vmappable numbers)"),
    # Private names (a part starting with "_") are never documented.
    (r"py:.*", r"(.*\.)?_[A-Za-z]\w*(\..*)?"),
]


# The first lines of the builtin types' docstrings, which autodoc shows for a
# constant or an attribute that has no docstring of its own.
_TYPE_DOCS = {
    t.__doc__.strip().splitlines()[0].strip()
    for t in (dict, list, tuple, set, frozenset, str, int, float, bool, object)
    + (types.GenericAlias, types.UnionType)
}


def _no_type_docstring(app, what, name, obj, options, lines):
    """Drops the docstring a constant inherits from its type (``dict``'s for a
    registry): it is not about the constant."""
    if not lines:
        return
    first = lines[0].strip()
    own = type(obj).__doc__
    if what in ("data", "attribute") and isinstance(own, str) and own.strip():
        if first == own.strip().splitlines()[0].strip():  # e.g. an Entry's
            lines.clear()
    if first in _TYPE_DOCS:
        lines.clear()


class _NoEmptyGlob(logging.Filter):
    """Lets a glob toctree match nothing: the tutorials and how-to folders
    fill theirs as pages are added (Sphinx gives this warning no type that
    ``suppress_warnings`` could name)."""

    def filter(self, record):
        return "didn't match any documents" not in record.getMessage()


class _AliasDuplicates(logging.Filter):
    """Lets two public names of one object (``absjax.Simulator`` and
    ``absjax.engine.Simulator``) both register the object's own name as an
    alias (autodoc's ``:canonical:``); a duplicate of a name documented in its
    own right still warns."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def filter(self, record):
        if "duplicate object description" not in str(record.msg) or not record.args:
            return True
        other = self.app.env.get_domain("py").objects.get(record.args[0])
        return not (other is not None and other.aliased)


def setup(app):
    logging.getLogger("sphinx.sphinx.domains.python").addFilter(_AliasDuplicates(app))
    app.connect("autodoc-process-docstring", _no_type_docstring, priority=100)
    logging.getLogger("sphinx.sphinx.directives.other").addFilter(_NoEmptyGlob())


# Notebooks (getting started, concepts, tutorials, how-tos) run at every
# build; an error in a cell fails it.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 120
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = f"absjax {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
