"""Directives that write the command line's reference from the code itself.

- ``absjax-cli``: the ``--help`` text of ``absjax`` and of each subcommand,
  formatted by the parsers the command runs (``absjax figures`` included,
  whose parser lives in ``paper_figures``);
- ``absjax-registry KIND``: a table of every name a SPEC of ``KIND``
  (``policies``, ``delays``, ``objectives``, ``weights``, or ``modifiers``: the
  delay modifiers) may use, its meaning and its parameters with their defaults
  and types, from the registries ``absjax list`` prints.

Both read the live parsers and registries, so the page cannot drift from them.
"""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from docutils.parsers.rst import Directive

WIDTH = "72"  # columns of the help texts (the width of the page)


def _help(parser: argparse.ArgumentParser) -> str:
    os.environ["COLUMNS"] = WIDTH
    return parser.format_help()


def help_texts() -> list[tuple[str, str]]:
    """``(command, help text)`` of ``absjax`` and each subcommand."""
    from absjax import cli
    from paper_figures import reproduce

    parser = cli._parser()
    texts = [("absjax", _help(parser))]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, child in sub.choices.items():
        if name == "figures":  # its options are paper_figures'
            child = reproduce.parser("absjax figures")
        texts.append((f"absjax {name}", _help(child)))
    return texts


def registry_rows(kind: str) -> list[tuple[str, str, list[str]]]:
    """``(name, meaning, ["key=default (type): note", ...])`` of one kind."""
    from absjax import catalog
    from absjax.delays import spec as delay_spec

    if kind == "modifiers":
        entries = {"(any law)": delay_spec.MODIFIERS}
    else:
        entries = catalog.registry(kind)
    rows, first = [], {}
    for name, entry in entries.items():
        if id(entry) in first:
            rows.append((name, f"same as {first[id(entry)]}", []))
            continue
        first[id(entry)] = name
        params = [
            f"{key}={p.default_text()} ({p.type_text()})"
            + (f": {p.note}" if p.note else "")
            for key, p in entry.params.items()
        ]
        rows.append((name, entry.meaning, params))
    return rows


def _table(header: list[str], rows: list[list[nodes.Node]], widths: list[int]):
    table = nodes.table(classes=["absjax-registry"])
    group = nodes.tgroup(cols=len(header))
    table += group
    group.extend(nodes.colspec(colwidth=w) for w in widths)
    head = nodes.thead()
    group += head
    row = nodes.row()
    row.extend(nodes.entry("", nodes.paragraph(text=h)) for h in header)
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", *cell)
        body += row
    return table


class CliHelp(Directive):
    """The help text of every command, each under its own rubric."""

    def run(self):
        out = []
        for command, text in help_texts():
            out.append(nodes.rubric(text=command))
            out.append(nodes.literal_block(text, text, language="text"))
        return out


class Registry(Directive):
    """A table of one registry (the directive's argument names the kind)."""

    required_arguments = 1

    def run(self):
        rows = []
        for name, meaning, params in registry_rows(self.arguments[0]):
            listing = nodes.bullet_list()
            for param in params:
                listing += nodes.list_item(
                    "", nodes.paragraph("", "", nodes.literal(text=param))
                )
            rows.append(
                [
                    [nodes.paragraph("", "", nodes.literal(text=name))],
                    [nodes.paragraph(text=meaning)],
                    [listing] if params else [nodes.paragraph(text="none")],
                ]
            )
        return [_table(["name", "meaning", "parameters"], rows, [15, 45, 40])]


def setup(app):
    app.add_directive("absjax-cli", CliHelp)
    app.add_directive("absjax-registry", Registry)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
