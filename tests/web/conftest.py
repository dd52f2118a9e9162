"""A web registry on SQLite and PostgreSQL: 30 SYNTHETIC patients in two centers, a user per role.

Every user is assigned center SYN-C01 ("own"); SYN-C02 is the "other" center, whose patients must stay
invisible to all of them. Clients sign in by a session made directly in the store (no argon2 per test).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from blinareg.store import Store
from blinareg.store.schema import ROLES
from blinareg.synth import generate
from blinareg.web.app import create_app
from blinareg.web.security import CSRF_HEADER, SESSION_COOKIE, new_token, token_hash

OWN, OTHER = "SYN-C01", "SYN-C02"
# A fixed, valid argon2id hash of an unused password: the matrix signs users in by session, not password.
UNUSED_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$Lk0wWq8nq1n4jV1uA3u1qj4sQ2Xq3JmQe8k5mQ0Yw1s"


@dataclass
class Web:
    store: Store
    app: object
    registry: object  # the registry as imported
    centers: dict[str, str]  # patient_id -> center_id

    def patients(self, center: str) -> list[str]:
        return sorted(p for p, c in self.centers.items() if c == center)

    def client(self, username: str, *, csrf: bool = True) -> TestClient:
        """A client signed in as `username` (session cookie; the CSRF header on every request)."""
        user = self.store.accounts.get(username)
        assert user is not None
        token, csrf_token = new_token(), new_token()
        self.store.accounts.create_session(user, token_hash(token), csrf_token)
        client = TestClient(self.app, base_url="http://testserver")
        client.cookies.set(SESSION_COOKIE, token)
        if csrf:
            client.headers[CSRF_HEADER] = csrf_token
        return client

    def anonymous(self) -> TestClient:
        return TestClient(self.app, base_url="http://testserver")


@pytest.fixture
def web(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BLINAREG_DEID_KEY_FILE", str(tmp_path / "keys" / "deidentify.key"))
    store = Store.open(database_url)
    store.init()
    registry = generate(30, seed=7, centers=2)
    store.import_registry(registry, source="synthetic test registry", actor="test")
    for role in ROLES:
        store.accounts.add(role, UNUSED_HASH, role, [OWN], actor="test")
    app = create_app(store=store)
    centers = dict(zip(registry["patient"]["patient_id"], registry["patient"]["center_id"]))
    yield Web(store, app, registry, centers)
    store.close()
