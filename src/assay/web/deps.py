"""Request dependencies: who is asking (session or API token), roles, CSRF checks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from assay.store.users import UserInfo, has_role, session_user, user_for_token
from assay.web.ratelimit import Rule, address_key
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
    ``assay ui --forwarded-allow-ips`` names the proxy, whose ``X-Forwarded-For`` is
    then believed; by default no address is trusted, loopback included)."""
    return request.client.host if request.client else "unknown"


def address_rule(request: Request) -> Rule:
    """The back-off rule of the client's address (failures over all accounts/tokens)."""
    web = request.app.state.web
    return Rule(address_key(client_address(request)), web.address_free_failures)


def _from_token(request: Request) -> Auth | None:
    """The token's user. A valid token always passes; unknown ones count as failures
    of the client's address, which backs off after its free failures (429)."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    web = request.app.state.web
    user = user_for_token(web.ws, header[7:].strip())
    if user is not None:
        return Auth(user, "token")
    rule = address_rule(request)
    web.limiter.check(rule, what="API-token or sign-in attempts")
    web.limiter.fail(rule.key)
    raise AuthRequired("unknown API token")


def signed_in_user(request: Request, session: Session | None) -> UserInfo | None:
    """The user of a signed-in ``session`` whose row is live, else None."""
    if session is None or session.user_id is None:
        return None
    web = request.app.state.web
    user = web.sessions.get(session.nonce, lambda: session_user(web.ws, session.nonce))
    if user is None or user.id != session.user_id:
        return None  # signed out, ended, expired, or the user is gone
    return user  # type: ignore[no-any-return]


def _from_cookie(request: Request) -> Auth | None:
    web = request.app.state.web
    session = web.signer.loads(request.cookies.get(COOKIE))
    user = signed_in_user(request, session)
    if user is None or session is None:
        return None
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


def _json_fields(body: bytes) -> dict[str, Any]:
    """The fields of a JSON body; bodies nested too deep are refused before parsing
    (the json module recurses, so they would raise RecursionError: a 500)."""
    from assay.exceptions import InputError
    from assay.store.json_depth import MAX_DEPTH, too_deep_line

    if too_deep_line(body, per_line=False) is not None:
        raise InputError(
            f"the request body nests arrays or objects deeper than {MAX_DEPTH} levels; "
            "send an object of fields."
        )
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InputError(f"the request body is not valid JSON: {exc}.") from exc
    return dict(data) if isinstance(data, dict) else {"items": data}


async def _read_fields(request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        return _json_fields(await request.body())
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        out[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
    return out
