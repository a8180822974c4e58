"""The CLI run in-process: ``cli("import", ...)`` -> (exit code, stdout, stderr)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assay.cli.main import main

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``assay ARGS`` through :func:`assay.cli.main.main`, capturing its output."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
