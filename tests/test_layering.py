"""Imports flow one way: algorithms (collect, train, deploy) never import the store,
the CLI or the web app (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "assay"
ALGORITHMS = ("collect", "train", "deploy", "modalities")
FORBIDDEN = ("assay.store", "assay.cli", "assay.web", "assay.report.build", "assay.demo")


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
