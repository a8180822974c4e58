"""Sessions, CSRF tokens, request-size limits and the signed-in user.

A session is a cookie ``assay_session`` holding ``base64(json).hmac``: the user id, a
random 256-bit nonce (the session's secret) and an expiry, signed with HMAC-SHA256
under the app's secret key. A signed-in session is also a row of ``web_sessions``
keyed by the SHA-256 of the nonce (:func:`assay.store.users.start_session`): only a
cookie whose row exists and has not expired signs anyone in, so signing out, a
changed password, a deleted user or ``assay session rm`` end it, copies included.
The cookie is HttpOnly and SameSite=Lax (Secure when the app is served over TLS or
``assay ui --secure-cookies``). The CSRF token
of a session is ``HMAC(secret, "csrf:" + nonce)``; every state-changing request made
with a session cookie must carry it in the form field ``csrf_token`` or the header
``X-CSRF-Token``, else it gets 403. Requests authenticated by an API token
(``Authorization: Bearer ...``) carry no ambient cookie and need no CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "COOKIE",
    "MAX_BODY_BYTES",
    "BodyLimitMiddleware",
    "Session",
    "SessionSigner",
]

COOKIE = "assay_session"
#: The largest request body accepted (1 MiB); larger requests get 413.
MAX_BODY_BYTES = 1 << 20
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    """The decoded content of a session cookie."""

    nonce: str
    user_id: int | None = None
    fingerprint: str | None = None
    expires: float = 0.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and checks session cookies and derives CSRF tokens.

    Parameters
    ----------
    secret_key : bytes
        At least 32 random bytes, kept secret.
    """

    def __init__(self, secret_key: bytes) -> None:
        self.secret_key = secret_key

    def _mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self.secret_key, f"{purpose}:{payload}".encode(), hashlib.sha256)
        return _b64(digest.digest())

    def new(self, user_id: int | None = None, fingerprint: str | None = None) -> Session:
        """A fresh session (a new nonce, so a new CSRF token) valid for 12 hours."""
        return Session(
            secrets.token_urlsafe(32), user_id, fingerprint, time.time() + SESSION_SECONDS
        )

    def dumps(self, session: Session) -> str:
        """The cookie value of ``session``."""
        body = _b64(
            json.dumps(
                {
                    "n": session.nonce,
                    "u": session.user_id,
                    "f": session.fingerprint,
                    "e": session.expires,
                },
                separators=(",", ":"),
            ).encode()
        )
        return f"{body}.{self._mac('session', body)}"

    def loads(self, value: str | None) -> Session | None:
        """The session in a cookie value, or None if it is forged, broken or expired."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            data: dict[str, Any] = json.loads(_unb64(body))
            session = Session(str(data["n"]), data.get("u"), data.get("f"), float(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None

    def csrf_token(self, session: Session) -> str:
        """The CSRF token that goes with ``session``."""
        return self._mac("csrf", session.nonce)

    def check_csrf(self, session: Session | None, token: str | None) -> bool:
        """Whether ``token`` is the CSRF token of ``session``."""
        if session is None or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(session))


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413 (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await _too_large(send, self.max_bytes)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": f"request body larger than {limit} bytes; send less data per request."}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
