"""The web app: ``create_app(workspace)`` builds a FastAPI app over one workspace.

Pages are server-rendered (Jinja2, autoescaped) and every page also answers as JSON
(``?format=json`` or ``Accept: application/json``). Sign-in uses argon2 password
hashes and signed HttpOnly, SameSite=Lax session cookies; every state-changing request
needs a CSRF token (or an API token); bodies over :data:`MAX_BODY_BYTES` get 413.
Failed sign-ins and unknown API tokens are throttled per account and per client
address (:mod:`assay.web.ratelimit`, in-process counters: one server process).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.exceptions import ConflictError, InputError, NotFoundError, StoreError
from assay.store.workspace import Workspace
from assay.web.cache import TableCache, TtlCache
from assay.web.deps import AuthRequired, Forbidden
from assay.web.ratelimit import FailureLimiter, TooManyAttempts
from assay.web.render import make_env, render, wants_json
from assay.web.security import MAX_BODY_BYTES, BodyLimitMiddleware, SessionSigner

__all__ = ["MAX_BODY_BYTES", "WebState", "app_from_env", "create_app"]

STATIC = Path(__file__).with_name("static")
_CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


@dataclass
class WebState:
    """What every request needs: the workspace, the signer, templates, a table cache,
    the failure counters of sign-ins and API tokens."""

    ws: Workspace
    signer: SessionSigner
    env: Environment
    secure_cookies: bool = False
    limiter: FailureLimiter = field(default_factory=FailureLimiter)
    cache: TableCache = field(default_factory=TableCache)
    users: TtlCache = field(default_factory=TtlCache)


def _secret_key(ws: Workspace, secret_key: str | bytes | None) -> bytes:
    """The given key, ``$ASSAY_SECRET_KEY``, or a key kept in the workspace folder."""
    if secret_key is None:
        secret_key = os.environ.get("ASSAY_SECRET_KEY")
    if secret_key is not None:
        return secret_key.encode() if isinstance(secret_key, str) else secret_key
    if ws.root is None:  # a workspace opened by URL: sessions last as long as the process
        return secrets.token_bytes(32)
    path = ws.root / ".assay" / "web-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class _SecurityHeaders:
    """Add CSP, nosniff, frame and referrer headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", _CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


def create_app(
    workspace: Workspace | str | os.PathLike[str],
    *,
    secret_key: str | bytes | None = None,
    secure_cookies: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    login_max_failures: int = 5,
    login_window_seconds: float = 900.0,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """Build the web app over ``workspace``.

    Parameters
    ----------
    workspace : Workspace or path
        The workspace to serve.
    secret_key : str or bytes, optional
        Signs session cookies. Default: ``$ASSAY_SECRET_KEY``, else a random key kept
        in ``.assay/web-secret`` (mode 600) so sessions survive a restart.
    secure_cookies : bool, default False
        Mark the session cookie ``Secure`` (set it when serving over TLS).
    max_body_bytes : int, default 1 MiB
        Larger request bodies get 413.
    login_max_failures : int, default 5
        Failed sign-ins (or unknown API tokens) allowed per account and per client
        address within ``login_window_seconds``; further attempts get 429 with
        ``Retry-After`` until the oldest failure leaves the window. The counters are
        kept in this process (``assay ui`` runs one; see :mod:`assay.web.ratelimit`).
    login_window_seconds : float, default 900
        The window of ``login_max_failures`` (15 minutes).
    clock : callable, default time.monotonic
        The time in seconds for the failure counters (tests pass a fake clock).
    """
    from assay.web.routes import (
        analyses,
        api,
        auth,
        datasets,
        ingest,
        labelbook,
        overview,
        review,
    )

    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    app = FastAPI(title="assay", docs_url=None, redoc_url=None, openapi_url=None)
    try:
        limiter = FailureLimiter(login_max_failures, login_window_seconds, clock=clock)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    app.state.web = WebState(
        ws, SessionSigner(_secret_key(ws, secret_key)), make_env(), secure_cookies, limiter=limiter
    )
    for module in (auth, overview, datasets, review, labelbook, analyses, api, ingest):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(_SecurityHeaders)
    return app


def _error(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"error": message, "status": status}, status=status)


def _add_handlers(app: FastAPI) -> None:
    async def auth_required(request: Request, exc: Exception) -> Response:
        if wants_json(request) or request.method != "GET":
            return _error(request, 401, "sign in first (session cookie or Bearer API token).")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)

    statuses: dict[type[Exception], int] = {
        Forbidden: 403,
        NotFoundError: 404,
        InputError: 400,
        ConflictError: 409,
        StoreError: 503,
    }

    def handler(status: int) -> Any:
        async def handle(request: Request, exc: Exception) -> Response:
            return _error(request, status, str(exc))

        return handle

    async def too_many(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TooManyAttempts)
        response = _error(request, 429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    app.add_exception_handler(AuthRequired, auth_required)
    app.add_exception_handler(TooManyAttempts, too_many)
    for kind, status in statuses.items():
        app.add_exception_handler(kind, handler(status))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(request, exc.status_code, str(exc.detail))

    async def bad_request(request: Request, exc: Exception) -> Response:
        return _error(request, 400, f"bad request: {exc}")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, bad_request)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def app_from_env() -> FastAPI:
    """The app for ``$ASSAY_WORKSPACE`` (a factory for uvicorn's worker processes).

    Each worker keeps its own sign-in failure counters (see :mod:`assay.web.ratelimit`).
    """
    return create_app(
        os.environ.get("ASSAY_WORKSPACE", "."),
        secure_cookies=os.environ.get("ASSAY_SECURE_COOKIES") == "1",
    )
