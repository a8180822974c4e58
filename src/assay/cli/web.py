"""Commands for the web app: ``assay ui``, ``assay user add|list|passwd|rm``,
``assay token add|list|rm``, ``assay session list|rm``."""

from __future__ import annotations

import getpass
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

import typer

from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    check_output_file,
    emit_json,
    err_console,
    open_workspace,
    out_console,
    say,
    table,
)
from assay.exceptions import InputError
from assay.store.users import (
    ROLES,
    add_token,
    add_user,
    end_sessions,
    list_sessions,
    list_tokens,
    list_users,
    remove_token,
    remove_user,
    set_password,
)
from assay.store.workspace import current_user

__all__ = ["is_loopback", "register", "uvicorn_options"]

user_app = typer.Typer(help="Manage the people who sign in to `assay ui`.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens for machine clients.", no_args_is_help=True)
session_app = typer.Typer(help="See and end signed-in browser sessions.", no_args_is_help=True)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cookie_flag(secure_cookies: bool | None, no_secure_cookies: bool) -> bool | None:
    """Fold the hidden ``--no-secure-cookies`` into ``--secure-cookies`` (one help line
    for the pair keeps the help 80 columns wide)."""
    if not no_secure_cookies:
        return secure_cookies
    if secure_cookies:
        raise InputError("give --secure-cookies or --no-secure-cookies, not both.")
    return False


def _warn_before_serving(ws: Any, host: str, tls: bool) -> None:
    """Say on stderr what would surprise a user once the server runs: clear text off
    loopback, or no user to sign in as."""
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
    forwarded_allow_ips: str = typer.Option(
        None,
        "--forwarded-allow-ips",
        metavar="IPS",
        help="Addresses of reverse proxies whose X-Forwarded-For/-Proto to believe "
        "(comma-separated IPs or networks, or '*'). Default: none, not even loopback.",
    ),
    secure_cookies: bool = typer.Option(
        None,
        "--secure-cookies",
        help="Mark the session cookie Secure (behind a TLS proxy); --no-secure-cookies: "
        "never. Default: $ASSAY_SECURE_COOKIES, else on with --tls-cert.",
        show_default=False,
    ),
    no_secure_cookies: bool = typer.Option(
        False, "--no-secure-cookies", hidden=True, help="Never mark the cookie Secure."
    ),
    workspace: Path = WorkspaceOption,
) -> None:
    """Serve the review queue and dashboards in the browser (sign-in required)."""
    cookie_flag = _cookie_flag(secure_cookies, no_secure_cookies)
    _check_port(host, port)
    import uvicorn

    from assay.web.app import create_app, secure_cookies_from_env

    trusted = _trusted_proxies(forwarded_allow_ips)
    tls = certfile is not None and keyfile is not None
    if cookie_flag is None:
        from_env = secure_cookies_from_env()
        cookie_flag = tls if from_env is None else from_env
    secure_cookies = cookie_flag
    ws = open_workspace(workspace_arg or workspace)
    _warn_before_serving(ws, host, tls)
    scheme = "https" if tls else "http"
    err_console().print(f"assay ui: {scheme}://{host}:{port}/  (workspace {ws.location})")
    options = uvicorn_options(
        host,
        port,
        certfile=certfile if tls else None,
        keyfile=keyfile if tls else None,
        forwarded_allow_ips=trusted,
    )
    if workers == 1:
        uvicorn.run(create_app(ws, secure_cookies=secure_cookies), **options)
        return
    if ws.root is None:
        raise InputError("--workers needs a workspace folder (its key file signs sessions).")
    create_app(ws)  # creates the shared session key before the workers start
    os.environ["ASSAY_WORKSPACE"] = str(ws.root)
    os.environ["ASSAY_SECURE_COOKIES"] = "1" if secure_cookies else "0"
    uvicorn.run("assay.web.app:app_from_env", factory=True, workers=workers, **options)


