"""Users of the web app: roles, argon2 password hashes, API tokens and sessions.

Roles are ordered: a ``labeler`` labels its own queue and reads the label book and
nothing else (every page a viewer may see refuses it), a ``viewer`` reads, a
``reviewer`` also decides review entries, adjudicates labels and applies them, an
``admin`` also manages users. Passwords are hashed with argon2id
(argon2-cffi); API tokens are random 32-byte strings of which only the SHA-256 is
stored, so a leaked database does not leak usable tokens. Browser sessions are rows
of ``web_sessions`` keyed by the SHA-256 of the random secret in the session cookie:
signing out deletes the row, and so do a changed password, a deleted user and
``assay session rm``. Every change is written to the audit log with who did it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Delete, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = [
    "ROLES",
    "UserInfo",
    "add_user",
    "add_token",
    "authenticate",
    "end_session",
    "end_sessions",
    "get_user",
    "has_role",
    "list_sessions",
    "list_tokens",
    "list_users",
    "remove_token",
    "remove_user",
    "session_user",
    "set_password",
    "start_session",
    "user_for_token",
]

ROLES = ("labeler", "viewer", "reviewer", "admin")
TOKEN_PREFIX = "assay_"
MIN_PASSWORD = 8
_HASHER = PasswordHasher()
# A real argon2 hash to verify against when the user does not exist, so that a
# failed sign-in takes the same time whether or not the name is known.
# Computed on first use: hashing costs ~0.2 s, which every CLI start would pay.


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class UserInfo:
    """A signed-in user: name, role and a fingerprint of the password hash."""

    id: int
    name: str
    role: str
    fingerprint: str

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (no secrets)."""
        return {"id": self.id, "name": self.name, "role": self.role}


def has_role(role: str, needed: str) -> bool:
    """Whether ``role`` is at least ``needed`` (labeler < viewer < reviewer < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _info(row: m.User) -> UserInfo:
    return UserInfo(row.id, row.name, row.role, _fingerprint(row.password_hash))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}; got {role!r}.")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(
            f"the password is too short ({len(password)} characters); use at least {MIN_PASSWORD}."
        )


def _check_name(name: str) -> None:
    if not name or len(name) > 200 or not name.isprintable() or name != name.strip():
        raise InputError(
            f"user name {name!r} is not valid; use 1 to 200 printable characters without "
            "leading or trailing spaces."
        )


def add_user(ws: Workspace, name: str, *, role: str, password: str, actor: str = "cli") -> UserInfo:
    """Create a user with an argon2 hash of ``password``.

    Raises
    ------
    InputError
        For a bad name, role or a password shorter than 8 characters.
    ConflictError
        When a user of that name exists.
    """
    _check_name(name)
    _check_role(role)
    _check_password(password)
    row = m.User(name=name, role=role, password_hash=_HASHER.hash(password))
    try:
        with ws.session() as s:
            s.add(row)
            s.flush()
            s.add(
                m.AuditLog(
                    actor=actor, action="user.add", target=f"user:{name}", detail={"role": role}
                )
            )
            info = _info(row)
    except IntegrityError as exc:
        raise ConflictError(f"a user named {name!r} exists already; choose another name.") from exc
    return info


def set_password(ws: Workspace, name: str, password: str, *, actor: str = "cli") -> int:
    """Replace a user's password and end their sessions; return how many ended."""
    _check_password(password)
    with ws.session() as s:
        row = _row(s, name)
        row.password_hash = _HASHER.hash(password)
        ended = _end_sessions(s, row.id)
        s.add(
            m.AuditLog(
                actor=actor,
                action="user.password",
                target=f"user:{name}",
                detail={"sessions_ended": ended},
            )
        )
    return ended


def remove_user(ws: Workspace, name: str, *, actor: str = "cli") -> dict[str, int]:
    """Delete a user with their API tokens and sessions; return how many of each.

    Their decisions and audit records keep their name.
    """
    with ws.session() as s:
        row = _row(s, name)
        tokens = _deleted(s, delete(m.ApiToken).where(m.ApiToken.user_id == row.id))
        counts = {"tokens": tokens, "sessions": _end_sessions(s, row.id)}
        s.delete(row)
        s.add(m.AuditLog(actor=actor, action="user.rm", target=f"user:{name}", detail=counts))
    return counts


