"""Every `assay ...` command that README.md and docs/ name exists, with the flags they give.

A user copies commands from the docs; a command renamed in the CLI but not in the docs
(``assay report`` once) must fail here, not in a user's terminal.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from assay.cli.main import command_tree

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_INLINE = re.compile(r"`(assay [^`]+)`")
_BLOCK_LINE = re.compile(r"^\s*(?:\$ )?(assay [a-z].*)$")


def _documented() -> list[tuple[str, str]]:
    """(where, command line) for each command in inline code and in code blocks."""
    found: list[tuple[str, str]] = []
    for doc in DOCS:
        in_block = False
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            where = f"{doc.relative_to(ROOT)}:{number}"
            if in_block and (match := _BLOCK_LINE.match(line)):
                for part in match.group(1).split(" ; "):  # `a ; b` on one line
                    found.append((where, part.split("#")[0].strip()))
            elif not in_block:
                found.extend((where, m) for m in _INLINE.findall(line))
    return found


def _words(command: str) -> list[str]:
    text = command.replace("\\|", "|")
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote in prose: plain words
        return text.split()


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")  # Typer vendors click: no isinstance


def _sub(group: Any, name: str) -> Any:
    return group.get_command(None, name)


def _resolve(words: list[str]) -> tuple[list[Any], list[str]]:
    """The commands a documented line names (``a|b`` names several) and its flags."""
    commands: list[Any] = [command_tree()]
    rest = words[1:]
    while rest and all(_is_group(c) for c in commands):
        groups = [c for c in commands if _is_group(c)]
        found = [_sub(g, n) for g in groups for n in rest[0].split("|")]
        if not all(found):
            break
        commands = [c for c in found if c is not None]
        rest = rest[1:]
    flags = [w.strip("[]").split("=")[0] for w in rest if w.lstrip("[").startswith("--")]
    return commands, [f for f in flags if f]


DOCUMENTED = _documented()


def test_the_docs_name_commands() -> None:
    assert len(DOCUMENTED) > 40  # the pattern still finds the docs' commands


@pytest.mark.parametrize(("where", "command"), DOCUMENTED, ids=[w for w, _ in DOCUMENTED])
def test_documented_command_exists(where: str, command: str) -> None:
    words = _words(command)
    commands, flags = _resolve(words)
    assert commands != [command_tree()], f"{where}: `{command}` names no assay command"
    for cmd in commands:
        if _is_group(cmd) and len(words) > 2 and words[2].islower():
            assert all(_sub(cmd, n) for n in words[2].split("|")), (
                f"{where}: `{command}`: {cmd.name} has no {words[2]!r}")
        options = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
        unknown = [f for f in flags if f not in options]
        assert not unknown, f"{where}: `{command}` gives {unknown}, which {cmd.name} lacks"


def test_report_writes_the_workspace_report(cli, tmp_path: Path) -> None:
    """`assay report` (docs/train.md): the page names the workspace's datasets."""
    import numpy as np
    import pandas as pd

    from assay.store.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    rng = np.random.default_rng(0)
    ws.import_dataset("pets", pd.DataFrame(
        {"x": rng.normal(size=30), "label": rng.choice(["cat", "dog"], 30)}), label="label")
    out = tmp_path / "out" / "report.html"
    code, printed, err = cli("report", "--out", str(out), "-w", ws.location)
    assert code == 0 and str(out) in printed, err
    assert "pets" in out.read_text(encoding="utf-8")
    code, _, err = cli("report", "--out", str(tmp_path), "-w", ws.location)
    assert code == 2 and "is a folder" in err


def test_docs_list_every_featurizer_and_the_example_recipe_builds() -> None:
    """docs/train.md names each `featurizer:` a YAML recipe accepts (issue 17)."""
    import yaml

    from assay.modalities import available_modalities
    from assay.train.recipe._yaml import FEATURIZERS, build_from_yaml_spec, validate_yaml_spec

    text = (ROOT / "docs" / "train.md").read_text(encoding="utf-8")
    section = text.split("## Recipes: the `featurizer:` options", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert documented == {*FEATURIZERS, *available_modalities()}
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = validate_yaml_spec(yaml.safe_load(example), where="docs/train.md")
    assert build_from_yaml_spec(spec) is not None
