"""Request dependencies: who is asking (session or API token), roles, CSRF checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from assay.store.users import UserInfo, get_user, has_role, user_for_token
from assay.web.ratelimit import address_key
from assay.web.security import COOKIE, Session

__all__ = ["Auth", "AuthRequired", "Forbidden", "client_address", "payload", "require"]

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class AuthRequired(Exception):
    """No valid session or token: HTML goes to the sign-in page, JSON gets 401."""


class Forbidden(Exception):
    """Signed in, but not allowed (role too low, or a missing/wrong CSRF token)."""


@dataclass(frozen=True)
class Auth:
    """The signed-in user of a request and how they proved it."""

    user: UserInfo
    via: str  # "session" or "token"
    session: Session | None = None
    csrf: str = ""


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: the proxy's, unless
    uvicorn is told to trust its ``X-Forwarded-For`` with ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


def _from_token(request: Request) -> Auth | None:
    """The token's user; unknown tokens count as failures of the client's address."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    web = request.app.state.web
    address = address_key(client_address(request))
    web.limiter.check(address, what="API-token or sign-in attempts")
    user = user_for_token(web.ws, header[7:].strip())
    if user is None:
        web.limiter.fail(address)
        raise AuthRequired("unknown API token")
    return Auth(user, "token")


def _from_cookie(request: Request) -> Auth | None:
    web = request.app.state.web
    session = web.signer.loads(request.cookies.get(COOKIE))
    if session is None or session.user_id is None:
        return None
    user = web.users.get(session.user_id, lambda: get_user(web.ws, session.user_id))
    if user is None or user.fingerprint != session.fingerprint:
        return None  # deleted user or changed password: the session is over
    return Auth(user, "session", session, web.signer.csrf_token(session))


def authenticate(request: Request) -> Auth:
    """The request's user, from a Bearer token or the session cookie."""
    auth = _from_token(request) or _from_cookie(request)
    if auth is None:
        raise AuthRequired("sign in first")
    request.state.auth = auth
    return auth


def require(role: str) -> Callable[[Request], Auth]:
    """A dependency: the signed-in user, who must have at least ``role``."""

    def dependency(request: Request) -> Auth:
        auth = authenticate(request)
        if not has_role(auth.user.role, role):
            raise Forbidden(
                f"{auth.user.name} is a {auth.user.role}; this needs the {role} role "
                "(an admin can change it)."
            )
        return auth

    return dependency


def payload(role: str) -> Callable[..., Awaitable[dict[str, Any]]]:
    """A dependency for state-changing requests: role check, CSRF check, the fields.

    The fields come from a form or a JSON body. With a session cookie, the CSRF token
    must be in the ``csrf_token`` field or the ``X-CSRF-Token`` header, else 403.
    """

    async def dependency(request: Request, auth: Auth = Depends(require(role))) -> dict[str, Any]:
        fields = await _read_fields(request)
        if auth.via == "session":
            web = request.app.state.web
            token = request.headers.get("x-csrf-token") or fields.get("csrf_token")
            if not web.signer.check_csrf(auth.session, token if isinstance(token, str) else None):
                raise Forbidden("missing or wrong CSRF token; reload the page and try again.")
        fields.pop("csrf_token", None)
        return fields

    return dependency


async def _read_fields(request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            data = await request.json()
        except ValueError as exc:
            from assay.exceptions import InputError

            raise InputError(f"the request body is not valid JSON: {exc}.") from exc
        return dict(data) if isinstance(data, dict) else {"items": data}
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        out[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
    return out