def uvicorn_options(
    host: str,
    port: int,
    *,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    forwarded_allow_ips: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` for ``assay ui``.

    Proxy headers are believed only from ``forwarded_allow_ips``; without it they are
    off, overriding uvicorn's default of trusting loopback (and ``$FORWARDED_ALLOW_IPS``),
    so a client cannot pick its address for the sign-in back-off.
    """
    from assay.web.serve import HTTP_PROTOCOL

    return {
        "host": host,
        "port": port,
        "log_level": "warning",
        "http": HTTP_PROTOCOL,
        "ssl_certfile": str(certfile) if certfile is not None else None,
        "ssl_keyfile": str(keyfile) if keyfile is not None else None,
        "proxy_headers": bool(forwarded_allow_ips),
        "forwarded_allow_ips": forwarded_allow_ips or "",
    }


def _trusted_proxies(value: str | None) -> str | None:
    """``--forwarded-allow-ips`` checked and normalised (None: trust no proxy)."""
    if value is None or not value.strip():
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    for part in parts:
        if part == "*":
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError as exc:
            raise InputError(
                f"--forwarded-allow-ips: {part!r} is not an IP address or network; give the "
                "proxy's addresses, e.g. 127.0.0.1 or 10.0.0.0/8, comma-separated (or '*')."
            ) from exc
    return ",".join(parts)


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
    role: str = typer.Option(
        ..., "--role", help="admin, reviewer, viewer or labeler (labels its own queue only)."
    ),
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
    say(f"Added {info.name} ({info.role}). Sign in at `assay ui`.")


@user_app.command("list")
def user_list(
    wide: bool = WideOption, workspace: Path = WorkspaceOption, as_json: bool = JsonOption
) -> None:
    """List users and their roles."""
    users = list_users(open_workspace(workspace))
    if as_json:
        emit_json(users)
        return
    rows = [[u["name"], u["role"], f"{u['created_at']:%Y-%m-%d %H:%M}", u["tokens"]] for u in users]
    header = ["name", "role", "created", "API tokens"]
    out_console().print(table("users", header, rows, wide=wide))


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


@user_app.command("passwd")
def user_passwd(
    name: str = typer.Argument(..., help="The user whose password to change."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from standard input."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Change a user's password; their signed-in sessions end."""
    ws = open_workspace(workspace)
    ended = set_password(ws, name, _read_password(password_stdin), actor=current_user())
    if as_json:
        emit_json({"name": name, "sessions_ended": ended})
        return
    out_console().print(f"Changed the password of {name}; ended {_sessions_text(ended)}.")


@user_app.command("rm")
def user_rm(
    name: str = typer.Argument(..., help="The user to delete."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete a user with their API tokens and sessions (their decisions keep the name)."""
    counts = remove_user(open_workspace(workspace), name, actor=current_user())
    if as_json:
        emit_json({"name": name, **counts})
        return
    out_console().print(
        f"Deleted {name}, {counts['tokens']} API token(s) and {_sessions_text(counts['sessions'])}."
    )


def _sessions_text(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'}"


@token_app.command("list")
def token_list(
    user: str = typer.Option(None, "--user", help="Only this user's tokens."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """List API tokens: id, name, user, creation time (never the token)."""
    tokens = list_tokens(open_workspace(workspace), user)
    if as_json:
        emit_json(tokens)
        return
    rows = [[t["id"], t["name"], t["user"], f"{t['created_at']:%Y-%m-%d %H:%M}"] for t in tokens]
    header = ["id", "name", "user", "created"]
    out_console().print(table("API tokens", header, rows, wide=wide))


@token_app.command("rm")
def token_rm(
    token: str = typer.Argument(..., metavar="NAME|ID", help="The token's name or id."),
    user: str = typer.Option(None, "--user", help="The token's user (when names repeat)."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Revoke an API token at once (see the ids with `assay token list`)."""
    info = remove_token(open_workspace(workspace), token, user=user, actor=current_user())
    if as_json:
        emit_json(info)
        return
    out_console().print(f"Revoked API token {info['name']!r} (id {info['id']}) of {info['user']}.")


@session_app.command("list")
def session_list(
    user: str = typer.Option(None, "--user", help="Only this user's sessions."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """List signed-in browser sessions: user, address, since, until."""
    sessions = list_sessions(open_workspace(workspace), user)
    if as_json:
        emit_json(sessions)
        return
    rows = [
        [x["user"], x["address"], f"{x['created_at']:%Y-%m-%d %H:%M}",
         f"{x['expires_at']:%Y-%m-%d %H:%M}"]
        for x in sessions
    ]
    header = ["user", "address", "since", "until"]
    out_console().print(table("sessions", header, rows, wide=wide))


@session_app.command("rm")
def session_rm(
    user: str = typer.Argument(..., help="The user whose sessions to end."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Sign a user out everywhere: all their browser sessions end (API tokens stay)."""
    ended = end_sessions(open_workspace(workspace), user, actor=current_user())
    if as_json:
        emit_json({"user": user, "sessions_ended": ended})
        return
    out_console().print(f"Ended {_sessions_text(ended)} of {user}.")


def _check_port(host: str, port: int) -> None:
    """Refuse a port out of range or already taken, before uvicorn starts."""
    import socket

    if not 1 <= port <= 65535:
        raise InputError(f"--port {port} is not a TCP port; give a number from 1 to 65535.")
    if not host or any(not c.isprintable() or c.isspace() for c in host):
        raise InputError(
            f"--host {host!r} is not a host name or address; give e.g. 127.0.0.1 or 0.0.0.0."
        )
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


def report(
    out: Path = typer.Option(Path("report.html"), "--out", help="Where to write the report."),
    workspace: Path = WorkspaceOption,
) -> None:
    """Write the workspace report: one HTML page (offline) with a section per phase."""
    from assay.report.build import write_report

    check_output_file(out, "--out")
    path = write_report(open_workspace(workspace), out)
    out_console().print(f"Report: {path}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(ui)
    app.command()(report)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(session_app, name="session")
