"""Every command's --help reads cleanly, and starting the CLI stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assay.cli.main import COMMAND_MODULES, command_tree


def _commands() -> list[list[str]]:
    """The path of every command and group, e.g. ``["review", "decide"]``."""
    found: list[list[str]] = [[]]

    def walk(cmd, path: list[str]) -> None:
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            found.append([*path, name])
            walk(sub, [*path, name])

    walk(command_tree(), [])
    return found


COMMANDS = _commands()


def test_the_command_list_is_complete() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"import", "ui", "review decide", "monitor ingest", "audit"} <= names


def test_each_command_loads_from_its_module_alone() -> None:
    """``assay NAME`` imports one module: the table must name the right one for each."""
    assert set(command_tree().commands) == set(COMMAND_MODULES)
    for name in COMMAND_MODULES:
        assert name in command_tree(name).commands, name


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "assay")
def test_help_has_no_rendering_artefacts(cli, monkeypatch, path: list[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = cli(*path, "--help")
    assert code == 0, err
    assert "Usage: assay" in out
    for artefact in ("<bool>", "{", "}", "[[", "]]"):
        assert artefact not in out, (artefact, out)


def test_help_shows_arguments_and_flags_plainly(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = cli("import", "--help")[1]
    assert "assay import [OPTIONS] NAME [SOURCE]" in out  # or --boxes FILE --format F
    assert "--json " in out and "--label" in out and "<str>" in out
    out = cli("ui", "--help")[1]
    assert "assay ui [OPTIONS] [WORKSPACE]" in out


def test_json_is_a_flag_and_missing_arguments_are_named(cli) -> None:
    code, _, err = cli("log", "--json", "true")
    assert code == 2
    code, _, err = cli("import")
    assert code == 2 and "'NAME'" in err


def _imported(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


def test_importing_assay_loads_no_heavy_library() -> None:
    modules = _imported("import assay")
    heavy = {"sklearn", "scipy", "sqlalchemy", "pyarrow", "pandas"} & modules
    assert not heavy, heavy
    modules = _imported("import assay; assay.Workspace; assay.agreement")
    assert {"sqlalchemy", "pandas"} <= modules


def test_version_is_printed_without_loading_the_commands() -> None:
    modules = _imported("from assay.cli.main import main; main(['--version'])")
    assert "assay.cli.data" not in modules and "sklearn" not in modules



@pytest.mark.parametrize("command", ["import", "review", "gc", "agree"])
def test_store_commands_start_without_scipy_optimize_stats_or_sklearn(command: str) -> None:
    """The commands that only read and write the store (run many times, in scripts and
    by concurrent labelers) start without the libraries that take a second to import;
    the algorithms that need them import them when they run."""
    modules = _imported(f"from assay.cli.main import command_tree; command_tree({command!r})")
    assert "assay.store.workspace" in modules  # the command's own module did load
    slow = {"scipy.optimize", "scipy.stats", "sklearn"} & modules
    assert not slow, slow

@pytest.mark.parametrize("path", [c for c in COMMANDS if c], ids=lambda p: " ".join(p))
def test_help_at_80_columns_wraps_paragraphs_and_keeps_a_help_column(
    cli, monkeypatch, path: list[str]
) -> None:
    """No hard line breaks from docstrings, and no option squeezes the help text
    (issue 17: `import --help` broke after '(--task)', `ui --help` left 16 columns)."""
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = cli(*path, "--help")
    lines = out.splitlines()
    assert code == 0 and all(len(line) <= 80 for line in lines)
    description = []
    for line in lines[3:]:
        if line.startswith("╭"):
            break
        description.append(line.strip())
    for before, after in zip(description, description[1:], strict=False):
        if before and after:  # a paragraph's line ends only where the next word won't fit
            assert len(before) + 1 + len(after.split()[0]) > 78, (before, after)
    options = [line for line in lines if line.startswith("│ --")]
    widths = [len(line.rstrip("│ ").split("  ")[-1]) for line in options if "  " in line]
    assert not options or max(widths) >= 22, lines
