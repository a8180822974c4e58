"""The ``assay`` command line: one Typer app, one module of commands per phase.

Exit codes: 0 ok, 1 findings over a threshold (for CI gating), 2 bad input (the message
says what, where and how to fix it; nothing is written).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import typer

from assay import __version__  # noqa: I001
from assay.cli import data
from assay.cli._common import err_console
from assay.exceptions import AssayError

__all__ = ["app", "main"]


def _exception_classes(name: str, *extra: type[BaseException]) -> tuple[type[BaseException], ...]:
    """Click's exception ``name`` from click and from typer's bundled copy of click."""
    import importlib

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

app = typer.Typer(
    name="assay",
    help="Data-centric AI: hold the model fixed and improve the data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Data-centric AI: hold the model fixed and improve the data."""


data.register(app)


def _register_optional() -> None:
    """Add the command modules of each lifecycle phase that is installed."""
    import importlib

    for module in (
        "collect",
        "labelbook",
        "review",
        "recipe",
        "train",
        "iterate",
        "deploy",
        "web",
        "demo",
    ):
        try:
            mod = importlib.import_module(f"assay.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"assay.cli.{module}":
                raise
            continue
        mod.register(app)


_register_optional()


def _show_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> None:
    """Warnings reach CLI users as one line, without source paths."""
    err_console().print(f"[yellow]warning:[/yellow] {message}", markup=True, highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a script, exit with) the exit code."""
    import warnings

    warnings.showwarning = _show_warning  # type: ignore[assignment]
    try:
        code = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except _EXIT as exc:
        code = getattr(exc, "exit_code", 1)
    except _USAGE as exc:
        exc.show()  # type: ignore[attr-defined]
        code = 2
    except _ABORT:
        err_console().print("Aborted.")
        code = 130
    except AssayError as exc:
        err_console().print(f"[red]error:[/red] {exc}", markup=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        err_console().print("Interrupted; nothing half-written is kept.")
        code = 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no bare traceback
        if os.environ.get("ASSAY_DEBUG"):
            traceback.print_exc()
        err_console().print(
            f"[red]internal error:[/red] {type(exc).__name__}: {exc}. This is a bug in assay; "
            "rerun with ASSAY_DEBUG=1 for the traceback and report it.",
            markup=True,
        )
        code = 3
    return int(code or 0)


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()
