"""The HTML pages through the ASGI app (SQLite and PostgreSQL): lists, forms, edits, import, audit, admin."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from blinareg.exchange import write_registry
from blinareg.web.app import create_app
from blinareg.web.security import SecuritySettings

from tests.web.web_factories import (
    CENTER,
    OTHER_CENTER,
    PASSWORD,
    USERS,
    csrf_token,
    make_store,
    sign_in,
    small_registry,
)


@pytest.fixture
def store(database_url):
    return make_store(database_url)


@pytest.fixture
def app(store):
    return create_app(store=store, settings=SecuritySettings())


def test_patient_list_shows_only_the_users_centers_and_filters(app):
    client, _ = sign_in(app, USERS["data_manager"])
    page = client.get("/patients")
    assert page.status_code == 200
    assert "P-A1" in page.text and "P-A2" in page.text and "P-B1" not in page.text
    assert "2 of 2 patients" in page.text
    found = client.get("/patients", params={"q": "a2"})
    assert "P-A2" in found.text and 'href="/patients/P-A1"' not in found.text and "1 of 2 patients" in found.text
    alive = client.get("/patients", params={"status": "alive", "center": CENTER})
    assert "2 of 2 patients" in alive.text
    assert "0 of 2 patients" in client.get("/patients", params={"status": "dead"}).text  # P-B1 is not theirs
    none = client.get("/patients", params={"indication": "mrd_clearance"})
    assert "0 of 2 patients" in none.text and "No patient matches." in none.text
    assert client.get("/patients/P-B1").status_code == 404  # another center's patient is not found


def test_patient_page_groups_records_and_shows_problems(app):
    client, _ = sign_in(app, USERS["investigator"])
    page = client.get("/patients/P-A1")
    assert page.status_code == 200
    assert 'id="diagnosis"' in page.text and "2015-05-04" in page.text and "Alive" in page.text
    assert "No problems found." in page.text
    # An investigator reads but does not edit.
    assert "/diagnosis/edit" not in page.text and client.get("/patients/P-A1/relapse/new").status_code == 403


def _post(client, url, token, data):
    return client.post(url, data={"csrf_token": token, **data})


def test_create_edit_with_reason_conflict_and_delete(app, store):
    client, token = sign_in(app, USERS["data_manager"])
    form = client.get("/patients/P-A2/relapse/new")
    assert form.status_code == 200 and 'name="relapse_date"' in form.text and "YYYY-MM-DD, YYYY-MM or YYYY" in form.text
    relapse = {"relapse_number": "1", "relapse_date": "2021-02-30", "site_bone_marrow": "true", "marrow_blasts_pct": ""}
    bad = _post(client, "/patients/P-A2/relapse/new", token, {**relapse, "marrow_blasts_pct_missing": "unknown"})
    assert bad.status_code == 200  # the form again, the error on its field
    assert "day value is outside expected range" in bad.text and 'value="2021-02-30"' in bad.text
    good = _post(
        client,
        "/patients/P-A2/relapse/new",
        token,
        {**relapse, "relapse_date": "2021-02", "marrow_blasts_pct_missing": "unknown"},
    )
    assert good.status_code == 303 and good.headers["location"] == "/patients/P-A2"
    stored = store.load_registry(["P-A2"])["relapse"]
    assert stored["relapse_date_precision"].tolist() == ["month"] and stored["marrow_blasts_pct_missing"].tolist() == [
        "unknown"
    ]

    edit = client.get("/patients/P-A2/relapse/1/edit")
    assert edit.status_code == 200 and 'value="2021-02"' in edit.text
    version = re.search(r'name="row_version" value="(\d+)"', edit.text).group(1)
    change = {
        "relapse_number": "1",
        "relapse_date": "2021-02",
        "site_bone_marrow": "true",
        "site_cns": "true",
        "marrow_blasts_pct_missing": "unknown",
        "row_version": version,
    }
    url = "/patients/P-A2/relapse/1/edit"
    no_reason = _post(client, url, token, change)
    assert no_reason.status_code == 200 and "a reason is required" in no_reason.text
    saved = _post(client, url, token, {**change, "reason": "CNS involvement found in the source"})
    assert saved.status_code == 303
    # A second edit opened at the old version: refused, both values shown, nothing overwritten.
    stale = _post(client, url, token, {**change, "site_cns": "false", "reason": "typo"})
    assert stale.status_code == 200
    assert (
        "Nothing was overwritten" in stale.text
        and '<th scope="row">Site CNS</th><td class="theirs">Yes</td><td class="mine">No</td>' in stale.text
    )
    assert store.load_registry(["P-A2"])["relapse"]["site_cns"].tolist() == [True]

    current = re.search(
        r'name="row_version" value="(\d+)"',
        client.get("/patients/P-A2/relapse/1/edit").text,
    ).group(1)
    deleted = _post(
        client,
        "/patients/P-A2/relapse/1/delete",
        token,
        {"row_version": current, "reason": "entered twice"},
    )
    assert deleted.status_code == 303
    assert store.load_registry(["P-A2"])["relapse"].empty


def test_cross_record_problem_shows_on_the_field_and_stores_nothing(app, store):
    client, token = sign_in(app, USERS["data_manager"])
    # A relapse before the diagnosis (2015-05-04) of P-A1.
    response = _post(
        client,
        "/patients/P-A1/relapse/new",
        token,
        {"relapse_number": "1", "relapse_date": "2014-01-10", "site_bone_marrow": "true", "marrow_blasts_pct": "40"},
    )
    assert response.status_code == 200
    assert '<div class="field invalid">' in response.text
    assert store.load_registry(["P-A1"])["relapse"].empty


def test_new_patient_then_soft_delete_and_administrator_restores(app, store):
    client, token = sign_in(app, USERS["data_manager"])
    form = client.get("/patients/new")
    assert f'<option value="{CENTER}"' in form.text and OTHER_CENTER not in form.text
    created = _post(
        client,
        "/patients/new",
        token,
        {"patient_id": "P-NEW", "center_id": CENTER, "sex": "female", "birth_date": "2016"},
    )
    assert created.status_code == 303 and created.headers["location"] == "/patients/P-NEW"
    # Entered record by record: the missing diagnosis and follow-up are problems on the page, not a refusal.
    page = client.get("/patients/P-NEW")
    assert "patient has no diagnosis record" in page.text and "patient has no follow_up record" in page.text
    wrong_center = _post(
        client,
        "/patients/new",
        token,
        {"patient_id": "P-X", "center_id": OTHER_CENTER, "sex": "female", "birth_date": "2016"},
    )
    assert wrong_center.status_code == 200 and "not one of your centers" in wrong_center.text
    edit = client.get("/patients/P-NEW/patient/edit")
    version = re.search(r'name="row_version" value="(\d+)"', edit.text).group(1)
    assert "an administrator can undo it" in edit.text
    gone = _post(client, "/patients/P-NEW/patient/delete", token, {"row_version": version, "reason": "test patient"})
    assert gone.status_code == 303 and client.get("/patients/P-NEW").status_code == 404

    admin, admin_token = sign_in(app, USERS["administrator"])
    listed = admin.get("/admin/deleted")
    assert "P-NEW" in listed.text
    assert "a reason is required" in _post(admin, "/admin/deleted/P-NEW/restore", admin_token, {"reason": ""}).text
    assert (
        _post(admin, "/admin/deleted/P-NEW/restore", admin_token, {"reason": "deleted by mistake"}).status_code == 303
    )
    assert client.get("/patients/P-NEW").status_code == 200


def test_statistician_sees_no_record_level_page(app):
    client, _ = sign_in(app, USERS["statistician"])
    for url in (
        "/patients",
        "/patients/P-A1",
        "/patients/P-A1/relapse/new",
        "/import",
        "/audit",
        "/audit.csv",
        "/admin/users",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "P-A1" not in response.text
    home = client.get("/")
    assert "P-A1" not in home.text and 'href="/patients"' not in home.text


def test_audit_trail_filters_and_csv(app):
    client, token = sign_in(app, USERS["data_manager"])
    _post(
        client,
        "/patients/P-A2/body_measurement/new",
        token,
        {"measurement_date": "2020-01-02", "weight_kg": "31.5", "height_cm_missing": "not_done"},
    )
    auditor, _ = sign_in(app, USERS["auditor"])
    page = auditor.get("/audit", params={"patient": "P-A2", "record_type": "body_measurement", "user": "dm"})
    assert page.status_code == 200 and "1 entries" in page.text and "31.5" in page.text
    assert "0 entries" in auditor.get("/audit", params={"patient": "P-A2", "date_to": "2000-01-01"}).text
    assert auditor.get("/audit", params={"date_from": "yesterday"}).status_code == 422
    exported = auditor.get("/audit.csv", params={"patient": "P-A2", "record_type": "body_measurement"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["actor"], r["patient_id"], r["record_type"]) for r in rows] == [("dm", "P-A2", "body_measurement")]
    assert '"weight_kg": 31.5' in rows[0]["after"]
    assert auditor.get("/patients").status_code == 403


def test_admin_manages_users_and_unlocks(app, store):
    admin, token = sign_in(app, USERS["administrator"])
    page = admin.get("/admin/users")
    assert all(name in page.text for name in USERS.values())
    added = _post(
        admin,
        "/admin/users",
        token,
        {"username": "dm2", "password": "another long password", "role": "data_manager", "centers": OTHER_CENTER},
    )
    assert added.status_code == 200 and "User dm2 added." in added.text
    assert store.accounts.get("dm2").centers == (OTHER_CENTER,)
    short = _post(admin, "/admin/users", token, {"username": "dm3", "password": "short", "role": "data_manager"})
    assert short.status_code == 200 and "at least 12 characters" in short.text
    changed = admin.post(
        "/admin/users/dm2",
        data={"csrf_token": token, "role": "investigator", "centers": [CENTER, OTHER_CENTER], "disabled": "false"},
    )
    assert changed.status_code == 200
    assert store.accounts.get("dm2").role == "investigator" and set(store.accounts.get("dm2").centers) == {
        CENTER,
        OTHER_CENTER,
    }
    # Five wrong passwords lock the account; the administrator unlocks it.
    stranger = TestClient(app, follow_redirects=False)
    for _ in range(5):
        login = stranger.get("/login")
        stranger.post(
            "/login", data={"username": "dm2", "password": "wrong password!", "csrf_token": csrf_token(login.text)}
        )
    assert store.accounts.get("dm2").locked
    assert "locked" in admin.get("/admin/users").text
    assert _post(admin, "/admin/users/dm2/unlock", token, {}).status_code == 200
    assert not store.accounts.get("dm2").locked


def _zip_of(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"registry/{path.name}")
    return buffer.getvalue()


def test_import_dry_run_then_confirm_and_errors_store_nothing(app, store, tmp_path):
    client, token = sign_in(app, USERS["data_manager"])
    batch = small_registry().subset(["P-A1"])
    write_registry(batch, tmp_path / "good", format="csv")
    upload = {"file": ("registry.zip", _zip_of(tmp_path / "good"), "application/zip")}
    dry = client.post("/import", data={"csrf_token": token, "kind": "registry"}, files=upload)
    assert dry.status_code == 200 and "Dry run of registry.zip: nothing stored yet." in dry.text
    pending = re.search(r'name="token" value="([^"]+)"', dry.text).group(1)
    confirmed = _post(client, "/import/confirm", token, {"token": pending})
    assert confirmed.status_code == 200 and "Imported registry.zip" in confirmed.text
    assert "no longer waiting" in _post(client, "/import/confirm", token, {"token": pending}).text  # used once

    # A wrong cell: the problem table names file, row, field and value; nothing is stored.
    patient_csv = (tmp_path / "good" / "patient.csv").read_text().replace("2010-03-01", "2010-13-01")
    (tmp_path / "good" / "patient.csv").write_text(patient_csv)
    before = store.load_registry()
    bad = client.post(
        "/import",
        data={"csrf_token": token, "kind": "registry"},
        files={"file": ("bad.zip", _zip_of(tmp_path / "good"), "application/zip")},
    )
    assert bad.status_code == 200 and "nothing was stored" in bad.text
    assert "patient.csv" in bad.text and "2010-13-01" in bad.text and "birth_date" in bad.text
    assert store.load_registry()["patient"].equals(before["patient"])

    # Another center's patients are refused.
    write_registry(small_registry().subset(["P-B1"]), tmp_path / "other", format="csv")
    other = client.post(
        "/import",
        data={"csrf_token": token, "kind": "registry"},
        files={"file": ("other.zip", _zip_of(tmp_path / "other"), "application/zip")},
    )
    assert other.status_code == 200 and "not one of your centers" in other.text


def test_import_a_workbook(app, tmp_path):
    client, token = sign_in(app, USERS["data_manager"])
    write_registry(small_registry().subset(["P-A2"]), tmp_path / "batch.xlsx", format="xlsx")
    dry = client.post(
        "/import",
        data={"csrf_token": token, "kind": "registry"},
        files={"file": ("batch.xlsx", (tmp_path / "batch.xlsx").read_bytes(), "application/octet-stream")},
    )
    assert dry.status_code == 200 and "0 patients would be added and 1 replaced" in dry.text


def test_import_a_redcap_export(app, store):
    from blinareg.exchange.redcap import write_redcap_export

    client, token = sign_in(app, USERS["data_manager"])
    batch = small_registry().subset(["P-A1"])
    text = write_redcap_export(batch).replace("2015-05-04", "2015-05-06")  # a changed diagnosis date
    files = {"file": ("export.csv", text.encode(), "text/csv")}
    dry = client.post("/import", data={"csrf_token": token, "kind": "redcap"}, files=files)
    assert "0 patients would be added and 1 replaced" in dry.text, dry.text[-3000:]
    assert str(store.load_registry(["P-A1"])["diagnosis"]["diagnosis_date"].iloc[0].date()) == "2015-05-04"
    pending = re.search(r'name="token" value="([^"]+)"', dry.text).group(1)
    assert "Imported export.csv" in _post(client, "/import/confirm", token, {"token": pending}).text
    assert str(store.load_registry(["P-A1"])["diagnosis"]["diagnosis_date"].iloc[0].date()) == "2015-05-06"
