"""The ``assay`` command line: one Typer app, one module of commands per phase.

Exit codes: 0 ok, 1 findings over a threshold (for CI gating), 2 bad input (the message
says what, where and how to fix it; nothing is written).

Startup is lazy: ``assay --version`` imports no command module, and ``assay NAME ...``
imports only the module that registers command ``NAME`` (:data:`COMMAND_MODULES`).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer

from assay import __version__
from assay.exceptions import AssayError

__all__ = ["COMMAND_MODULES", "MODULES", "app", "command_tree", "main"]  # noqa: F822 (app: lazy)

#: The index of the commands: the module that registers each top-level command, in the
#: order ``assay --help`` lists them. Each command is declared once, in its module's
#: ``register``; this table only lets ``assay NAME`` import that module alone.
#: tests/test_registries.py rebuilds it from the modules and prints the right table when
#: it drifts (a command not listed would load every module).
COMMAND_MODULES = {
    **dict.fromkeys(["init", "import", "log", "show", "diff", "export", "gc", "drop"], "data"),
    **dict.fromkeys(["annotations", "agree", "consensus", "plan-sample"], "collect"),
    "labelbook": "labelbook",
    "label": "labeling",
    "review": "review",
    "recipe": "recipe",
    **dict.fromkeys(["audit", "slices", "curve"], "train"),
    **dict.fromkeys(["train", "experiments", "compare", "augment", "loop"], "iterate"),
    **dict.fromkeys(["drift", "monitor"], "deploy"),
    **dict.fromkeys(["ui", "report", "user", "token", "session"], "web"),
    "demo": "demo",
}
#: The command modules, in the order ``assay --help`` lists their commands.
MODULES = tuple(dict.fromkeys(COMMAND_MODULES.values()))
_HELP = "Data-centric AI: hold the model fixed and improve the data."


def _exception_classes(name: str, *extra: type[BaseException]) -> tuple[type[BaseException], ...]:
    """Click's exception ``name`` from click and from typer's bundled copy of click."""
    found: set[type[BaseException]] = set(extra)
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:  # pragma: no cover - older typer uses click itself
            continue
        if cls is not None:
            found.add(cls)
    return tuple(found)


_EXIT = _exception_classes("Exit", typer.Exit)
_USAGE = _exception_classes("ClickException")
_ABORT = _exception_classes("Abort", typer.Abort)


def _version(value: bool) -> None:
    if value:
        print(f"assay {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Data-centric AI: hold the model fixed and improve the data."""


@functools.cache
def _typer_app(modules: tuple[str, ...]) -> typer.Typer:
    """A Typer app with the commands of ``modules`` (those that are installed)."""
    new = typer.Typer(
        name="assay",
        help=_HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    new.callback()(_root)
    for module in modules:
        try:
            mod = importlib.import_module(f"assay.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"assay.cli.{module}":
                raise
            continue
        mod.register(new)
    return new


@functools.cache
def command_tree(command: str | None = None) -> Any:
    """The click command tree that runs ``assay``, its help made plain.

    Parameters
    ----------
    command : str, optional
        A top-level command name: the tree then holds only the commands of the module
        that registers it (imports of the others are skipped). Default: every command.
    """
    module = COMMAND_MODULES.get(command) if command is not None else None
    from assay.cli._common import plain_help

    return plain_help(typer.main.get_command(_typer_app((module,) if module else MODULES)))


def __getattr__(name: str) -> Any:
    if name == "app":  # the Typer app with every command, built on first use
        return _typer_app(MODULES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _show_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> None:
    """Warnings reach CLI users as one line, without source paths."""
    from assay.cli._common import err_console

    err_console().print(f"[yellow]warning:[/yellow] {message}", markup=True, highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a script, exit with) the exit code."""
    import warnings

    args = list(argv) if argv is not None else sys.argv[1:]
    if args == ["--version"]:  # without loading any command
        print(f"assay {__version__}")
        return 0
    warnings.showwarning = _show_warning  # type: ignore[assignment]
    try:
        tree = command_tree(args[0] if args else None)
        code = tree.main(args=args, prog_name="assay", standalone_mode=False)
    except _EXIT as exc:
        code = getattr(exc, "exit_code", 1)
    except _USAGE as exc:
        exc.show()  # type: ignore[attr-defined]
        code = 2
    except _ABORT:
        _print_error("Aborted.")
        code = 130
    except AssayError as exc:
        _print_error(f"[red]error:[/red] {_markup_escape(str(exc))}")
        code = exc.exit_code
    except KeyboardInterrupt:
        _print_error("Interrupted; nothing half-written is kept.")
        code = 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no bare traceback
        if os.environ.get("ASSAY_DEBUG"):
            traceback.print_exc()
        _print_error(
            f"[red]internal error:[/red] {type(exc).__name__}: {exc}. This is a bug in assay; "
            "rerun with ASSAY_DEBUG=1 for the traceback and report it."
        )
        code = 3
    return int(code or 0)


def _markup_escape(text: str) -> str:
    """``text`` shown as is (``pip install 'assay[speech]'`` keeps its brackets)."""
    from rich.markup import escape

    return escape(text)


def _print_error(text: str) -> None:
    from assay.cli._common import err_console

    err_console().print(text, markup=True)


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()
