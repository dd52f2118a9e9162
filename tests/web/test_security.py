"""Passwords, sign-in, lockout, sessions, CSRF, API tokens and security headers."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from blinareg.errors import UserError
from blinareg.store.schema import sessions, users
from blinareg.web.app import create_app
from blinareg.web.security import (
    CONTENT_SECURITY_POLICY,
    SESSION_COOKIE,
    SecuritySettings,
    hash_password,
    verify_password,
)
from tests.web.conftest import OWN

PASSWORD = "correct horse battery"


def test_passwords_are_argon2id_with_a_minimum_length():
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD) and not verify_password(hashed, PASSWORD + "!")
    assert not verify_password(None, PASSWORD) and not verify_password("not a hash", PASSWORD)
    with pytest.raises(UserError, match="at least 12"):
        hash_password("short")


def _login(client, username, password):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )


@pytest.fixture
def person(web):
    web.store.accounts.add("person", hash_password(PASSWORD), "investigator", [OWN], actor="test")
    return "person"


def test_sign_in_sets_a_strict_http_only_cookie_and_is_audited(web, person):
    client = web.anonymous()
    answer = _login(client, person, PASSWORD)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; Secure when served over HTTPS (next test)
    assert client.get("/api/v1/me").json()["username"] == person
    assert web.store.audit_entries(action="login")[-1].actor == person
    with web.store._transaction() as connection:
        stored = connection.execute(sa.select(sessions.c.token_hash)).scalars().all()
    assert client.cookies[SESSION_COOKIE] not in stored  # only the hash is kept


def test_cookie_is_secure_over_https(web, person):
    from fastapi.testclient import TestClient

    client = TestClient(web.app, base_url="https://testserver")
    answer = _login(client, person, PASSWORD)
    assert "Secure" in answer.headers["set-cookie"]
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_login_needs_its_form_token(web, person):
    client = web.anonymous()
    client.get("/login")
    answer = client.post("/login", data={"username": person, "password": PASSWORD, "csrf_token": "forged"})
    assert answer.status_code == 400 and SESSION_COOKIE not in client.cookies


def test_five_failures_in_15_minutes_lock_the_account_until_an_administrator_unlocks(web, person):
    client = web.anonymous()
    for _ in range(5):
        assert _login(client, person, "wrong password!").status_code == 401
    assert web.store.accounts.get(person).locked
    answer = _login(client, person, PASSWORD)
    assert answer.status_code == 401 and "Sign-in failed" in answer.text  # same message: no hint it is locked
    assert [e.action for e in web.store.audit_entries(record_type="user")][-3:] == [
        "login_failed",
        "lockout",
        "login_failed",
    ]
    web.store.accounts.unlock(person, actor="administrator")
    assert _login(client, person, PASSWORD).status_code == 303


def test_failures_older_than_the_window_do_not_count(web, person):
    client = web.anonymous()
    for _ in range(4):
        _login(client, person, "wrong password!")
    with web.store._transaction() as connection:
        old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=16)
        connection.execute(sa.update(users).where(users.c.username == person).values(failed_since=old))
    _login(client, person, "wrong password!")
    assert not web.store.accounts.get(person).locked


def test_unknown_users_fail_like_wrong_passwords(web):
    answer = _login(web.anonymous(), "nobody", PASSWORD)
    assert answer.status_code == 401 and "Sign-in failed" in answer.text


def _age_session(web, **times):
    with web.store._transaction() as connection:
        connection.execute(sa.update(sessions).values(**times))


@pytest.mark.parametrize(
    "times",
    [
        {"last_seen_at": dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31)},  # idle
        {"created_at": dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=12, minutes=1)},  # absolute
    ],
    ids=["idle-30-minutes", "absolute-12-hours"],
)
def test_sessions_expire(web, times):
    client = web.client("investigator")
    assert client.get("/api/v1/me").status_code == 200
    _age_session(web, **times)
    assert client.get("/api/v1/me").status_code == 401
    with web.store._transaction() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(sessions)).scalar_one() == 0


def test_a_session_within_its_limits_stays(web):
    client = web.client("investigator")
    _age_session(web, last_seen_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200


def test_state_changing_requests_by_session_need_the_csrf_token(web):
    client = web.client("data_manager", csrf=False)
    assert client.post("/api/v1/tokens", json={"name": "x"}).status_code == 403
    client.headers["X-CSRF-Token"] = "not the token"
    assert client.post("/api/v1/tokens", json={"name": "x"}).status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # reads need none


def test_bearer_tokens_need_no_csrf_and_disabled_users_lose_access(web):
    client = web.client("data_manager")
    token = client.post("/api/v1/tokens", json={"name": "script"}).json()["token"]
    bearer = web.anonymous()
    bearer.headers["Authorization"] = f"Bearer {token}"
    assert bearer.post("/api/v1/tokens", json={"name": "another"}).status_code == 201
    bearer.headers["Authorization"] = "Bearer " + token[:-2] + "xx"
    assert bearer.get("/api/v1/me").status_code == 401
    web.store.accounts.set_disabled("data_manager", True, actor="administrator")
    bearer.headers["Authorization"] = f"Bearer {token}"
    assert bearer.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").status_code == 401  # sessions ended too


def test_security_headers_on_pages_and_api(web):
    client = web.anonymous()
    for path in ("/login", "/api/v1/me", "/static/style.css"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script(web):
    for path in ("/login",):
        assert "<script>" not in web.anonymous().get(path).text
    assert "<script>" not in web.client("investigator").get("/").text


def test_no_patient_data_in_logs(web, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client = web.client("data_manager")
    patient_id = web.patients(OWN)[0]
    client.get(f"/api/v1/patient/{patient_id}")
    client.get("/api/v1/patient/NOT-THERE")
    # httpx is the test's own client logging its requests; everything else is the server side.
    server = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert patient_id not in server and "NOT-THERE" not in server


def test_custom_limits_apply(web, person):
    app = create_app(store=web.store, settings=SecuritySettings(lockout_failures=2))
    from fastapi.testclient import TestClient

    client = TestClient(app)
    _login(client, person, "wrong password!")
    _login(client, person, "wrong password!")
    assert web.store.accounts.get(person).locked
