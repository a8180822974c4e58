"""Sign-in and sign-out.

The sign-in form is itself CSRF-protected: a visitor first gets an anonymous session
(a nonce, no user) whose CSRF token the form carries. Signing in starts a new session
with a new nonce, so a session id planted before sign-in is worthless after it.
Failed sign-ins are throttled per account and per client address
(:mod:`assay.web.ratelimit`): too many get 429 with ``Retry-After``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from assay.store.users import authenticate
from assay.web.deps import Forbidden, client_address, payload
from assay.web.ratelimit import TooManyAttempts, account_key, address_key
from assay.web.render import render
from assay.web.security import COOKIE, SESSION_SECONDS, Session

router = APIRouter()


def set_session(request: Request, response: Response, session: Session) -> None:
    """Put ``session`` in the HttpOnly, SameSite=Lax cookie."""
    web = request.app.state.web
    response.set_cookie(
        COOKIE,
        web.signer.dumps(session),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=web.secure_cookies,
        path="/",
    )


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect off-site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    web = request.app.state.web
    session = web.signer.loads(request.cookies.get(COOKIE)) or web.signer.new()
    request.state.csrf = web.signer.csrf_token(session)
    response = render(request, "login.html", {"next": _safe_next(next), "error": None})
    set_session(request, response, session)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the name and password; start a session (429 after too many failures)."""
    web = request.app.state.web
    form = await request.form()
    session = web.signer.loads(request.cookies.get(COOKIE))
    token = form.get("csrf_token")
    if not web.signer.check_csrf(session, token if isinstance(token, str) else None):
        raise Forbidden("missing or wrong CSRF token on the sign-in form; reload it.")
    assert session is not None
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))
    account, address = account_key(name), address_key(client_address(request))
    try:
        stamp = web.limiter.attempt(account, address, what="sign-ins")
    except TooManyAttempts as exc:
        response = _form_again(request, session, target, str(exc), 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    from starlette.concurrency import run_in_threadpool

    user = await run_in_threadpool(authenticate, web.ws, name, password)
    if user is None:  # the failure stays counted
        return _form_again(request, session, target, "wrong user name or password.", 401)
    web.limiter.succeeded(stamp, clear=(account,), refund=(address,))
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, web.signer.new(user.id, user.fingerprint))
    return response


def _form_again(
    request: Request, session: Session, target: str, error: str, status: int
) -> Response:
    """The sign-in form again, with ``error``."""
    request.state.csrf = request.app.state.web.signer.csrf_token(session)
    return render(request, "login.html", {"next": target, "error": error}, status=status)


@router.post("/logout")
def logout(request: Request, fields: dict = Depends(payload("viewer"))) -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
