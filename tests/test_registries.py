"""Each registry has one source of truth; a test catches any copy that drifts from it.

- public names: ``src/assay/__init__.pyi`` (read by type checkers and by lazy_loader);
- CLI commands: each command module's ``register``; ``COMMAND_MODULES`` is its index;
- web routes: the ``router`` of each module in ``assay/web/routes``, listed once in
  ``ROUTE_MODULES``;
- audit checks: the ``@register_check`` decorator.
"""

from __future__ import annotations
import __future__

import ast
import importlib
import pkgutil
import types
from pathlib import Path

import pytest
import typer

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


def _cli_modules() -> list[str]:
    """The modules of ``assay.cli`` that declare commands (define ``register``)."""
    import assay.cli

    found = []
    for info in pkgutil.iter_modules(assay.cli.__path__):
        if not info.name.startswith("_") and info.name != "main":
            module = importlib.import_module(f"assay.cli.{info.name}")
            if hasattr(module, "register"):
                found.append(info.name)
    return found


def _registered(module: str) -> list[str]:
    """The top-level commands that ``assay.cli.MODULE.register`` adds."""
    app = typer.Typer()
    app.callback()(lambda: None)  # a group even when the module adds one command
    importlib.import_module(f"assay.cli.{module}").register(app)
    return list(typer.main.get_group(app).commands)


def test_the_command_table_is_the_index_of_what_the_modules_register() -> None:
    from assay.cli.main import COMMAND_MODULES, MODULES

    assert set(MODULES) == set(_cli_modules()), "list each command module in COMMAND_MODULES"
    expected = {name: module for module in MODULES for name in _registered(module)}
    rows = "\n".join(f"    {name!r}: {module!r}," for name, module in expected.items())
    assert expected == COMMAND_MODULES, f"COMMAND_MODULES should be:\n{{\n{rows}\n}}"


def test_every_route_module_is_listed_once() -> None:
    import assay.web.routes
    from assay.web.app import ROUTE_MODULES

    found = set()
    for info in pkgutil.iter_modules(assay.web.routes.__path__):
        module = importlib.import_module(f"assay.web.routes.{info.name}")
        if hasattr(module, "router"):
            found.add(info.name)
    assert len(ROUTE_MODULES) == len(set(ROUTE_MODULES)), ROUTE_MODULES
    assert set(ROUTE_MODULES) == found, "list each route module once in ROUTE_MODULES"


@pytest.mark.parametrize("package", ["assay.collect", "assay.train", "assay.deploy"])
def test_each_phase_package_exports_exactly_what_it_imports(package: str) -> None:
    """A phase's ``__all__`` and its imports agree (ruff's F401 catches one half only)."""
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and not isinstance(value, __future__._Feature)
    }
    assert public == set(module.__all__), public ^ set(module.__all__)


def test_every_audit_check_class_is_registered_by_its_decorator() -> None:
    from assay.train.audit import _checks

    defined = [
        value.name
        for value in vars(_checks).values()
        if isinstance(value, type) and issubclass(value, _checks.Check) and value.name
    ]
    assert defined and defined == _checks.available_checks()[: len(defined)], defined
