"""Imports flow one way (docs/architecture.md): algorithms (collect, train, deploy) never
import the store, the report, the CLI or the web app; the ground modules (statistics,
charts, validation, errors, JSON) import nothing of assay above them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "assay"
ALGORITHMS = ("collect", "train", "deploy", "modalities")
FORBIDDEN = ("assay.store", "assay.cli", "assay.web", "assay.report", "assay.demo")
GROUND = ("_stats", "_charts", "_validation", "exceptions", "_json")
UPPER = tuple(f"assay.{layer}" for layer in
              ("collect", "train", "deploy", "store", "report", "web", "cli", "demo"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_algorithms_do_not_import_io_layers() -> None:
    offenders = []
    for phase in ALGORITHMS:
        for path in (PACKAGE / phase).rglob("*.py"):
            for name in _imports(path):
                if name.startswith(FORBIDDEN):
                    offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offenders, offenders


def test_ground_modules_import_no_upper_layer() -> None:
    offenders = []
    for module in GROUND:
        path = PACKAGE / f"{module}.py"
        offenders += [f"{path.name} imports {name}" for name in _imports(path)
                      if name.startswith(UPPER)]
    assert not offenders, offenders


def test_the_layering_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text("from assay.report.svg import line_chart\nimport assay.train.curves\n")
    assert {n for n in _imports(path) if n.startswith(FORBIDDEN)} == {"assay.report.svg"}
    assert {n for n in _imports(path) if n.startswith(UPPER)} == {
        "assay.report.svg", "assay.train.curves"}
