"""Sign-in and sign-out.

The sign-in form is itself CSRF-protected: a visitor first gets an anonymous session
(a nonce, no user) whose CSRF token the form carries. Signing in starts a new session
with a new nonce, so a session id planted before sign-in is worthless after it; the
new session is a row of ``web_sessions`` (the browser's previous one is ended), and
signing out deletes the row, so a copied cookie stops working too. Failed sign-ins
back off exponentially per account and client address, and per address over all
accounts (:mod:`assay.web.ratelimit`): early attempts get 429 with ``Retry-After``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from assay.store.users import authenticate, end_session, start_session
from assay.web.deps import Auth, Forbidden, address_rule, client_address, payload
from assay.web.ratelimit import Rule, TooManyAttempts, pair_key
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
    pair = Rule(pair_key(name, client_address(request)), 0, "for this account from this address")
    address = address_rule(request)
    try:  # the account's attempt counts at once (no parallel guessing); the address
        # counts only failures, so a team signing in at once behind one address is let in
        web.limiter.check(pair, address, what="sign-ins")  # the longest wait is said
        stamp = web.limiter.attempt(pair, what="sign-ins")
    except TooManyAttempts as exc:
        response = _form_again(request, session, target, str(exc), 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    from starlette.concurrency import run_in_threadpool

    user = await run_in_threadpool(authenticate, web.ws, name, password)
    if user is None:  # the account's failure stays counted; the address's is added
        web.limiter.fail(address.key)
        return _form_again(request, session, target, "wrong user name or password.", 401)
    web.limiter.succeeded(stamp, clear=(pair.key,), refund=())
    if user.role == "labeler" and target == "/":  # the overview is not theirs to see
        target = "/label"
    response = RedirectResponse(target, status_code=303)
    new = web.signer.new(user.id)
    await run_in_threadpool(_replace_session, request, session, new)
    set_session(request, response, new)
    return response


def _replace_session(request: Request, old: Session, new: Session) -> None:
    """Record ``new`` as a row; end the browser's signed-in session ``old``, if any."""
    web = request.app.state.web
    if old.user_id is not None:
        end_session(web.ws, old.nonce)
        web.sessions.forget(old.nonce)
    assert new.user_id is not None
    start_session(
        web.ws,
        new.user_id,
        new.nonce,
        address=client_address(request),
        seconds=SESSION_SECONDS,
    )


def _form_again(
    request: Request, session: Session, target: str, error: str, status: int
) -> Response:
    """The sign-in form again, with ``error``."""
    request.state.csrf = request.app.state.web.signer.csrf_token(session)
    return render(request, "login.html", {"next": target, "error": error}, status=status)


@router.post("/logout")
def logout(request: Request, fields: dict = Depends(payload("labeler"))) -> Response:
    """End the session: its row is deleted, so copies of the cookie stop working too."""
    auth: Auth = request.state.auth
    if auth.session is not None:
        web = request.app.state.web
        end_session(web.ws, auth.session.nonce)
        web.sessions.forget(auth.session.nonce)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
