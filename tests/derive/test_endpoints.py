"""Time-to-event rows: known answers on the hand-built cohort (tests/derive/cohort.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from blinareg.derive import derive
from tests.derive.cohort import cohort
from tests.derive.factories import D, build, course, person, relapse, response


def _days(a, b) -> float:
    return float((b - a).days)


def _row(dataset, pid, paramcd):
    rows = dataset.time_to_event
    found = rows[(rows["patient_id"] == pid) & (rows["PARAMCD"] == paramcd)]
    assert len(found) <= 1
    return None if found.empty else found.iloc[0]


@pytest.fixture(scope="module")
def first_blin():
    return derive(cohort())


def test_os_censored_at_last_contact(first_blin):
    row = _row(first_blin, "RR1", "OS")
    assert row["STARTDT"] == pd.Timestamp(2018, 5, 10) and row["ADT"] == pd.Timestamp(2020, 6, 7)
    assert row["AVAL"] == _days(D(2018, 5, 10), D(2020, 6, 7))
    assert (row["CNSR"], row["EVTCODE"], row["EVNTDESC"]) == (1, 0, "censored at last contact")


def test_os_death_is_an_event(first_blin):
    row = _row(first_blin, "NR", "OS")
    assert (row["AVAL"], row["CNSR"], row["EVTCODE"]) == (_days(D(2019, 1, 10), D(2019, 5, 1)), 0, 1)


def test_efs_non_responder_has_event_at_day_zero(first_blin):
    row = _row(first_blin, "NR", "EFS")
    assert (row["AVAL"], row["CNSR"], row["EVTCODE"]) == (0.0, 0, 1)
    assert row["EVNTDESC"].startswith("failure to achieve CR")
    assert _row(first_blin, "NR", "DFS") is None  # never in CR: not in the DFS/CIR/NRM population


def test_patients_treated_in_cr_are_responders_for_efs(first_blin):
    row = _row(first_blin, "MC", "EFS")
    assert (row["EVNTDESC"], row["AVAL"]) == ("relapse", _days(D(2020, 1, 1), D(2021, 1, 1)))


def test_relapse_on_the_origin_day_is_not_an_event(first_blin):
    row = _row(first_blin, "SAME", "EFS")
    assert row["CNSR"] == 1
    assert _row(first_blin, "SAME", "PROS") is None


def test_cir_and_nrm_competing_codes(first_blin):
    # MC relapses then dies: CIR event 1 at the relapse, NRM competing 2.
    cir, nrm = _row(first_blin, "MC", "CIR"), _row(first_blin, "MC", "NRM")
    assert (cir["EVTCODE"], nrm["EVTCODE"], cir["CNSR"], nrm["CNSR"]) == (1, 2, 0, 0)
    assert cir["ADT"] == nrm["ADT"] == pd.Timestamp(2021, 1, 1)
    # NRMD dies without relapse: CIR competing 2, NRM event 1.
    cir, nrm = _row(first_blin, "NRMD", "CIR"), _row(first_blin, "NRMD", "NRM")
    assert (cir["EVTCODE"], nrm["EVTCODE"]) == (2, 1)
    assert cir["EVNTDESC"] == "death without relapse"


def test_dfs_starts_at_the_cr_date(first_blin):
    row = _row(first_blin, "RR1", "DFS")
    assert row["STARTDT"] == pd.Timestamp(2018, 6, 7)  # CRh counts as CR
    assert row["AVAL"] == _days(D(2018, 6, 7), D(2020, 6, 7))
    assert _row(first_blin, "MC", "DFS")["STARTDT"] == pd.Timestamp(2020, 1, 1)  # in CR at the start


def test_post_relapse_os_starts_at_the_relapse(first_blin):
    row = _row(first_blin, "MC", "PROS")
    assert row["STARTDT"] == pd.Timestamp(2021, 1, 1)
    assert (row["AVAL"], row["EVTCODE"]) == (_days(D(2021, 1, 1), D(2021, 6, 1)), 1)


def test_patient_without_origin_has_no_rows(first_blin):
    assert first_blin.time_to_event[first_blin.time_to_event["patient_id"] == "NOBLIN"].empty
    assert "GRFS" not in set(first_blin.time_to_event["PARAMCD"])  # GRFS only from HSCT


def test_origin_diagnosis_includes_untreated_patients():
    dataset = derive(cohort(), origin="diagnosis")
    row = _row(dataset, "NOBLIN", "OS")
    assert row["AVAL"] == _days(D(2019, 1, 1), D(2021, 1, 1))
    # EFS from diagnosis has no non-response event; NR's first relapse after diagnosis is the event.
    efs = _row(dataset, "NR", "EFS")
    assert (efs["EVNTDESC"], efs["ADT"]) == ("relapse", pd.Timestamp(2019, 1, 1))
    assert _row(dataset, "NR", "PROS")["STARTDT"] == pd.Timestamp(2019, 1, 1)


def test_origin_relapse_starts_at_the_index_relapse():
    dataset = derive(cohort(), origin="relapse")
    assert _row(dataset, "RR1", "OS")["STARTDT"] == pd.Timestamp(2018, 5, 1)
    assert _row(dataset, "NR", "EFS")["AVAL"] == 0.0  # non-response counts from the relapse origin too
    assert _row(dataset, "MC", "OS") is None  # no relapse before blinatumomab


def test_origin_hsct_grfs_and_dfs_from_hsct():
    dataset = derive(cohort(), origin="hsct")
    assert set(dataset.time_to_event["patient_id"]) == {"RR1", "SAME"}
    grfs = _row(dataset, "RR1", "GRFS")  # grade 3 acute GVHD: imputed at day 100
    assert (grfs["AVAL"], grfs["CNSR"], grfs["ADTF"]) == (100.0, 0, "Y")
    grfs = _row(dataset, "SAME", "GRFS")  # moderate chronic GVHD only: event at the end of follow-up
    assert grfs["ADT"] == pd.Timestamp(2021, 3, 1) and grfs["EVTCODE"] == 1
    assert "chronic GVHD" in grfs["EVNTDESC"]
    dfs = _row(dataset, "RR1", "DFS")
    assert dfs["STARTDT"] == pd.Timestamp(2018, 8, 1) and dfs["ORIGIN"] == "hsct"
    assert any("moderate or severe" in line for line in dataset.metadata["conventions"])


def test_as_of_censors_and_ignores_later_events():
    dataset = derive(cohort(), as_of="2020-06-01")
    row = _row(dataset, "MC", "OS")  # dies 2021-06-01, after the cut-off
    assert (row["ADT"], row["CNSR"], row["EVNTDESC"]) == (
        pd.Timestamp(2020, 6, 1),
        1,
        "censored at data cut-off (as_of)",
    )
    assert _row(dataset, "MC", "CIR")["EVTCODE"] == 0  # relapse 2021-01-01 ignored
    assert _row(dataset, "NR", "OS")["CNSR"] == 0  # death before the cut-off still counts
    assert _row(dataset, "RR1", "OS")["ADT"] == pd.Timestamp(2020, 6, 1)
    assert dataset.metadata["as_of"] == "2020-06-01"
    assert dataset.patients.set_index("patient_id").loc["MC", "relapse_after_origin_date"] is pd.NaT


def test_origin_after_as_of_gives_no_rows():
    dataset = derive(cohort(), as_of=D(2019, 1, 1))
    assert set(dataset.time_to_event["patient_id"]) == {"RR1"}


def test_mrd_definition_of_non_response():
    dataset = derive(cohort(), non_responder="no_complete_mrd_response")
    # NRMD is in CR at the start but has no MRD measurement: a non-responder under this definition.
    assert _row(dataset, "NRMD", "EFS")["AVAL"] == 0.0
    assert _row(dataset, "NRMD", "EFS")["EVNTDESC"] == "failure to achieve a complete MRD response"
    assert _row(dataset, "MC", "EFS")["EVNTDESC"] == "relapse"  # complete MRD response after cycle 1
    assert dataset.metadata["non_responder"] == "no_complete_mrd_response"


def test_relapse_and_death_on_the_same_day_count_as_relapse():
    registry = build(
        person("X", death=D(2020, 6, 1)),
        relapse("X", 1, D(2019, 1, 1)),
        course("X", D(2019, 2, 1)),
        response("X", D(2019, 3, 1), "cr"),
        relapse("X", 2, D(2020, 6, 1)),
    )
    dataset = derive(registry)
    assert _row(dataset, "X", "CIR")["EVTCODE"] == 1
    assert _row(dataset, "X", "NRM")["EVTCODE"] == 2
    assert _row(dataset, "X", "EFS")["EVNTDESC"] == "relapse"


def test_all_alive_everyone_censored():
    registry = build(person("A"), course("A", D(2019, 1, 1)), person("B"), course("B", D(2019, 2, 1)))
    rows = derive(registry).time_to_event
    assert set(rows["PARAMCD"]) == {"OS", "EFS"}  # no response recorded: not in CR, no DFS
    assert rows.loc[rows["PARAMCD"] == "OS", "CNSR"].tolist() == [1, 1]


def test_time_to_event_invariants(first_blin):
    rows = first_blin.time_to_event
    assert (rows["AVAL"] >= 0).all()
    assert ((rows["CNSR"] == 1) == (rows["EVTCODE"] == 0)).all()
    assert (rows["AVAL"] == (rows["ADT"] - rows["STARTDT"]).dt.days).all()
    assert not rows.duplicated(["patient_id", "PARAMCD"]).any()
    assert rows.loc[rows["PARAMCD"].isin(["OS", "EFS", "DFS", "PROS", "GRFS"]), "EVTCODE"].isin([0, 1]).all()
