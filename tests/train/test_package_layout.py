"""train/ is a set of subpackages whose imports form no cycle, at module level.

Imports inside functions are left for optional or slow libraries (hnswlib, PIL,
albumentations, audiomentations, rich, scipy.signal through ``augment._audio``); an
import of assay's own train modules inside a function used to hide a cycle (curves <->
clean_collect, slices <-> recommend), so there is none.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

TRAIN = Path(__file__).resolve().parents[2] / "src" / "assay" / "train"
# Function-level imports of assay.train modules that are there for start-up time only.
LAZY = {("augment/_augment.py", "assay.train.augment._audio")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(TRAIN.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.Import | ast.ImportFrom, modules: set[str]) -> set[str]:
    """The assay.train modules an import statement loads (a submodule if it names one)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in modules}
    base = node.module or ""
    found = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules}
    return found or ({base} if base in modules else set())


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Module-level imports, leaving out ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
            found += [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def _trees() -> dict[str, tuple[Path, ast.Module]]:
    return {_module_name(p): (p, ast.parse(p.read_text())) for p in sorted(TRAIN.rglob("*.py"))}


def _seam(module: str) -> str:
    """assay.train.audit._checks -> audit; assay.train.predict -> predict."""
    return module.split(".")[2] if module.count(".") >= 2 else "__init__"


def test_no_import_of_train_modules_inside_functions() -> None:
    trees = _trees()
    offenders = []
    for path, tree in trees.values():
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    rel = str(path.relative_to(TRAIN))
                    offenders += [f"{rel}:{node.lineno} imports {m} in {fn.name}()"
                                  for m in _imported(node, set(trees)) if (rel, m) not in LAZY]
    assert not offenders, offenders


def test_train_modules_and_seams_import_each_other_without_cycles() -> None:
    trees = _trees()
    modules: dict[str, set[str]] = {}
    seams: dict[str, set[str]] = {}
    for name, (_, tree) in trees.items():
        deps = set()
        for node in _runtime_imports(tree):
            deps |= _imported(node, set(trees))
        modules[name] = {d for d in deps if d != name}
        if _seam(name) != "__init__":
            seams.setdefault(_seam(name), set()).update(
                _seam(d) for d in deps if _seam(d) not in ("__init__", _seam(name)))
    assert {"labels", "audit", "slices", "evaluate", "curves", "augment", "recipe",
            "detect"} <= set(seams)
    graphlib.TopologicalSorter(modules).prepare()  # raises CycleError on a cycle
    graphlib.TopologicalSorter(seams).prepare()
    assert "audit" not in seams["labels"] and "curves" not in seams["slices"], seams
    # The detector may score itself with evaluate's mAP, never the reverse.
    assert seams["detect"] <= {"evaluate"} and "detect" not in seams["evaluate"], seams
