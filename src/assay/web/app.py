"""The web app: ``create_app(workspace)`` builds a FastAPI app over one workspace.

Pages are server-rendered (Jinja2, autoescaped) and every page also answers as JSON
(``?format=json`` or ``Accept: application/json``). Sign-in uses argon2 password
hashes and signed HttpOnly, SameSite=Lax session cookies whose secret names a row of
``web_sessions`` (signing out deletes it); every state-changing request needs a CSRF
token (or an API token); bodies over :data:`MAX_BODY_BYTES` get 413. Failed sign-ins
back off exponentially per account and client address, unknown API tokens per address
(:mod:`assay.web.ratelimit`, in-process counters).
"""

from __future__ import annotations

import importlib
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
from assay.web.params import describe_validation
from assay.web.ratelimit import BackoffLimiter, TooManyAttempts
from assay.web.render import make_env, render, wants_json
from assay.web.security import MAX_BODY_BYTES, BodyLimitMiddleware, SessionSigner

__all__ = [
    "MAX_BODY_BYTES",
    "ROUTE_MODULES",
    "SESSION_CACHE_SECONDS",
    "WebState",
    "app_from_env",
    "create_app",
    "secure_cookies_from_env",
]

STATIC = Path(__file__).with_name("static")
#: The modules of :mod:`assay.web.routes` whose ``router`` the app includes, in the order
#: requests are matched against them: a new route module is listed here, once
#: (tests/test_registries.py checks that every module with a router is).
ROUTE_MODULES = ("auth", "overview", "datasets", "review", "labelbook", "analyses", "api", "ingest",
                 "labeling", "labeling_review")
#: How long a process trusts a session it looked up: sign-out in the same process
#: takes effect at once, an ended session elsewhere (another worker, the CLI) within this.
SESSION_CACHE_SECONDS = 2.0
_CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


@dataclass
class WebState:
    """What every request needs: the workspace, the signer, templates, a table cache,
    the failure counters of sign-ins and API tokens, the sessions looked up lately."""

    ws: Workspace
    signer: SessionSigner
    env: Environment
    secure_cookies: bool = False
    limiter: BackoffLimiter = field(default_factory=BackoffLimiter)
    cache: TableCache = field(default_factory=TableCache)
    sessions: TtlCache = field(default_factory=lambda: TtlCache(SESSION_CACHE_SECONDS))
    address_free_failures: int = 10


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
    login_backoff_cap: float = 900.0,
    address_free_failures: int = 10,
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
    login_backoff_cap : float, default 900
        After each failed sign-in for an account from an address, that pair waits
        1, 2, 4, ... seconds (at most this) before the next attempt; earlier ones get
        429 with ``Retry-After``. Other addresses are not affected. The counters are
        kept in this process (see :mod:`assay.web.ratelimit`).
    address_free_failures : int, default 10
        Failures from one address over all accounts and unknown API tokens before
        that address backs off too. A valid API token is never refused.
    clock : callable, default time.monotonic
        The time in seconds for the failure counters and the session cache (tests
        pass a fake clock).
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    app = FastAPI(title="assay", docs_url=None, redoc_url=None, openapi_url=None)
    try:
        limiter = BackoffLimiter(login_backoff_cap, clock=clock)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    if address_free_failures < 0:
        raise InputError(f"address_free_failures must be 0 or more; got {address_free_failures}.")
    app.state.web = WebState(
        ws,
        SessionSigner(_secret_key(ws, secret_key)),
        make_env(),
        secure_cookies,
        limiter=limiter,
        sessions=TtlCache(SESSION_CACHE_SECONDS, clock=clock),
        address_free_failures=address_free_failures,
    )
    for name in ROUTE_MODULES:
        app.include_router(importlib.import_module(f"assay.web.routes.{name}").router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(_SecurityHeaders)
    return app


def _error(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"error": message, "status": status}, status=status)


#: The status each error a user can cause answers with.
_STATUSES: dict[type[Exception], int] = {
    Forbidden: 403,
    NotFoundError: 404,
    InputError: 400,
    ConflictError: 409,
    StoreError: 503,
}


async def _auth_required(request: Request, exc: Exception) -> Response:
    """HTML pages go to the sign-in page; JSON and form posts get 401."""
    if wants_json(request) or request.method != "GET":
        return _error(request, 401, "sign in first (session cookie or Bearer API token).")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)


def _answer_with(status: int) -> Any:
    async def handle(request: Request, exc: Exception) -> Response:
        return _error(request, status, str(exc))

    return handle


async def _too_many(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyAttempts)
    response = _error(request, 429, str(exc))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, str(exc.detail))


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _error(request, 400, f"bad request: {describe_validation(list(exc.errors()))}")


def _add_handlers(app: FastAPI) -> None:
    """Every error a user can cause answers as a page or JSON with its status."""
    app.add_exception_handler(AuthRequired, _auth_required)
    app.add_exception_handler(TooManyAttempts, _too_many)
    for kind, status in _STATUSES.items():
        app.add_exception_handler(kind, _answer_with(status))
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def app_from_env() -> FastAPI:
    """The app for ``$ASSAY_WORKSPACE`` (a factory for uvicorn's worker processes).

    Each worker keeps its own sign-in failure counters (see :mod:`assay.web.ratelimit`).
    """
    return create_app(
        os.environ.get("ASSAY_WORKSPACE", "."), secure_cookies=bool(secure_cookies_from_env())
    )


def secure_cookies_from_env() -> bool | None:
    """``$ASSAY_SECURE_COOKIES`` as a bool (1/true/yes or 0/false/no), None when unset.

    Raises
    ------
    InputError
        For any other value.
    """
    value = os.environ.get("ASSAY_SECURE_COOKIES", "").strip().lower()
    if not value:
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InputError(
        f"ASSAY_SECURE_COOKIES={value!r} is not a yes/no value; set it to 1 or 0 (or unset it)."
    )
