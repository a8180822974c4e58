"""Fixtures for the web tests: a real workspace (digits), users, signed-in clients."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.store.workspace import Workspace
from assay.web import create_app

sys.path.insert(0, str(Path(__file__).parent))  # the helpers module beside this file
from webhelpers import FakeClock, fill, sign_in  # noqa: E402


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with the cheapest parameters: the suite hashes many passwords."""
    from argon2 import PasswordHasher

    from assay.store import users

    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024,
                                                         parallelism=1))


@pytest.fixture
def web_ws(workspace: Workspace) -> Workspace:
    """The shared ``workspace`` fixture (SQLite and PostgreSQL), filled."""
    fill(workspace)
    return workspace


@pytest.fixture
def app(web_ws: Workspace) -> object:
    return create_app(web_ws, secret_key="k" * 32)


@pytest.fixture
def client_for(app: object) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """``client_for(name)`` -> a client signed in as ``name`` and its CSRF token."""
    clients: list[TestClient] = []

    def make(name: str) -> tuple[TestClient, str]:
        client = TestClient(app)  # type: ignore[arg-type]
        clients.append(client)
        return client, sign_in(client, name)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
