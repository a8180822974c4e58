"""Users of the web app: roles, argon2 password hashes and API tokens.

Roles are ordered: a ``viewer`` reads, a ``reviewer`` also decides review entries and
applies them, an ``admin`` also manages users. Passwords are hashed with argon2id
(argon2-cffi); API tokens are random 32-byte strings of which only the SHA-256 is
stored, so a leaked database does not leak usable tokens. Every change is written to
the audit log with who did it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
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
    "get_user",
    "has_role",
    "list_users",
    "set_password",
    "user_for_token",
]

ROLES = ("viewer", "reviewer", "admin")
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
    """Whether ``role`` is at least ``needed`` (viewer < reviewer < admin)."""
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


def set_password(ws: Workspace, name: str, password: str, *, actor: str = "cli") -> None:
    """Replace a user's password (which signs out their existing sessions)."""
    _check_password(password)
    with ws.session() as s:
        row = _row(s, name)
        row.password_hash = _HASHER.hash(password)
        s.add(m.AuditLog(actor=actor, action="user.password", target=f"user:{name}", detail={}))


def _row(s: Session, name: str) -> m.User:
    row = s.scalar(select(m.User).where(m.User.name == name))
    if row is None:
        raise NotFoundError(f"no user named {name!r}; add one with `assay user add {name}`.")
    return row


def list_users(ws: Workspace) -> list[dict[str, object]]:
    """Every user: name, role, creation time and how many API tokens."""
    with ws.session() as s:
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
    with ws.session() as s:
        row = s.get(m.User, user_id)
        return _info(row) if row is not None else None


def authenticate(ws: Workspace, name: str, password: str) -> UserInfo | None:
    """The user when ``password`` is right, else None (in constant-ish time)."""
    with ws.session() as s:
        row = s.scalar(select(m.User).where(m.User.name == name))
        stored = row.password_hash if row is not None else _dummy_hash()
        try:
            _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            row.password_hash = _HASHER.hash(password)
        return _info(row)


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
    with ws.session() as s:
        row = s.execute(
            select(m.User, m.ApiToken.token_hash)
            .join(m.ApiToken, m.ApiToken.user_id == m.User.id)
            .where(m.ApiToken.token_hash == digest)
        ).first()
        if row is None or not hmac.compare_digest(row[1], digest):
            return None
        return _info(row[0])
