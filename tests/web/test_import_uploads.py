"""The import page's uploads: streamed to disk up to a configured limit (413 above it), kept on disk between
the dry run and the confirmation (another server process or a restart confirms them; another user, other
centers, expiry or a second confirmation are refused), and REDCap data access groups mapped to the user's
own centers. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import time
import zipfile

import pytest
from fastapi.testclient import TestClient

from blinareg.exchange import write_registry
from blinareg.exchange.redcap import data_access_groups, write_redcap_export
from blinareg.web.app import create_app
from blinareg.web.security import RequestGuardMiddleware, SecuritySettings, hash_password
from blinareg.web.uploads import MAX_UPLOAD_SETTING, UPLOAD_DIR_SETTING, PendingUploads, Upload, UploadSettings
from tests.web.web_factories import CENTER, OTHER_CENTER, PASSWORD, USERS, make_store, sign_in, small_registry

MB = 1024 * 1024


@pytest.fixture
def store(database_url):
    return make_store(database_url)


@pytest.fixture
def upload_settings(tmp_path):
    return UploadSettings(max_bytes=5 * MB, directory=tmp_path / "uploads")


@pytest.fixture
def app(store, upload_settings):
    return create_app(store=store, settings=SecuritySettings(), uploads=upload_settings)


def _registry_zip(tmp_path, patient_ids: list[str], padding: int = 0) -> bytes:
    """A zip of the CSV files of these patients, with `padding` bytes of an unrelated (stored) file."""
    folder = tmp_path / "csv"
    write_registry(small_registry().subset(patient_ids), folder, format="csv")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"registry/{path.name}")
        if padding:
            bundle.writestr("registry/notes.bin", os.urandom(padding))  # random: not compressible
    return buffer.getvalue()


def _dry_run(client, token: str, body: bytes, name: str = "registry.zip", kind: str = "registry", **fields):
    return client.post(
        "/import", data={"csrf_token": token, "kind": kind, **fields}, files={"file": (name, body, "application/zip")}
    )


def _pending_token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, page[-2000:]
    return found.group(1)


def _confirm(client, token: str, pending: str):
    return client.post("/import/confirm", data={"csrf_token": token, "token": pending})


# ---- size ---------------------------------------------------------------------------------------------


def test_an_upload_over_2_mb_within_the_limit_is_checked_and_imported(app, store, tmp_path):
    client, token = sign_in(app, USERS["data_manager"])
    body = _registry_zip(tmp_path, ["P-A1"], padding=3 * MB)
    assert 2 * MB < len(body) < 5 * MB
    dry = _dry_run(client, token, body)
    assert dry.status_code == 200 and "Dry run of registry.zip: nothing stored yet." in dry.text, dry.text[-2000:]
    assert "Imported registry.zip" in _confirm(client, token, _pending_token(dry.text)).text


def test_an_upload_over_the_limit_is_refused_with_413_naming_it(app, store, tmp_path):
    client, token = sign_in(app, USERS["data_manager"])
    body = _registry_zip(tmp_path, ["P-A1"], padding=6 * MB)
    refused = _dry_run(client, token, body)
    assert refused.status_code == 413
    assert "larger than the limit of 5 MB" in refused.text and MAX_UPLOAD_SETTING in refused.text
    assert not (tmp_path / "uploads").exists() or list((tmp_path / "uploads").iterdir()) == []
    # Just above the file limit but within the form's margin: refused by the page, with the same limit named.
    settings = UploadSettings(max_bytes=len(body) - 10, directory=tmp_path / "uploads")
    tight = create_app(store=store, settings=SecuritySettings(), uploads=settings)
    client, token = sign_in(tight, USERS["data_manager"])
    page = _dry_run(client, token, body)
    assert (
        page.status_code == 413 and "larger than the upload limit of" in page.text and MAX_UPLOAD_SETTING in page.text
    )
    assert list((tmp_path / "uploads").iterdir()) == []  # the partial file is removed


def test_the_limit_and_folder_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(MAX_UPLOAD_SETTING, "250")
    monkeypatch.setenv(UPLOAD_DIR_SETTING, str(tmp_path / "pending"))
    settings = UploadSettings.from_environment()
    assert settings.max_bytes == 250 * MB and settings.directory == tmp_path / "pending"
    assert settings.expiry == dt.timedelta(minutes=60)
    monkeypatch.setenv(MAX_UPLOAD_SETTING, "lots")
    with pytest.raises(Exception, match=f"{MAX_UPLOAD_SETTING}='lots': expected a whole number"):
        UploadSettings.from_environment()


def test_a_streamed_upload_without_length_is_counted_and_cut_off():
    """The guard hands the body on chunk by chunk (nothing buffered) and stops it past the limit."""
    seen: list[int] = []

    async def route(scope, receive, send):
        while True:
            message = await receive()
            seen.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def run(chunks: int) -> tuple[int, bytes]:
        guard = RequestGuardMiddleware(
            route, upload_paths=frozenset({"/import"}), max_upload_bytes=MB, limit_text="1 MB"
        )
        messages = [
            {"type": "http.request", "body": b"x" * (256 * 1024), "more_body": i < chunks - 1} for i in range(chunks)
        ]
        sent: list[dict] = []

        async def receive():
            return messages.pop(0)

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/import",
            "query_string": b"",
            "headers": [(b"content-type", b"multipart/form-data; boundary=x")],
        }
        asyncio.run(guard(scope, receive, send))
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    assert run(3) == (200, b"ok") and seen == [256 * 1024] * 3
    seen.clear()
    status, body = run(40)  # 10 MB
    assert status == 413 and b"larger than the limit of 1 MB" in body
    assert len(seen) == 4  # the route got the chunks within the limit, one at a time, then the guard stopped


# ---- pending uploads ------------------------------------------------------------------------------------


def test_a_pending_upload_survives_a_restart_and_is_confirmed_by_another_process(store, upload_settings, tmp_path):
    first = create_app(store=store, settings=SecuritySettings(), uploads=upload_settings)
    client, token = sign_in(first, USERS["data_manager"])
    dry = _dry_run(client, token, _registry_zip(tmp_path, ["P-A1"]))
    pending = _pending_token(dry.text)
    folders = list(upload_settings.directory.iterdir())
    assert len(folders) == 1 and pending not in folders[0].name  # named by the token's hash, not the token
    assert oct(upload_settings.directory.stat().st_mode & 0o777) == "0o700"
    kept = json.loads((folders[0] / "pending.json").read_text())
    assert (kept["owner"], kept["centers"], kept["kind"]) == (USERS["data_manager"], [CENTER], "registry")

    # Another process (or the restarted server): a new app on the same database and upload folder, whose
    # memory holds nothing of the first; the browser keeps its session cookie.
    second = create_app(store=store, settings=SecuritySettings(), uploads=upload_settings)
    client = TestClient(second, follow_redirects=False, cookies=dict(client.cookies))
    confirmed = _confirm(client, token, pending)
    assert "Imported registry.zip" in confirmed.text
    assert list(upload_settings.directory.iterdir()) == []
    assert "no longer waiting" in _confirm(client, token, pending).text  # once only
    assert [e.source for e in store.audit_entries(patient_id="P-A1")][-1] == "registry.zip"


def test_another_user_other_centers_or_expiry_cannot_confirm(app, store, upload_settings, tmp_path):
    store.accounts.add("dm2", hash_password(PASSWORD), "data_manager", [CENTER], actor="test")
    owner, owner_token = sign_in(app, USERS["data_manager"])
    pending = _pending_token(_dry_run(owner, owner_token, _registry_zip(tmp_path, ["P-A1"])).text)
    before = store.audit_entries()

    other, other_token = sign_in(app, "dm2")
    assert "no longer waiting" in _confirm(other, other_token, pending).text
    assert "no longer waiting" in other.post("/import/groups", data={"csrf_token": other_token, "token": pending}).text
    # The owner with another set of centers than when uploading: refused too.
    store.accounts.set_centers(USERS["data_manager"], [CENTER, OTHER_CENTER], actor="test")
    assert "no longer waiting" in _confirm(owner, owner_token, pending).text
    store.accounts.set_centers(USERS["data_manager"], [CENTER], actor="test")
    assert not [e for e in store.audit_entries()[len(before) :] if e.patient_id]  # nothing imported

    # Still waiting for its owner: the refusals did not use it up.
    assert "Imported registry.zip" in _confirm(owner, owner_token, pending).text


def test_an_expired_upload_is_refused_and_cleaned_away(store, tmp_path):
    settings = UploadSettings(max_bytes=MB, directory=tmp_path / "uploads", expiry=dt.timedelta(seconds=0))
    app = create_app(store=store, settings=SecuritySettings(), uploads=settings)
    client, token = sign_in(app, USERS["data_manager"])
    pending = _pending_token(_dry_run(client, token, _registry_zip(tmp_path, ["P-A1"])).text)
    assert len(list(settings.directory.iterdir())) == 1
    imports = len(store.audit_entries(action="import"))
    refused = _confirm(client, token, pending)
    assert "no longer waiting" in refused.text and "expired" in refused.text
    assert list(settings.directory.iterdir()) == []  # cleaned
    assert len(store.audit_entries(action="import")) == imports  # nothing imported


# ---- REDCap data access groups ------------------------------------------------------------------------


def _redcap_with_groups(groups: dict[str, str]) -> bytes:
    """A REDCap export of P-A1 and P-A2 with data access groups (center -> group) and no pat_center_id."""
    text = write_redcap_export(small_registry().subset(["P-A1", "P-A2"]), data_access_groups=groups)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    column = rows[0].index("pat_center_id")
    for row in rows[1:]:
        if len(row) > column:
            row[column] = ""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def test_data_access_groups_are_read_from_the_export(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(_redcap_with_groups({CENTER: "site_one"}))
    assert data_access_groups(path) == ["site_one"]
    path.write_text(write_redcap_export(small_registry().subset(["P-A1"])))
    assert data_access_groups(path) == []


def test_redcap_groups_are_mapped_to_own_centers_before_the_import(app, store):
    client, token = sign_in(app, USERS["data_manager"])
    export = _redcap_with_groups({CENTER: "site_one"})
    dry = _dry_run(client, token, export, name="export.csv", kind="redcap")
    assert dry.status_code == 200
    # The group is unmapped: its records are errors, the mapping form offers the user's center only.
    assert "Data access groups without a center: site_one" in dry.text
    assert "data access group &#39;site_one&#39; is not in the DAG map" in dry.text
    assert "Confirm the import" not in dry.text
    assert f'<option value="{CENTER}">' in dry.text and f'<option value="{OTHER_CENTER}"' not in dry.text
    pending = _pending_token(dry.text)

    # Another center than the user's is refused, and the upload keeps waiting.
    wrong = client.post("/import/groups", data={"csrf_token": token, "token": pending, "dag:site_one": OTHER_CENTER})
    assert f"{OTHER_CENTER} is not one of your centers" in wrong.text

    wrong = client.post("/import/groups", data={"csrf_token": token, "token": pending, "center_id": OTHER_CENTER})
    assert f"{OTHER_CENTER} is not one of your centers" in wrong.text

    mapped = client.post(
        "/import/groups", data={"csrf_token": token, "token": pending, "dag:site_one": CENTER, "center_id": CENTER}
    )
    assert "0 patients would be added and 2 replaced" in mapped.text, mapped.text[-3000:]
    assert mapped.text.count(f'<option value="{CENTER}" selected>') == 2  # the group's and the no-group center
    assert "Imported export.csv" in _confirm(client, token, pending).text
    stored = store.load_registry(["P-A1", "P-A2"])["patient"]
    assert set(stored["center_id"]) == {CENTER}


def test_a_group_named_as_an_own_center_starts_mapped_to_it(app):
    client, token = sign_in(app, USERS["data_manager"])
    dry = _dry_run(client, token, _redcap_with_groups({CENTER: CENTER}), name="export.csv", kind="redcap")
    assert "0 patients would be added and 2 replaced" in dry.text, dry.text[-3000:]
    assert "without a center" not in dry.text and f'<option value="{CENTER}" selected>' in dry.text


def test_a_group_of_another_center_cannot_be_imported(app, store):
    """A group named like a center that is not the user's is not mapped to it: an error of the dry run."""
    client, token = sign_in(app, USERS["data_manager"])
    dry = _dry_run(client, token, _redcap_with_groups({CENTER: OTHER_CENTER}), name="export.csv", kind="redcap")
    assert f"Data access groups without a center: {OTHER_CENTER}" in dry.text
    assert "Confirm the import" not in dry.text


