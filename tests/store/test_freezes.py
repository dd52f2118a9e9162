"""Analysis freezes: the exact record set (the lossless CSV export, zipped), its hash, and nothing locked."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile

import pytest
import sqlalchemy as sa

from blinareg.errors import UserError
from blinareg.exchange import write_registry
from blinareg.store import head_revision
from blinareg.store.freezes import Freezes, pack_registry, unpack_registry
from blinareg.store.schema import analysis_freeze
from tests.store.factories import registry_of
from tests.store.test_store import assert_same_registry


@pytest.fixture
def filled(store):
    store.import_registry(registry_of("P1", "P2", "P3", centers=("C1", "C2")), source="seed")
    return store


def test_the_archive_holds_the_byte_identical_csv_export(tmp_path):
    registry = registry_of("P1", "P2")
    exported = write_registry(registry, tmp_path / "export", format="csv")
    content = pack_registry(registry)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert members == {p.name: p.read_bytes() for p in sorted(exported.iterdir())}
    assert pack_registry(registry) == content  # deterministic: the same records, the same bytes
    assert_same_registry(unpack_registry(content), registry)


def test_a_freeze_stores_records_hash_who_when_and_revision(filled):
    freezes = Freezes(filled)
    freeze = freezes.create("interim 2026", actor="investigator", as_of=dt.date(2023, 1, 1))
    assert (freeze.id, freeze.name, freeze.created_by, freeze.centers, freeze.as_of) == (
        1,
        "interim 2026",
        "investigator",
        None,
        dt.date(2023, 1, 1),
    )
    assert freeze.schema_revision == head_revision()
    assert freeze.record_counts["patient"] == 3 and freeze.record_counts["center"] == 2
    content = freezes.content(freeze.id)
    assert freeze.content_sha256 == hashlib.sha256(content).hexdigest() and freeze.size_bytes == len(content)
    assert content == pack_registry(filled.load_registry())
    assert freezes.verify(freeze.id).ok
    assert [f.id for f in freezes.list()] == [1] and freezes.get(1) == freeze
    assert "analysis freeze 1 'interim 2026' (SHA-256 " in freeze.citation
    (entry,) = filled.audit_entries(action="freeze")
    assert (entry.actor, entry.record_type, entry.record_key) == ("investigator", "analysis_freeze", {"freeze_id": 1})
    assert entry.after["content_sha256"] == freeze.content_sha256 and entry.after["as_of"] == "2023-01-01"


def test_later_edits_change_the_live_records_but_not_the_freeze(filled):
    freezes = Freezes(filled)
    before = filled.load_registry()
    freeze = freezes.create("lock", actor="inv")
    relapse = filled.load_registry(["P1"]).records("relapse")[0]
    filled.edit_record(relapse.model_copy(update={"marrow_blasts_pct": 90.0}), actor="dm")
    filled.delete_record("patient", "P3", actor="dm")
    assert filled.load_registry().counts()["patient"] == 2
    assert freezes.verify(freeze.id).ok
    assert_same_registry(freezes.registry(freeze.id), before)
    assert freezes.create("after the edits", actor="inv").content_sha256 != freeze.content_sha256


def test_a_freeze_of_some_centers_holds_only_their_patients(filled):
    freeze = Freezes(filled).create("C2 only", actor="inv", centers=("C2",))
    frozen = Freezes(filled).registry(freeze.id)
    assert freeze.centers == ("C2",)
    assert list(frozen["patient"]["patient_id"]) == ["P2"]
    assert list(frozen["center"]["center_id"]) == ["C2"]
    assert_same_registry(frozen, filled.load_registry().subset(["P2"]))


def test_a_damaged_freeze_fails_verification_and_is_never_analysed(filled):
    freezes = Freezes(filled)
    freeze = freezes.create("lock", actor="inv")
    engine = sa.create_engine(filled.settings.url)
    with engine.begin() as connection:
        other = pack_registry(registry_of("P1"))
        connection.execute(sa.update(analysis_freeze).values(content=other))
    engine.dispose()
    check = freezes.verify(freeze.id)
    assert not check.ok and check.stored_sha256 == freeze.content_sha256
    assert check.computed_sha256 == hashlib.sha256(other).hexdigest()
    with pytest.raises(UserError, match="analysis freeze 1 is damaged"):
        freezes.registry(freeze.id)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": " ", "actor": "inv"}, "a freeze needs a name"),
        ({"name": "x", "actor": ""}, "say who makes the freeze"),
        ({"name": "x", "actor": "inv", "centers": ("C9",)}, "no stored center 'C9'"),
    ],
)
def test_bad_freeze_requests_are_refused_and_store_nothing(filled, kwargs, message):
    with pytest.raises(UserError, match=message):
        Freezes(filled).create(**kwargs)
    assert Freezes(filled).list() == [] and filled.audit_entries(action="freeze") == []


def test_an_empty_registry_has_nothing_to_freeze_and_unknown_ids_are_named(store):
    with pytest.raises(UserError, match="nothing to freeze"):
        Freezes(store).create("x", actor="inv")
    for call in (Freezes(store).get, Freezes(store).verify, Freezes(store).registry):
        with pytest.raises(UserError, match="no analysis freeze with id 7"):
            call(7)