def _row(s: Session, name: str) -> m.User:
    row = s.scalar(select(m.User).where(m.User.name == name))
    if row is None:
        raise NotFoundError(f"no user named {name!r}; add one with `assay user add {name}`.")
    return row


def list_users(ws: Workspace) -> list[dict[str, object]]:
    """Every user: name, role, creation time and how many API tokens."""
    with ws.session(readonly=True) as s:
        users = s.scalars(select(m.User).order_by(m.User.name)).all()
        tokens = s.scalars(select(m.ApiToken.user_id)).all()
    return [
        {
            "name": u.name,
            "role": u.role,
            "created_at": u.created_at,
            "tokens": sum(1 for t in tokens if t == u.id),
        }
        for u in users
    ]


def get_user(ws: Workspace, user_id: int) -> UserInfo | None:
    """The user with this id, or None."""
    with ws.session(readonly=True) as s:
        row = s.get(m.User, user_id)
        return _info(row) if row is not None else None


def authenticate(ws: Workspace, name: str, password: str) -> UserInfo | None:
    """The user when ``password`` is right, else None (in constant-ish time).

    The hash is checked outside any transaction (argon2 takes ~0.2 s: holding SQLite's
    write lock that long would queue every other writer behind each sign-in).
    """
    with ws.session(readonly=True) as s:
        row = s.scalar(select(m.User).where(m.User.name == name))
        info = _info(row) if row is not None else None
        stored = row.password_hash if row is not None else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if info is not None and _HASHER.check_needs_rehash(stored):
        with ws.session() as s:
            s.execute(
                update(m.User)
                .where(m.User.id == info.id, m.User.password_hash == stored)
                .values(password_hash=_HASHER.hash(password))
            )
    return info


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(ws: Workspace, name: str, *, user: str, actor: str = "cli") -> str:
    """Create an API token for ``user``; return it (it is shown once, stored hashed)."""
    if not name or len(name) > 200:
        raise InputError("a token needs a name of 1 to 200 characters (what it is for).")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ws.session() as s:
        row = _row(s, user)
        s.add(m.ApiToken(user_id=row.id, name=name, token_hash=_token_hash(token)))
        s.add(
            m.AuditLog(
                actor=actor, action="token.add", target=f"user:{user}", detail={"token": name}
            )
        )
    return token


def user_for_token(ws: Workspace, token: str) -> UserInfo | None:
    """The user owning an API token, or None when the token is unknown."""
    digest = _token_hash(token)
    with ws.session(readonly=True) as s:
        row = s.execute(
            select(m.User, m.ApiToken.token_hash)
            .join(m.ApiToken, m.ApiToken.user_id == m.User.id)
            .where(m.ApiToken.token_hash == digest)
        ).first()
        if row is None or not hmac.compare_digest(row[1], digest):
            return None
        return _info(row[0])


def list_tokens(ws: Workspace, user: str | None = None) -> list[dict[str, object]]:
    """Every API token (of ``user``): id, name, user and creation time, never the hash."""
    query = (
        select(m.ApiToken.id, m.ApiToken.name, m.User.name, m.ApiToken.created_at)
        .join(m.User, m.User.id == m.ApiToken.user_id)
        .order_by(m.ApiToken.id)
    )
    with ws.session(readonly=True) as s:
        if user is not None:
            query = query.where(m.ApiToken.user_id == _row(s, user).id)
        rows = s.execute(query).all()
    return [{"id": i, "name": n, "user": u, "created_at": c} for i, n, u, c in rows]


