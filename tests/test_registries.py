"""Each registry has one source of truth; a test catches any copy that drifts from it.

- public names: ``src/assay/__init__.pyi`` (read by type checkers and by lazy_loader);
- CLI commands: each command module's ``register``; ``COMMAND_MODULES`` is its index;
- web routes: the ``router`` of each module in ``assay/web/routes``, listed once in
  ``ROUTE_MODULES``;
- audit checks: the ``@register_check`` decorator.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import assay

STUB = Path(assay.__file__).with_suffix(".pyi")


def _stub_imports() -> list[tuple[str, ast.alias]]:
    tree = ast.parse(STUB.read_text())
    return [
        (f"assay.{node.module}", alias)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    ]


def test_the_stub_lists_every_public_name_once() -> None:
    names = [alias.name for _, alias in _stub_imports()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert {*names, "__version__"} == set(assay.__all__)
    for _, alias in _stub_imports():  # ``NAME as NAME``: re-exported for type checkers
        assert alias.asname == alias.name, alias.name


def test_each_public_name_is_the_object_its_stub_line_names() -> None:
    for module, alias in _stub_imports():
        assert getattr(assay, alias.name) is getattr(importlib.import_module(module), alias.name)


def test_the_package_init_does_not_list_names_again() -> None:
    tree = ast.parse(Path(assay.__file__).read_text())
    public = {alias.name for _, alias in _stub_imports()}
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    imported = {
        a.asname or a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    assert not (public & (literals | imported)), public & (literals | imported)
