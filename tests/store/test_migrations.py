"""The Alembic migrations give exactly `schema.metadata`, and the database refuses obviously wrong data."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from blinareg.records.models import RECORD_TYPES
from blinareg.store import Store, StoreNotInitialized, alembic_config, head_revision
from blinareg.store.schema import metadata


def _upgraded_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    return engine


def test_upgrade_head_gives_the_schema_metadata(database_url):
    engine = _upgraded_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == head_revision()
    engine.dispose()


def test_record_tables_have_every_model_field(database_url):
    engine = _upgraded_engine(database_url)
    inspector = sa.inspect(engine)
    for record_type, model in RECORD_TYPES.items():
        # Columns added by a later migration come last; reading and writing name every column.
        extra = ["row_version", *(["deleted_at", "deleted_by"] if record_type == "patient" else [])]
        assert sorted(c["name"] for c in inspector.get_columns(record_type)) == sorted([*model.model_fields, *extra])
        assert inspector.get_pk_constraint(record_type)["constrained_columns"] == list(model.key)
    engine.dispose()


def _literals(sql: str) -> tuple[set[str], set[float]]:
    """Quoted codes and numbers in a CHECK expression (PostgreSQL rewrites the text, not these)."""
    quoted = set(re.findall(r"'([^']*)'", sql))
    unquoted = re.sub(r"'[^']*'", "", sql)
    numbers = {float(n) for n in re.findall(r"(?<![A-Za-z_0-9.])-?\d+(?:\.\d+)?(?:e-?\d+)?", unquoted)}
    return quoted, numbers


def test_check_constraints_match_the_metadata(database_url):
    """compare_metadata ignores CHECK constraints; a new enum code or range needs a migration too."""
    engine = _upgraded_engine(database_url)
    inspector = sa.inspect(engine)
    compared = 0
    for table in metadata.sorted_tables:
        reflected = {c["name"]: _literals(c["sqltext"]) for c in inspector.get_check_constraints(table.name)}
        for constraint in table.constraints:
            if not isinstance(constraint, sa.CheckConstraint):
                continue
            text = str(constraint.sqltext.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
            if engine.dialect.name == "postgresql" and "IN (0, 1)" in text:
                continue  # a Boolean's CHECK exists only where booleans are integers (SQLite)
            assert constraint.name in reflected, (table.name, constraint.name)
            assert reflected[constraint.name] == _literals(text), (table.name, constraint.name)
            compared += 1
    assert compared > 50
    engine.dispose()


def _insert(connection: sa.Connection, table: str, **values) -> None:
    connection.execute(metadata.tables[table].insert().values(**values))


@pytest.fixture
def engine(database_url):
    store = Store.open(database_url)
    store.init()
    store.close()
    engine = sa.create_engine(database_url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))
    with engine.begin() as connection:
        _insert(connection, "center", center_id="C1", name="One", synthetic=False)
        _insert(connection, "patient", patient_id="P1", center_id="C1", sex="male", birth_date=sa.func.current_date())
    yield engine
    engine.dispose()


_VALID_ROWS = {
    "patient": {"patient_id": "P2", "center_id": "C1", "sex": "male"},
    "relapse": {
        "patient_id": "P1",
        "relapse_number": 1,
        "site_bone_marrow": True,
        "site_cns": False,
        "site_testis": False,
        "site_other_extramedullary": False,
    },
    "body_measurement": {"patient_id": "P1", "weight_kg": 30.0},
}
_DATE_COLUMN = {"patient": "birth_date", "relapse": "relapse_date", "body_measurement": "measurement_date"}


def _row(table: str, **changes) -> dict:
    return {**_VALID_ROWS[table], _DATE_COLUMN[table]: sa.func.current_date(), **changes}


@pytest.mark.parametrize("table", list(_VALID_ROWS))
def test_a_valid_row_is_accepted(engine, table):
    with engine.begin() as connection:
        _insert(connection, table, **_row(table))


@pytest.mark.parametrize(
    "table, changes, constraint",
    [
        ("patient", {"sex": "M"}, "ck_patient_sex"),
        ("patient", {"center_id": "C9"}, "fk_patient_center_id_center"),
        ("patient", {"sex": None}, "sex"),
        ("relapse", {"relapse_number": 0}, "ck_relapse_relapse_number"),
        ("relapse", {"site_cns": None}, "site_cns"),
        ("relapse", {"patient_id": "P9"}, "fk_relapse_patient_id_patient"),
        ("body_measurement", {"weight_kg": 0.0}, "ck_body_measurement_weight_kg"),
    ],
)
def test_database_refuses_wrong_rows(engine, table, changes, constraint):
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as connection:
        _insert(connection, table, **_row(table, **changes))
    message = str(caught.value.orig)
    # PostgreSQL names the constraint (the column for NOT NULL); SQLite names a CHECK or column, not an FK.
    if engine.dialect.name == "sqlite" and constraint.startswith("fk_"):
        assert "FOREIGN KEY" in message, message
    else:
        assert constraint in message, message


def test_deleting_a_patient_cascades_and_a_used_center_is_kept(engine):
    with engine.begin() as connection:
        _insert(
            connection, "follow_up", patient_id="P1", last_contact_date=sa.func.current_date(), vital_status="alive"
        )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.delete(metadata.tables["center"]))
    with engine.begin() as connection:
        connection.execute(sa.delete(metadata.tables["patient"]))
        assert connection.execute(sa.select(sa.func.count()).select_from(metadata.tables["follow_up"])).scalar() == 0


def test_audit_log_is_append_only(engine):
    audit = metadata.tables["audit_log"]
    with engine.begin() as connection:
        connection.execute(
            audit.insert().values(
                at=sa.func.current_timestamp(),
                actor="t",
                action="edit",
                record_type="patient",
                record_key="{}",
                batch_id="b",
            )
        )
    for statement in (sa.update(audit).values(actor="someone else"), sa.delete(audit)):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE audit_log")
    with engine.connect() as connection:
        assert connection.execute(sa.select(audit.c.actor)).scalars().all() == ["t"]


def test_upgrading_a_filled_database_keeps_its_records(database_url):
    """A registry written at revision 0002 (before adverse_event.hypotension) upgraded by `init`."""
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0002")
        connection.exec_driver_sql("INSERT INTO center (center_id, name, synthetic) VALUES ('C1', 'One', false)")
        connection.exec_driver_sql(
            "INSERT INTO patient (patient_id, center_id, sex, birth_date) VALUES ('P1', 'C1', 'male', '2010-01-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO adverse_event (patient_id, event_number, term, grading_system, grade, onset_date, serious, "
            "action_taken) VALUES ('P1', 1, 'crs', 'astct', 2, '2021-01-05', false, 'none')"
        )
    engine.dispose()
    store = Store.open(database_url)
    with pytest.raises(StoreNotInitialized, match="has schema revision 0002.*run `blinareg init` to upgrade"):
        store.load_registry()
    store.init()
    events = store.load_registry().tables["adverse_event"]
    assert events["patient_id"].tolist() == ["P1"] and events["hypotension"].isna().all()
    assert store.load_registry().counts()["patient"] == 1
    store.close()
