"""Imports flow one way (docs/architecture.md): algorithms (collect, train, deploy) never
import the store, the report, the CLI or the web app; the ground modules (statistics,
charts, validation, errors, JSON) import nothing of assay above them; the use cases
(workflows) import no face; the faces (cli, web, demo) never import each other; the
store imports no workflow or face."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "assay"
ALGORITHMS = ("collect", "train", "deploy", "modalities")
FORBIDDEN = ("assay.store", "assay.cli", "assay.web", "assay.report", "assay.demo")
GROUND = ("_stats", "_charts", "_validation", "exceptions", "_json")
UPPER = tuple(f"assay.{layer}" for layer in
              ("collect", "train", "deploy", "store", "report", "web", "cli", "demo"))
FACES = ("cli", "web", "demo")
#: The commands that start another face: ``assay demo`` runs the demo, ``assay ui``
#: serves the web app. No other module of a face may import another face.
LAUNCHERS = {"cli/demo.py": "demo", "cli/web.py": "web"}
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _imported(path: Path) -> set[str]:
    """:func:`_imports` plus ``module.name`` of each ``from module import name`` (so that
    ``from assay import cli`` counts as importing ``assay.cli``)."""
    names = _imports(path)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _within(name: str, package: str) -> bool:
    """Whether the imported ``name`` is ``assay.<package>`` or inside it."""
    full = f"assay.{package}"
    return name == full or name.startswith(f"{full}.")


def _offenders(layer: str, forbidden: tuple[str, ...], root: Path = PACKAGE) -> list[str]:
    """``path imports name`` for every import of a ``forbidden`` package in ``layer``
    (the launcher commands excepted: see ``LAUNCHERS``)."""
    return [
        f"{path.relative_to(root)} imports {name}"
        for path in sorted((root / layer).rglob("*.py"))
        for name in sorted(_imported(path))
        if any(_within(name, package) for package in forbidden)
        and LAUNCHERS.get(path.relative_to(root).as_posix()) != name.split(".")[1]
    ]


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


def test_workflows_import_no_face() -> None:
    assert (PACKAGE / "workflows").is_dir()
    assert not _offenders("workflows", FACES), _offenders("workflows", FACES)


@pytest.mark.parametrize("face", FACES)
def test_faces_never_import_each_other(face: str) -> None:
    others = tuple(f for f in FACES if f != face)
    assert not _offenders(face, others), _offenders(face, others)


@pytest.mark.parametrize("engine", ALGORITHMS)
def test_engines_import_neither_store_nor_workflows(engine: str) -> None:
    found = _offenders(engine, ("store", "workflows", *FACES))
    assert not found, found


def test_tasks_import_only_the_ground_and_the_engines() -> None:
    """``tasks`` (what a label is, per kind) sits under the store: it may name engine
    functions (collect, train, deploy, modalities) and use the ground modules, never the
    store, the workflows or a face."""
    assert (PACKAGE / "tasks").is_dir()
    found = _offenders("tasks", ("store", "workflows", "report", *FACES))
    assert not found, found


def test_store_imports_no_workflow_or_face() -> None:
    found = _offenders("store", ("workflows", *FACES))
    assert not found, found


def test_only_faces_and_workflows_import_the_report() -> None:
    layers = ("store", "tasks", *ALGORITHMS)
    found = [o for layer in layers if (PACKAGE / layer).exists()
             for o in _offenders(layer, ("report",))]
    found += [f"{m}.py imports {n}" for m in GROUND
              for n in _imports(PACKAGE / f"{m}.py") if _within(n, "report")]
    assert not found, found


#: User-interface libraries: a workflow returns data, the faces present it.
UI_LIBRARIES = ("typer", "click", "fastapi", "starlette", "rich", "jinja2", "uvicorn")


def test_workflows_import_no_user_interface_library() -> None:
    found = [f"{path.relative_to(PACKAGE)} imports {name}"
             for path in sorted((PACKAGE / "workflows").rglob("*.py"))
             for name in sorted(_imports(path))
             if name.split(".")[0] in UI_LIBRARIES]
    assert not found, found


#: The most lines a function body of a face may have (signature and docstring aside):
#: a face parses input, calls a workflow and renders; more is orchestration to move.
FACE_BODY_LINES = 40


def _long_bodies(path: Path, limit: int = FACE_BODY_LINES) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:] or body
            lines = (node.end_lineno or node.lineno) - body[0].lineno + 1
            if lines > limit:
                found.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_face_functions_are_short() -> None:
    found = [long for face in ("cli", "web") for path in sorted((PACKAGE / face).rglob("*.py"))
             for long in _long_bodies(path)]
    assert not found, found


def test_the_length_check_sees_a_long_function(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(FACE_BODY_LINES + 1))
    path.write_text(f'def f() -> None:\n    """Doc."""\n{body}\n')
    assert _long_bodies(path) == [f"x.py:1 f ({FACE_BODY_LINES + 1} lines)"]
    path.write_text(f'def f() -> None:\n    """Doc."""\n{body.rsplit(chr(10), 1)[0]}\n')
    assert _long_bodies(path) == []


def test_the_face_rule_sees_the_demo_import_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text("from assay import cli\nfrom assay.workflows.audit import run_audit\n"
                    "import assay.cliff\n")
    names = _imported(path)
    assert {n for n in names if _within(n, "cli")} == {"assay.cli"}
    assert {n for n in names if _within(n, "workflows")} == {
        "assay.workflows.audit", "assay.workflows.audit.run_audit"}


def test_only_the_launcher_commands_may_import_another_face(tmp_path: Path) -> None:
    """The exception is per module: another CLI module importing the demo is refused,
    and so is the demo importing the CLI."""
    for name, text in {
        "cli/demo.py": "from assay.demo import run_demo\n",
        "cli/train.py": "def f():\n    from assay.demo import run_demo\n",
        "demo/train.py": "from assay.cli.train import run_audit\n",
        "demo/iterate.py": "from assay.workflows.audit import run_audit\n",
    }.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _offenders("cli", ("web", "demo"), tmp_path) == [
        "cli/train.py imports assay.demo", "cli/train.py imports assay.demo.run_demo"]
    assert _offenders("demo", ("cli", "web"), tmp_path) == [
        "demo/train.py imports assay.cli.train", "demo/train.py imports assay.cli.train.run_audit"]


def _flag_strings_and_prints(path: Path) -> list[str]:
    """String constants that name a CLI flag (``--recipe``) and calls of ``print``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [f"{path.name}: {m}" for m in FLAG.findall(node.value)]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            found.append(f"{path.name}: print()")
    return found


def test_workflows_never_print_nor_name_a_flag() -> None:
    found = [f for p in sorted((PACKAGE / "workflows").glob("*.py"))
             for f in _flag_strings_and_prints(p)]
    assert not found, found
    consoles = [
        f"{path.name} imports {name}"
        for path in sorted((PACKAGE / "workflows").glob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in ("typer", "rich", "click", "fastapi", "starlette")
    ]
    assert not consoles, consoles


def test_the_flag_check_sees_a_flag_and_a_print(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text('def f():\n    print("x")\n    raise ValueError("give --recipe X, not a_b--c")\n')
    assert sorted(_flag_strings_and_prints(path)) == ["x.py: --recipe", "x.py: print()"]