def _token_row(s: Session, ref: str, user: str | None) -> m.ApiToken:
    """The one token named ``ref`` (of ``user``), or with id ``ref``."""
    query = select(m.ApiToken).order_by(m.ApiToken.id)
    if user is not None:
        query = query.where(m.ApiToken.user_id == _row(s, user).id)
    rows = list(s.scalars(query.where(m.ApiToken.name == ref)).all())
    if not rows and ref.isdigit() and int(ref) < 2**31:
        rows = list(s.scalars(query.where(m.ApiToken.id == int(ref))).all())
    if not rows:
        owner = f" of {user!r}" if user is not None else ""
        raise NotFoundError(
            f"no API token{owner} named or numbered {ref!r}; see `assay token list`."
        )
    if len(rows) > 1:
        ids = ", ".join(str(r.id) for r in rows)
        raise InputError(
            f"{len(rows)} API tokens are named {ref!r} (ids {ids}); give the id, or the user "
            "with --user, to say which."
        )
    return rows[0]


def remove_token(
    ws: Workspace, ref: str, *, user: str | None = None, actor: str = "cli"
) -> dict[str, object]:
    """Delete an API token named ``ref`` (of ``user``) or with id ``ref``; it stops at once.

    Raises
    ------
    NotFoundError
        When no token matches.
    InputError
        When several tokens have that name (the message lists their ids).
    """
    with ws.session() as s:
        row = _token_row(s, ref, user)
        owner = s.get(m.User, row.user_id)
        info: dict[str, object] = {
            "id": row.id,
            "name": row.name,
            "user": owner.name if owner else None,
        }
        s.delete(row)
        s.add(
            m.AuditLog(
                actor=actor,
                action="token.rm",
                target=f"user:{info['user']}",
                detail={"token": row.name, "id": row.id},
            )
        )
    return info


def session_id(secret: str) -> str:
    """The row id of a session: the SHA-256 (hex) of its cookie's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(
    ws: Workspace, user_id: int, secret: str, *, address: str, seconds: float
) -> None:
    """Record a signed-in session for ``seconds``; purge expired ones."""
    now = m.utcnow()
    with ws.session() as s:
        s.execute(delete(m.WebSession).where(m.WebSession.expires_at <= now))
        s.add(
            m.WebSession(
                id=session_id(secret),
                user_id=user_id,
                address=address[:100],
                created_at=now,
                expires_at=now + timedelta(seconds=seconds),
            )
        )


def session_user(ws: Workspace, secret: str) -> UserInfo | None:
    """The user of a live session, or None (signed out, ended, expired, user gone)."""
    with ws.session(readonly=True) as s:
        row = s.scalar(
            select(m.User)
            .join(m.WebSession, m.WebSession.user_id == m.User.id)
            .where(m.WebSession.id == session_id(secret), m.WebSession.expires_at > m.utcnow())
        )
        return _info(row) if row is not None else None


def end_session(ws: Workspace, secret: str) -> None:
    """End one session (signing out)."""
    with ws.session() as s:
        s.execute(delete(m.WebSession).where(m.WebSession.id == session_id(secret)))


def _deleted(s: Session, statement: Delete) -> int:
    """Run a DELETE; return how many rows it deleted."""
    result = s.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def _end_sessions(s: Session, user_id: int) -> int:
    return _deleted(s, delete(m.WebSession).where(m.WebSession.user_id == user_id))


def end_sessions(ws: Workspace, name: str, *, actor: str = "cli") -> int:
    """End every session of user ``name``; return how many were live or expired."""
    with ws.session() as s:
        row = _row(s, name)
        ended = _end_sessions(s, row.id)
        s.add(
            m.AuditLog(
                actor=actor, action="session.end", target=f"user:{name}", detail={"sessions": ended}
            )
        )
    return ended


def list_sessions(ws: Workspace, user: str | None = None) -> list[dict[str, object]]:
    """Live sessions (of ``user``): user, address, start and expiry; never the id."""
    query = (
        select(m.User.name, m.WebSession.address, m.WebSession.created_at, m.WebSession.expires_at)
        .join(m.User, m.User.id == m.WebSession.user_id)
        .where(m.WebSession.expires_at > m.utcnow())
        .order_by(m.User.name, m.WebSession.created_at)
    )
    with ws.session(readonly=True) as s:
        if user is not None:
            query = query.where(m.WebSession.user_id == _row(s, user).id)
        rows = s.execute(query).all()
    return [{"user": u, "address": a, "created_at": c, "expires_at": e} for u, a, c, e in rows]
