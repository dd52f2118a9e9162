"""OMOP CDM v5.4 export: values on the hand-made registry, only sourced concept ids, and the files load into
the CDM v5.4 tables, created on PostgreSQL from DDL written from the specification (tests/data/omop/)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from blinareg.errors import UserError
from blinareg.exchange.omop import CONCEPT_COLUMNS, TABLE_COLUMNS, concepts, omop_tables, write_omop
from tests.exchange.factories import full_registry

DDL = Path(__file__).resolve().parents[1] / "data" / "omop"


SPEC_DDL = DDL / "cdm54_exported_tables.sql"


def _ddl_columns() -> dict[str, list[str]]:
    tables, current = {}, None
    for line in SPEC_DDL.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("CREATE TABLE"):
            current = line.split()[2]
            tables[current] = []
        elif line == ");":
            current = None
        elif current and line and not line.startswith("--"):
            tables[current].append(line.split()[0])
    return tables


def test_columns_are_those_of_the_specification():
    published = _ddl_columns()
    for name, columns in TABLE_COLUMNS.items():
        assert columns == published[name], name


def test_hand_made_registry_rows():
    t = omop_tables(full_registry())
    person = t["person"].set_index("person_source_value")
    # P1 male -> 8507, P2 female -> 8532, P3 sex unknown -> 0 (the Gender domain has two standard concepts).
    assert person["gender_concept_id"].tolist() == [8507, 8532, 0]
    assert (
        person.loc["P1", "year_of_birth"],
        person.loc["P1", "month_of_birth"],
        person.loc["P1", "day_of_birth"],
    ) == (2010, 3, 1)
    # P1: first date the diagnosis 2015-01-10, last the follow-up 2021-01-05.
    period = t["observation_period"].set_index("person_id")
    assert (period.loc[1, "observation_period_start_date"], period.loc[1, "observation_period_end_date"]) == (
        "2015-01-10",
        "2021-01-05",
    )
    assert t["death"][["person_id", "death_date", "cause_source_value"]].values.tolist() == [
        [2, "2021-03-03", "infection"]
    ]
    mrd = t["measurement"]
    assert mrd["value_as_number"].tolist() == [0.0, 0.30000000000000004, 1.2345678901234567e-05]
    assert mrd["value_source_value"].tolist()[0] == "not detected, sensitivity 0.0001"
    assert t["procedure_occurrence"]["procedure_date"].tolist() == ["2018-08-15"]
    # Both blinatumomab lines are treatment-regimen episodes, each linked to its cycle's drug exposure.
    assert t["episode"]["episode_concept_id"].tolist() == [32531, 32531]
    assert t["episode_event"][["episode_id", "event_id"]].values.tolist() == [[1, 1], [2, 2]]
    conditions = t["condition_occurrence"]
    assert conditions["condition_status_source_value"].tolist().count("relapse 1") == 1
    used = set()
    for frame in t.values():
        for column in frame.columns:
            if column.endswith("concept_id"):
                used |= set(frame[column].dropna().astype(int))
    assert used <= set(concepts()), used - set(concepts())
    # Sourced standard concepts: blinatumomab (RxNorm ingredient), intravenous, registry provenance, MRD value.
    assert set(t["drug_exposure"]["drug_concept_id"]) == {45892531}
    assert set(t["drug_exposure"]["route_concept_id"]) == {4171047}
    assert mrd["value_as_concept_id"].tolist() == [9190, 4126681, 4126681]  # not detected, detected, detected
    for table, column in (
        ("observation_period", "period_type_concept_id"),
        ("condition_occurrence", "condition_type_concept_id"),
        ("drug_exposure", "drug_type_concept_id"),
        ("measurement", "measurement_type_concept_id"),
        ("procedure_occurrence", "procedure_type_concept_id"),
        ("death", "death_type_concept_id"),
        ("episode", "episode_type_concept_id"),
    ):
        assert set(t[table][column]) == {32879}, (table, column)
    # Not sourced (docs/omop.md): B-ALL and adverse-event conditions, HSCT, the MRD measurement itself.
    assert set(t["condition_occurrence"]["condition_concept_id"]) == {0}
    assert set(t["procedure_occurrence"]["procedure_concept_id"]) == {0}
    assert set(t["measurement"]["measurement_concept_id"]) == {0}


def test_every_shipped_concept_says_where_it_is_stated(tmp_path):
    shipped = concepts()
    assert {0, 8507, 8532, 32531, 32879, 45892531, 4171047, 4126681, 9190} <= set(shipped)
    for concept_id, row in shipped.items():
        assert row["concept_name"] and row["domain_id"], concept_id
        assert len(row["source"]) > 20, (concept_id, row["source"])
    written = pd.read_csv(write_omop(full_registry(), tmp_path / "omop") / "concept_subset.csv", keep_default_na=False)
    assert written.columns.tolist() == CONCEPT_COLUMNS
    assert written["concept_id"].tolist() == list(shipped)
    assert written["source"].tolist() == [row["source"] for row in shipped.values()]


def test_export_folder_and_refusal(tmp_path):
    out = write_omop(full_registry(), tmp_path / "omop")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".blinareg-export", "concept_subset.csv", *(f"{name}.csv" for name in TABLE_COLUMNS)]
    )
    with pytest.raises(UserError, match="holds an export of format omop"):
        from blinareg.exchange.adam import write_adam  # another format into an OMOP folder is refused
        from blinareg.derive import derive

        write_adam(full_registry(), derive(full_registry()), out)


@pytest.mark.postgres
def test_export_loads_into_the_cdm_tables_on_postgresql(postgres_url, tmp_path):
    import sqlalchemy as sa

    from blinareg.synth import generate

    registry = generate(60, seed=4)
    out = write_omop(registry, tmp_path / "omop")
    engine = sa.create_engine(postgres_url)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute(SPEC_DDL.read_text(encoding="utf-8"))
            for name, columns in TABLE_COLUMNS.items():
                with cursor.copy(
                    f"COPY {name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy:
                    copy.write((out / f"{name}.csv").read_bytes())
        raw.commit()
    finally:
        raw.close()
    expected = omop_tables(registry)
    with engine.connect() as conn:
        for name in TABLE_COLUMNS:
            assert conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar() == len(expected[name]), name
        loaded = pd.read_sql(
            "SELECT person_id, gender_concept_id, person_source_value FROM person ORDER BY person_id", conn
        )
        assert loaded["person_source_value"].tolist() == sorted(registry["patient"]["patient_id"])
        total = conn.execute(sa.text("SELECT sum(value_as_number) FROM measurement")).scalar()
        assert float(total) == pytest.approx(float(expected["measurement"]["value_as_number"].sum()), rel=1e-12)
    engine.dispose()
