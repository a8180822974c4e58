"""Users, roles, argon2 hashes and API tokens (store level), and their CLI commands."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from assay.cli.main import main
from assay.cli.web import is_loopback
from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m
from assay.store.users import (
    add_token,
    add_user,
    authenticate,
    has_role,
    list_users,
    set_password,
    user_for_token,
)
from assay.store.workspace import Workspace


def test_passwords_are_argon2_hashes_and_verify(workspace: Workspace) -> None:
    add_user(workspace, "ada", role="admin", password="s3cret-enough")
    with workspace.session() as s:
        stored = s.scalar(select(m.User.password_hash))
    assert stored is not None and stored.startswith("$argon2id$") and "s3cret" not in stored
    assert PasswordHasher().verify(stored, "s3cret-enough")
    assert authenticate(workspace, "ada", "s3cret-enough").role == "admin"  # type: ignore[union-attr]
    assert authenticate(workspace, "ada", "wrong-password") is None
    assert authenticate(workspace, "nobody", "s3cret-enough") is None
    before = authenticate(workspace, "ada", "s3cret-enough")
    set_password(workspace, "ada", "another-secret")
    after = authenticate(workspace, "ada", "another-secret")
    assert before is not None and after is not None and before.fingerprint != after.fingerprint


def test_user_input_is_checked(workspace: Workspace) -> None:
    add_user(workspace, "rita", role="reviewer", password="long enough")
    with pytest.raises(ConflictError, match="exists already"):
        add_user(workspace, "rita", role="viewer", password="long enough")
    with pytest.raises(InputError, match="role must be one of"):
        add_user(workspace, "x", role="root", password="long enough")
    with pytest.raises(InputError, match="too short"):
        add_user(workspace, "y", role="viewer", password="short")
    with pytest.raises(NotFoundError):
        add_token(workspace, "t", user="ghost")
    assert [u["name"] for u in list_users(workspace)] == ["rita"]
    assert has_role("admin", "reviewer") and not has_role("viewer", "reviewer")


def test_tokens_are_stored_as_sha256(workspace: Workspace) -> None:
    add_user(workspace, "bot", role="reviewer", password="long enough")
    token = add_token(workspace, "ingest", user="bot")
    with workspace.session() as s:
        stored = s.scalars(select(m.ApiToken.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert user_for_token(workspace, token).name == "bot"  # type: ignore[union-attr]
    assert user_for_token(workspace, token + "x") is None


def test_cli_user_and_token_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    ws_path = tmp_path / "ws"
    Workspace.init(ws_path).close()
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine password\n"))
    assert main(["user", "add", "ada", "--role", "admin", "--password-stdin",
                 "-w", str(ws_path)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine password\n"))
    assert main(["user", "add", "eve", "--role", "root", "--password-stdin",
                 "-w", str(ws_path)]) == 2
    assert main(["user", "list", "--json", "-w", str(ws_path)]) == 0
    assert '"ada"' in capsys.readouterr().out
    assert main(["token", "add", "ci", "--user", "ada", "-w", str(ws_path)]) == 0
    token = capsys.readouterr().out.strip()
    with Workspace(ws_path) as ws:
        assert authenticate(ws, "ada", "a fine password") is not None
        assert user_for_token(ws, token).name == "ada"  # type: ignore[union-attr]


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_ui_binds_loopback_by_default_and_warns_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    ws_path = tmp_path / "ws"
    Workspace.init(ws_path).close()
    assert main(["ui", str(ws_path)]) == 0
    assert calls[-1]["host"] == "127.0.0.1" and "without TLS" not in capsys.readouterr().err
    assert calls[-1]["http"] == "assay.web.serve:NoDelayH11Protocol"
    assert main(["ui", str(ws_path), "--host", "0.0.0.0", "--port", "8123"]) == 0
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 8123
    assert "without TLS" in capsys.readouterr().err


def test_a_hash_made_with_other_parameters_is_rehashed_at_sign_in(workspace: Workspace) -> None:
    from assay.store.users import _HASHER

    add_user(workspace, "ada", role="admin", password="s3cret-enough")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=2).hash("s3cret-enough")
    assert _HASHER.check_needs_rehash(weak)
    with workspace.session() as s:
        s.execute(m.User.__table__.update().values(password_hash=weak))
    assert authenticate(workspace, "ada", "s3cret-enough") is not None
    with workspace.session(readonly=True) as s:
        stored = s.scalar(select(m.User.password_hash))
    assert stored != weak and not _HASHER.check_needs_rehash(stored)
    assert authenticate(workspace, "ada", "s3cret-enough") is not None
