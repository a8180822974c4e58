"""Helpers shared by the CLI commands: the workspace option, output, progress."""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperArgument

from assay._json import jsonable
from assay.exceptions import AssayError, InputError

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = [
    "JsonOption",
    "WideOption",
    "WorkspaceOption",
    "check_output_file",
    "cli_flags",
    "cut",
    "emit_json",
    "err_console",
    "in_range",
    "open_workspace",
    "out_console",
    "plain_help",
    "progress",
    "shown",
    "table",
]

WorkspaceOption = typer.Option(
    None,
    "--workspace",
    "-w",
    envvar="ASSAY_WORKSPACE",
    help="The workspace folder (default: the current folder).",
    show_default=False,
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")


class _PlainArgument(TyperArgument):
    """An argument shown as ``NAME`` (required) or ``[NAME]`` in the usage line."""

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        return name if self.required else f"[{name}]"


def plain_help(command: Any) -> Any:
    """Make the help of ``command`` and of every command under it read plainly.

    Typer 0.29 renders every boolean flag with a value type, ``--json <bool>``,
    although a flag takes no value (``--json true`` is refused), and names arguments
    ``{name}`` (required) or ``[name]`` in the usage line, bracketing a metavar that
    has its brackets already into ``[[WORKSPACE]]``. Here a flag shows no type and an
    argument is ``NAME`` or ``[NAME]``, as in a Unix usage line; missing-argument
    errors name it the same way (``Missing argument 'NAME'``). Older Typer versions
    render the same way already and are left as they are.

    Parameters
    ----------
    command : click.Command
        The command tree built by ``typer.main.get_command``; changed in place.

    Returns
    -------
    click.Command
        ``command``.
    """
    pending = [command]
    while pending:
        current = pending.pop()
        pending.extend(getattr(current, "commands", {}).values())
        if isinstance(getattr(current, "help", None), str):
            current.help = unwrap_help(current.help)
        params = list(current.params)
        if getattr(current, "add_help_option", False):
            params.append(current.get_help_option(typer.Context(current)))
        for param in filter(None, params):
            if isinstance(param, TyperArgument):
                name = (param.metavar or param.name or "").strip("[]{}").upper()
                param.metavar = name + ("..." if param.nargs != 1 else "")
                if type(param) is TyperArgument:
                    param.__class__ = _PlainArgument
            elif getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
    return command


def unwrap_help(text: str) -> str:
    """Join the lines of each paragraph of a docstring, so that help wraps at the
    terminal's width instead of at the source's line breaks (Typer keeps them).

    Paragraphs are separated by blank lines; a paragraph whose lines are indented or
    start with ``-``, ``*`` or click's ``\\b`` keeps its lines.
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    kept = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        literal = any(line.startswith((" ", "-", "*", "\b")) for line in lines[1:]) or (
            lines and lines[0].startswith("\b")
        )
        kept.append(paragraph if literal else " ".join(line.strip() for line in lines))
    return "\n\n".join(kept)


def out_console() -> Console:
    """A console on the current standard output (created per call, for testability)."""
    return Console(file=sys.stdout, soft_wrap=True, highlight=False)


def err_console() -> Console:
    """A console on standard error, for messages and progress."""
    return Console(file=sys.stderr, soft_wrap=True, highlight=False)


WIDTH = 80
"""The terminal width every line of output fits."""


def say(text: str, *, err: bool = False, indent: str = "") -> None:
    """Print ``text`` wrapped at :data:`WIDTH` columns, without markup.

    Words are never split (a path or a command stays whole); continuation lines
    start with ``indent``.
    """
    lines = textwrap.wrap(
        text,
        WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    console = err_console() if err else out_console()
    console.print("\n".join(lines) or "", markup=False, highlight=False)


def open_workspace(path: Path | None) -> Workspace:
    """Open the workspace at ``path``, ``$ASSAY_WORKSPACE`` or the current folder."""
    from assay.store.workspace import Workspace

    return Workspace(path if path is not None else os.environ.get("ASSAY_WORKSPACE", "."))


def emit_json(payload: Any) -> None:
    """Print ``payload`` as JSON on standard output."""
    sys.stdout.write(json.dumps(jsonable(payload), indent=2) + "\n")


def shown(value: Any) -> str:
    """A cell of a terminal table: empty for None and NaN, long floats to six
    significant digits (a suggested 2593.352555833292 reads 2593.35), else ``str``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if len(repr(value)) > 8:
            return f"{value:.6g}"
    return str(value)


WideOption = typer.Option(
    False, "--wide", help="Every column and every cell whole (lines may pass 80 columns)."
)
"""The ``--wide`` flag of every command that prints a table (see :func:`table`)."""


def table(
    title: str | None,
    columns: list[str],
    rows: list[list[Any]],
    *,
    wide: bool = False,
    flexible: tuple[str, ...] = (),
) -> Text:
    """A table of one line per row that fits :data:`WIDTH` columns (see
    :func:`line_table`), as plain text for ``console.print``.

    Put the id column first: it is cut last. ``wide=True`` (the ``--wide`` flag):
    every cell whole, however long the line.

    Parameters
    ----------
    title : str or None
        The line above the header.
    columns : list of str, length k
        The header.
    rows : list of list, each of length k
        The cells (values shown by :func:`shown`).
    wide : bool
        Every cell whole.
    flexible : tuple of str
        Long-text columns that give up their width first.
    """
    return Text(line_table(title, columns, rows, flexible=flexible, wide=wide))


def line_table(
    title: str | None,
    columns: list[str],
    rows: list[list[Any]],
    *,
    flexible: tuple[str, ...] = (),
    wide: bool = False,
) -> str:
    """A plain table of one line per row that fits :data:`WIDTH` columns.

    Cells never wrap: a long one ends in an ellipsis, the ``flexible`` columns (long
    text, e.g. a reason) giving up their width first, then the widest others (at most
    :data:`CELL` characters each). ``wide=True``: every cell whole.
    """
    cells = [[shown(v).replace("\n", " ") for v in row] for row in rows]
    widths = [max([len(name), *(len(r[i]) for r in cells)]) for i, name in enumerate(columns)]
    if not wide:
        widths = _fit(widths, [name in flexible for name in columns])
    lines = [title] if title else []
    lines.append("  ".join(_cell(n, w) for n, w in zip(columns, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(_cell(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    ]
    return "\n".join(lines)


CELL = 24
"""The widest a fixed column of :func:`line_table` gets on :data:`WIDTH` columns."""


def _fit(widths: list[int], flexible: list[bool]) -> list[int]:
    """Column widths that sum, with two spaces between columns, to at most WIDTH
    (unchanged when they fit)."""
    room = WIDTH - 2 * (len(widths) - 1)
    if sum(widths) <= room:
        return widths
    natural = list(widths)
    widths = [w if flex else min(w, CELL) for w, flex in zip(widths, flexible, strict=True)]
    flex = [i for i, f in enumerate(flexible) if f]
    for i in reversed(flex):  # the last flexible column gives up its width first
        widths[i] -= min(max(sum(widths) - room, 0), max(widths[i] - 12, 0))
    while sum(widths) > room:
        pool = [i for i, w in enumerate(widths) if w > 4]
        if not pool:
            break
        widths[max(pool, key=lambda i: widths[i])] -= 1
    for i, want in enumerate(natural):  # room left: back to the first (id) columns first
        widths[i] += max(min(want - widths[i], room - sum(widths)), 0)
    return widths


def _cell(text: str, width: int) -> str:
    """``text`` in ``width`` characters: padded, or cut with an ellipsis."""
    return cut(text, width).ljust(width)


def cut(text: str, width: int = WIDTH) -> str:
    """``text`` on one line of at most ``width`` characters, ending in an ellipsis
    when cut (the one truncation of the CLI's output; line breaks become spaces)."""
    line = " ".join(text.split()) if "\n" in text else text
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def print_lines(text: str) -> None:
    """Print ``text`` as it is (no markup, no wrapping)."""
    out_console().print(text, markup=False, highlight=False, soft_wrap=True)


def say_lines(text: str, *, wide: bool = False) -> None:
    """Print the lines of ``text`` (e.g. a result's ``summary()``) each wrapped at
    :data:`WIDTH` columns, continuation lines indented two more than their line;
    ``wide=True``: as they are. A line that is a command (``assay ...``) is never
    wrapped, so that it can be copied into a shell whole."""
    if wide:
        print_lines(text)
        return
    wrapped = []
    for line in text.splitlines():
        if line.lstrip(" ").startswith("assay "):
            wrapped.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip(" ")))
        wrapped += textwrap.wrap(
            line,
            WIDTH,
            subsequent_indent=indent + "  ",
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
    print_lines("\n".join(wrapped))


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Any]:
    """Show ``description`` and every stage the library announces inside (see
    :mod:`assay._progress`) on standard error: Rich bars with counts, elapsed time and
    time left on a terminal; a line per stage that runs over two seconds otherwise.

    Yields a callable ``advance(n=1)`` for the outer stage.
    """
    from assay._progress import LineReporter, reporting, stage

    console = err_console()
    reporter: Any
    if console.is_terminal:
        reporter = _RichReporter(console)
    else:
        reporter = LineReporter(lambda line: console.print(line, markup=False, highlight=False))
    try:
        with reporting(reporter), stage(description, total) as advance:
            yield advance
    finally:
        if console.is_terminal:
            reporter.close()


class _RichStage:
    def __init__(self, owner: _RichReporter, task: Any):
        self._owner, self._task = owner, task

    def advance(self, n: int = 1) -> None:
        self._owner.bar.advance(self._task, n)

    def finish(self) -> None:
        self._owner.bar.remove_task(self._task)


class _RichReporter:
    """Stages as Rich progress rows (one per running stage), removed when they end."""

    def __init__(self, console: Console):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.bar.start()

    def start(self, description: str, total: int | None) -> _RichStage:
        return _RichStage(self, self.bar.add_task(description, total=total))

    def close(self) -> None:
        self.bar.stop()


def _named_param(exc: AssayError) -> str | None:
    """The parameter ``exc`` is about: its ``param``, else the one its message's
    scikit-learn head names (``The 'n' parameter of f must ...``, an error raised
    without ``param``)."""
    if exc.param is not None:
        return exc.param
    head = "The '"
    text = str(exc)
    name, sep, rest = text[len(head) :].partition("' parameter of ")
    return name if text.startswith(head) and sep and " must" in rest else None


def param_message(message: str, param: str | None, flags: Mapping[str, str]) -> str:
    """``message`` about Python parameter ``param`` worded with its flag, if it has one.

    The library words a parameter error ``The 'n' parameter of plan_sample must be
    ...`` (from :func:`assay._validation.validate_params`) or, in prose, ``ci_width=
    needs ...``; the CLI says ``--n must be ...`` and ``--ci-width needs ...``. The
    parameter comes from :attr:`~assay.exceptions.InputError.param`, never from
    matching names in the text; other parameters named in prose are translated by a
    command's ``phrases``.
    """
    flag = flags.get(param) if param is not None else None
    if flag is None:
        return message
    head = f"The '{param}' parameter of "
    if message.startswith(head):
        _, sep, rest = message[len(head) :].partition(" must")
        if sep:
            return f"{flag} must{rest}"
    keyword = f"{param}="
    if message.startswith(keyword):  # "ci_width= needs ...", "status='x' is not ..."
        return f"{flag} {message[len(keyword) :].lstrip(' ')}"
    return message


def cli_message(
    message: str,
    flags: Mapping[str, str],
    phrases: Mapping[str, str] | None = None,
    *,
    param: str | None = None,
) -> str:
    """``message`` with ``phrases`` (library wording -> CLI wording) replaced, then the
    parameter ``param`` named by its flag (:func:`param_message`)."""
    for python, cli in (phrases or {}).items():
        message = message.replace(python, cli)
    return param_message(message, param, flags)


@contextmanager
def cli_flags(*, phrases: Mapping[str, str] | None = None, **flags: str) -> Iterator[None]:
    """Name the library's parameters by their CLI flags in errors raised inside.

    ``with cli_flags(n="--n", ci_width="--ci-width"): plan_sample(...)``: an
    :class:`~assay.exceptions.AssayError` about parameter ``n`` (its ``param``) leaves
    with the same class and ``--n`` in its message (:func:`cli_message`); ``phrases``
    replaces whole library phrases a CLI user cannot act on, e.g. ``"pass
    allow_new=True"``, and parameters named in prose. Library messages stay right for
    Python users.
    """
    try:
        yield
    except AssayError as exc:
        param = _named_param(exc)
        message = cli_message(str(exc), flags, phrases, param=param)
        if message == str(exc):
            raise
        new = type(exc)(message)
        new.param = param
        raise new from exc


def in_range(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> Callable[[Any], Any]:
    """A Typer option callback refusing a number outside an interval, and NaN.

    ``typer.Option(0.9, "--alpha", callback=in_range(0, 1, low_open=True))``: the value
    is checked while the command line is parsed, before any work, so a bad number exits
    2 with nothing written. Use it for open intervals and for floats (``min=``/``max=``
    of Typer accept NaN); ``None`` (an option not given) passes.

    Parameters
    ----------
    low, high : float, optional
        The bounds; ``None`` leaves that side unbounded.
    low_open, high_open : bool
        Whether the bound itself is excluded.
    hint : str
        What the number means, appended to the message (e.g. ``"an accuracy drop"``).
    """
    interval = _interval(low, high, low_open, high_open)

    def check(value: Any) -> Any:
        if value is None:
            return value
        number = float(value)
        below = low is not None and (number <= low if low_open else number < low)
        above = high is not None and (number >= high if high_open else number > high)
        if math.isnan(number) or below or above:
            raise typer.BadParameter(
                f"must be a number{interval}{f' ({hint})' if hint else ''}; got {value}."
            )
        return value

    return check


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """`` in (0, 1]``, `` >= 1``, `` < 10`` or ``""`` (no bound)."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def check_output_file(path: Path, flag: str) -> Path:
    """Refuse an output file that cannot be written, before any work is done.

    Nothing is created: the path must not be a folder, and its nearest existing parent
    must be a writable folder (missing folders are created when the file is written).

    Raises
    ------
    InputError
        Naming ``flag``, the path and what to give instead.
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(
            f"{flag} {target} is a folder; give a file name such as {target / 'report.html'}."
        )
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{flag} {target}: {parent} is a file, not a folder; choose another path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"{flag} {target}: the folder {parent} is not writable; choose another path."
        )
    return target