def test_clean_removes_expired_and_abandoned_folders_only(tmp_path):
    settings = UploadSettings(max_bytes=MB, directory=tmp_path / "uploads", expiry=dt.timedelta(minutes=60))
    pending = PendingUploads(settings, "sqlite:///registry.sqlite")
    hour_ago = time.time() - 3601

    def upload(expires_at: float) -> str:
        folder = pending.new_folder()
        (folder / "batch.xlsx").write_bytes(b"workbook")
        return pending.keep(
            Upload("dm", (CENTER,), pending.registry, folder, folder / "batch.xlsx", "batch.xlsx", "registry", None,
                   expires_at=expires_at)
        )  # fmt: skip

    waiting, expired = upload(time.time() + 600), upload(time.time() - 1)
    abandoned = pending.new_folder()  # a dry run that never finished, an hour ago
    os.utime(abandoned, (hour_ago, hour_ago))
    just_claimed = upload(time.time() + 600)
    os.utime(settings.directory / hashlib.sha256(just_claimed.encode()).hexdigest(), (hour_ago, hour_ago))
    claimed = pending.claim(just_claimed, owner="dm", centers=frozenset({CENTER}))
    assert claimed is not None
    stranger = settings.directory / "not-ours"
    stranger.mkdir()

    pending.clean()
    assert pending.find(waiting, owner="dm", centers=frozenset({CENTER})) is not None
    assert pending.find(expired, owner="dm", centers=frozenset({CENTER})) is None
    assert not abandoned.exists()
    assert claimed.folder.exists() and (claimed.folder / "batch.xlsx").read_bytes() == b"workbook"  # being imported
    assert stranger.exists()
    assert len(list(settings.directory.iterdir())) == 3
    # Another user, or the owner with other centers, finds nothing; the owner claims it once.
    assert pending.find(waiting, owner="dm2", centers=frozenset({CENTER})) is None
    assert pending.claim(waiting, owner="dm", centers=frozenset({CENTER, OTHER_CENTER})) is None
    assert pending.claim(waiting, owner="dm", centers=frozenset({CENTER})) is not None
    assert pending.claim(waiting, owner="dm", centers=frozenset({CENTER})) is None
