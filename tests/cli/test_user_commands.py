"""`blinareg init --admin`, `blinareg user add|passwd|role|centers|disable|enable|unlock|list`, `serve --help`."""

from __future__ import annotations

import pytest

from blinareg.cli.main import main
from blinareg.store import Store
from blinareg.synth import generate
from blinareg.web.security import verify_password

PASSWORD = "a sufficiently long password"


@pytest.fixture
def database(database_url, run, monkeypatch):
    monkeypatch.setenv("BLINAREG_ADMIN_PASSWORD", PASSWORD)
    code, out, err = run("init", "--database", database_url, "--admin", "boss")
    assert code == 0, err
    assert "administrator boss created" in out
    with Store.open(database_url) as store:
        store.import_registry(generate(4, seed=2, centers=2), source="synthetic")
    return database_url


def _user(url, name):
    with Store.open(url) as store:
        return store.accounts.get(name), store.accounts.password_hash(name)


def test_init_admin_creates_the_first_administrator(database):
    user, hashed = _user(database, "boss")
    assert user.role == "administrator" and verify_password(hashed, PASSWORD)
    with Store.open(database) as store:
        assert store.audit_entries(action="account")[-1].record_key == {"username": "boss"}


def test_user_lifecycle(database, run, monkeypatch):
    monkeypatch.setenv("BLINAREG_USER_PASSWORD", PASSWORD)
    code, out, err = run("user", "add", "ann", "--role", "data_manager", "--centers", "SYN-C01", "--database", database)
    assert code == 0, err
    assert "ann added (data_manager; centers: SYN-C01)" in out
    assert run("user", "role", "ann", "investigator", "--database", database)[0] == 0
    assert run("user", "centers", "ann", "SYN-C01,SYN-C02", "--database", database)[0] == 0
    monkeypatch.setenv("BLINAREG_USER_PASSWORD", "another long password")
    assert run("user", "passwd", "ann", "--database", database)[0] == 0
    user, hashed = _user(database, "ann")
    assert (user.role, user.centers) == ("investigator", ("SYN-C01", "SYN-C02"))
    assert verify_password(hashed, "another long password")
    assert run("user", "disable", "ann", "--database", database)[0] == 0
    code, out, _ = run("user", "list", "--database", database)
    assert "ann\tinvestigator\tSYN-C01,SYN-C02\tdisabled" in out and "boss\tadministrator\t-\tactive" in out
    assert run("user", "enable", "ann", "--database", database)[0] == 0
    assert run("user", "unlock", "ann", "--database", database)[0] == 0
    assert not _user(database, "ann")[0].disabled


def test_a_monitor_is_added_and_a_user_becomes_one(database, run, monkeypatch):
    monkeypatch.setenv("BLINAREG_USER_PASSWORD", PASSWORD)
    code, out, err = run("user", "add", "mo", "--role", "monitor", "--centers", "SYN-C02", "--database", database)
    assert code == 0, err
    assert "mo added (monitor; centers: SYN-C02)" in out
    assert run("user", "add", "cy", "--role", "auditor", "--database", database)[0] == 0
    assert run("user", "role", "cy", "monitor", "--database", database)[0] == 0
    assert _user(database, "mo")[0].role == _user(database, "cy")[0].role == "monitor"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("user", "add", "ann", "--role", "auditor", "--centers", "NOPE"), "no center NOPE"),
        (("user", "add", "boss", "--role", "auditor"), "already exists"),
        (("user", "role", "nobody", "auditor"), "no user 'nobody'"),
    ],
)
def test_user_errors_are_one_line(database, run, monkeypatch, args, message):
    monkeypatch.setenv("BLINAREG_USER_PASSWORD", PASSWORD)
    code, out, err = run(*args, "--database", database)
    assert code == 2 and "Traceback" not in err and message in err.strip().splitlines()[-1]


def test_a_short_password_is_refused(database, run, monkeypatch):
    monkeypatch.setenv("BLINAREG_USER_PASSWORD", "short")
    code, _, err = run("user", "add", "ann", "--role", "auditor", "--database", database)
    assert code == 2 and "at least 12 characters" in err
    assert _user(database, "ann")[0] is None


def test_serve_help_names_host_and_port(run):
    code, out, _ = run("serve", "--help")
    assert code == 0 and "--host" in out and "--port" in out
