"""Commands for the web app: ``assay ui``, ``assay user add|list``, ``assay token add``."""

from __future__ import annotations

import getpass
import ipaddress
import os
import sys
from pathlib import Path

import typer

from assay.cli._common import (
    JsonOption,
    WorkspaceOption,
    emit_json,
    err_console,
    open_workspace,
    out_console,
    table,
)
from assay.exceptions import InputError
from assay.store.users import ROLES, add_token, add_user, list_users
from assay.store.workspace import current_user

__all__ = ["is_loopback", "register"]

user_app = typer.Typer(help="Manage the people who sign in to `assay ui`.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens for machine clients.", no_args_is_help=True)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ui(
    workspace_arg: Path = typer.Argument(
        None, metavar="WORKSPACE", help="The workspace folder (default: --workspace or .)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on."),
    port: int = typer.Option(8000, "--port", help="The port to listen on."),
    certfile: Path = typer.Option(None, "--tls-cert", help="TLS certificate (PEM) to serve HTTPS."),
    keyfile: Path = typer.Option(None, "--tls-key", help="TLS private key (PEM)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes (one per core). Each process keeps its own sign-in "
                              "failure counts, so N processes allow up to N times the limit."),
    workspace: Path = WorkspaceOption,
) -> None:
    """Serve the review queue and dashboards in the browser (sign-in required)."""
    _check_port(host, port)
    import uvicorn

    from assay.web.app import create_app

    ws = open_workspace(workspace_arg or workspace)
    tls = certfile is not None and keyfile is not None
    if not is_loopback(host) and not tls:
        err_console().print(
            f"[yellow]warning:[/yellow] serving on {host} without TLS: passwords and session "
            "cookies cross the network in clear text. Use --tls-cert/--tls-key or a TLS proxy.",
            markup=True,
        )
    if not list_users(ws):
        err_console().print(
            "No users yet: add one with `assay user add NAME --role admin` to sign in."
        )
    scheme = "https" if tls else "http"
    err_console().print(f"assay ui: {scheme}://{host}:{port}/  (workspace {ws.location})")
    from assay.web.serve import HTTP_PROTOCOL

    options: dict = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "http": HTTP_PROTOCOL,
        "ssl_certfile": str(certfile) if tls else None,
        "ssl_keyfile": str(keyfile) if tls else None,
    }
    if workers == 1:
        uvicorn.run(create_app(ws, secure_cookies=tls), **options)
        return
    if ws.root is None:
        raise InputError("--workers needs a workspace folder (its key file signs sessions).")
    create_app(ws)  # creates the shared session key before the workers start
    os.environ["ASSAY_WORKSPACE"] = str(ws.root)
    os.environ["ASSAY_SECURE_COOKIES"] = "1" if tls else "0"
    uvicorn.run("assay.web.app:app_from_env", factory=True, workers=workers, **options)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask for a password; pass --password-stdin and pipe it.")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise InputError("the two passwords differ; run the command again.")
    return first


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="The user name to sign in with."),
    role: str = typer.Option(..., "--role", help="admin, reviewer or viewer."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Add a user (the password is hashed with argon2)."""
    if role not in ROLES:
        raise InputError(f"--role must be one of {', '.join(ROLES)}; got {role!r}.")
    ws = open_workspace(workspace)
    info = add_user(
        ws, name, role=role, password=_read_password(password_stdin), actor=current_user()
    )
    if as_json:
        emit_json(info.to_dict())
        return
    out_console().print(f"Added {info.name} ({info.role}). Sign in at `assay ui`.")


@user_app.command("list")
def user_list(workspace: Path = WorkspaceOption, as_json: bool = JsonOption) -> None:
    """List users and their roles."""
    users = list_users(open_workspace(workspace))
    if as_json:
        emit_json(users)
        return
    rows = [[u["name"], u["role"], f"{u['created_at']:%Y-%m-%d %H:%M}", u["tokens"]] for u in users]
    out_console().print(table("users", ["name", "role", "created", "API tokens"], rows))


@token_app.command("add")
def token_add(
    name: str = typer.Argument(..., help="What the token is for, e.g. 'ingest-prod'."),
    user: str = typer.Option(..., "--user", help="The user the token acts as."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Create an API token; it is printed once and stored only as a SHA-256 hash."""
    token = add_token(open_workspace(workspace), name, user=user, actor=current_user())
    if as_json:
        emit_json({"name": name, "user": user, "token": token})
        return
    out_console().print(token)
    err_console().print(
        "Keep it now: it cannot be shown again. Send it as `Authorization: Bearer TOKEN`."
    )


def _check_port(host: str, port: int) -> None:
    """Refuse a port out of range or already taken, before uvicorn starts."""
    import socket

    if not 1 <= port <= 65535:
        raise InputError(f"--port {port} is not a TCP port; give a number from 1 to 65535.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or stop "
                "the program using it."
            ) from exc


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(ui)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
