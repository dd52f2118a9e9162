"""ADaM export: variable rules (SAS v5), values on a hand-made registry, XPT/CSV read back, atomic writes, CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from blinareg.derive import derive
from blinareg.errors import UserError
from blinareg.exchange import adam
from blinareg.exchange.adam import SPECS, adam_datasets, read_adam_csv, read_xpt, write_adam
from tests.exchange.factories import full_registry


@pytest.fixture(scope="module")
def hand():
    registry = full_registry()
    return registry, adam_datasets(registry, derive(registry))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from blinareg.synth import generate

    registry = generate(120, seed=5)
    dataset = derive(registry, origin="hsct")  # origin hsct: GRFS rows with imputed (ADTF) dates too
    out = write_adam(registry, dataset, tmp_path_factory.mktemp("adam") / "out")
    return adam_datasets(registry, dataset), out


def test_variable_names_and_labels_fit_sas_transport_v5():
    for name, specs in SPECS.items():
        names = [v.name for v in specs]
        assert len(names) == len(set(names)), name
        for v in specs:
            assert re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", v.name), v.name
            assert 0 < len(v.label) <= 40 and v.label.isascii(), (v.name, v.label)
            assert v.kind in ("char", "num", "date", "flag") and v.origin in ("Assigned", "Predecessor", "Derived")
            assert v.derivation
            if v.kind == "flag":
                assert v.name.endswith("FL") or v.name == "AESER", v.name
    assert set(SPECS) == {"ADSL", "ADTTE", "ADAE", "ADRS"}


def test_adsl_values_of_the_hand_made_registry(hand):
    _, frames = hand
    adsl = frames["ADSL"].set_index("SUBJID")
    p1, p2, p3 = adsl.loc["P1"], adsl.loc["P2"], adsl.loc["P3"]
    assert p1["USUBJID"] == "BLINAREG-P1" and p1["STUDYID"] == "BLINAREG" and p1["SITEID"] == "C1"
    # P1 born 2010-03-01, first infusion 2018-06-01: 8.25 years -> AGE 8. P2 2005-07-20 -> 2020-05-01: 14.8 -> 14.
    assert (p1["AGE"], p1["AGEU"], p1["SEX"]) == (8.0, "YEARS", "M")
    assert (p2["AGE"], p2["SEX"]) == (14.0, "F")
    # P3 has no blinatumomab: no age at first infusion, no response flags (NA -> blank).
    assert np.isnan(p3["AGE"]) and p3["AGEU"] is None and p3["CRFL"] is None and p3["SEX"] == "U"
    assert (p1["ETV6FL"], p1["BCRABLFL"], p2["BCRABLFL"], p1["SYNTHFL"]) == ("Y", "N", "Y", "Y")
    assert (p1["NRELBL"], p1["RELSTAT"], p1["IRELDT"]) == (1.0, "first_relapse", pd.Timestamp("2018-05-02"))
    assert (p1["HSCTFL"], p1["HSCTREM"], p1["HSCTDT"]) == ("Y", "CR2", pd.Timestamp("2018-08-15"))
    assert (p1["CRFL"], p1["CRDT"], p1["INCRSTFL"]) == ("Y", pd.Timestamp("2018-06-29"), "N")
    assert (p2["INCRSTFL"], p2["CRFL"], p2["INDGRP"]) == ("Y", "Y", "mrd_clearance")
    assert (p1["DTHFL"], p2["DTHFL"], p2["DTHDT"], p2["DTHCAUS"]) == ("N", "Y", pd.Timestamp("2021-03-03"), "infection")
    for column in adsl.columns:
        spec = next(v for v in SPECS["ADSL"] if v.name == column)
        if spec.kind == "flag":
            assert set(adsl[column].dropna()) <= {"Y", "N"}, column


def test_adtte_values_of_the_hand_made_registry(hand):
    _, frames = hand
    t = frames["ADTTE"].set_index(["USUBJID", "PARAMCD"])
    # P2: first infusion 2020-05-01, death 2021-03-03 = 306 days later (304 to 1 March + 2).
    os2 = t.loc[("BLINAREG-P2", "OS")]
    assert (os2["AVAL"], os2["AVALU"], os2["CNSR"], os2["EVTCODE"]) == (306.0, "DAYS", 0.0, 1.0)
    assert (os2["EVNTDESC"], os2["CNSDTDSC"], os2["SRCDOM"], os2["SRCVAR"]) == ("death", None, "death", "death_date")
    assert (os2["STARTDT"], os2["ADT"], os2["ADTF"]) == (pd.Timestamp("2020-05-01"), pd.Timestamp("2021-03-03"), None)
    # P2 is in CR at the start (MRD clearance): death without relapse is NRM's event, CIR's competing event.
    cir2, nrm2 = t.loc[("BLINAREG-P2", "CIR")], t.loc[("BLINAREG-P2", "NRM")]
    assert (cir2["EVTCODE"], cir2["CMPEVFL"], cir2["CMPEVDSC"]) == (2.0, "Y", "death without relapse")
    assert (nrm2["EVTCODE"], nrm2["CMPEVFL"], nrm2["CMPEVDSC"]) == (1.0, "N", None)
    # P1 alive, last contact 2021-01-05: censored there.
    os1 = t.loc[("BLINAREG-P1", "OS")]
    assert (os1["CNSR"], os1["CNSDTDSC"], os1["SRCDOM"], os1["SRCVAR"]) == (
        1.0,
        "censored at last contact",
        "follow_up",
        "last_contact_date",
    )
    assert os1["ADT"] == pd.Timestamp("2021-01-05")
    assert frames["ADTTE"]["SRCDOM"].notna().all()


def test_adae_and_adrs_values_of_the_hand_made_registry(hand):
    _, frames = hand
    ae = frames["ADAE"].set_index(["USUBJID", "AESEQ"]).loc[("BLINAREG-P1", 1.0)]
    # CRS grade 2 (ASTCT) on 2018-06-02, the 2nd day of cycle 1 (first infusion 2018-06-01), serious.
    assert (ae["AEDECOD"], ae["AEGRSYS"], ae["ASTCTGR"], ae["ATOXGRN"]) == ("crs", "astct", 2.0, 2.0)
    assert np.isnan(ae["CTCAEGR"])
    assert (ae["ASTDT"], ae["AENDT"], ae["ASTDY"], ae["ACYCLE"]) == (
        pd.Timestamp("2018-06-02"),
        pd.Timestamp("2018-06-04"),
        2.0,
        1.0,
    )
    assert (ae["TRTEMFL"], ae["AESER"], ae["AEACN"]) == ("Y", "Y", "interrupted")
    rs = frames["ADRS"]
    p1 = rs[rs["USUBJID"] == "BLINAREG-P1"].set_index("PARAMCD")
    response, flow = p1.loc["OVRLRESP"], p1.loc["MRDFLOW"]
    # Response CR on 2018-06-29 = day 29 of treatment; flow MRD not detected at 1e-4 the same day.
    assert (response["AVALC"], response["ADT"], response["ADY"], response["ACYCLE"], response["AVAL"]) == (
        "cr",
        pd.Timestamp("2018-06-29"),
        29.0,
        1.0,
        1.0,
    )
    assert (flow["AVALC"], flow["AVAL"], flow["MRDDETFL"], flow["MRDSENS"], flow["CMRDFL"], flow["SPEC"]) == (
        "negative",
        0.0,
        "N",
        1e-4,
        "Y",
        "BM",
    )
    p2 = rs[rs["USUBJID"] == "BLINAREG-P2"]
    assert set(p2["PARAMCD"]) == {"MRDFUSQ", "MRDFLOW"}
    assert p2.loc[p2["PARAMCD"] == "MRDFUSQ", "AVAL"].item() == 1.2345678901234567e-05


def _assert_same(expected: pd.DataFrame, actual: pd.DataFrame, name: str) -> None:
    assert list(actual.columns) == list(expected.columns), name
    assert len(actual) == len(expected), name
    for column in expected.columns:
        kind = next(v.kind for v in SPECS[name] if v.name == column)
        want, got = expected[column], actual[column]
        if kind == "num":
            np.testing.assert_array_equal(got.to_numpy(dtype=float), want.to_numpy(dtype=float), err_msg=column)
        elif kind == "date":
            assert (got.isna() == want.isna()).all(), column
            assert (got[want.notna()] == want[want.notna()]).all(), column
        else:
            assert got.tolist() == want.tolist(), column


def test_xpt_reads_back_every_value(synthetic):
    frames, out = synthetic
    for name, frame in frames.items():
        back, meta = read_xpt(out / f"{name.lower()}.xpt")
        assert meta.table_name == name and meta.file_label == adam.DATASET_LABELS[name]
        specs = adam.variables(name, frame)
        assert meta.column_names_to_labels == {v.name: v.label for v in specs}
        assert all(meta.original_variable_types[v.name] == "DATE9." for v in specs if v.kind == "date")
        _assert_same(frame, back, name)
    assert frames["ADTTE"]["ADTF"].eq("Y").any()  # GRFS rows with an imputed GVHD date


def test_csv_reads_back_every_value_and_define_lists_every_variable(synthetic):
    frames, out = synthetic
    for name, frame in frames.items():
        _assert_same(frame, read_adam_csv(name, out / f"{name.lower()}.csv"), name)
    define = pd.read_csv(out / "define.csv", dtype=str, keep_default_na=False)
    for name, frame in frames.items():
        rows = define[define["dataset"] == name]
        assert rows["variable"].tolist() == list(frame.columns)
        assert (rows["derivation"] != "").all()
    text = (out / "define.md").read_text(encoding="utf-8")
    assert "## ADTTE" in text and "| CMPEVFL | Competing Event Flag |" in text and "origin: hsct" in text


def test_csv_dates_are_iso_and_flags_y_n(synthetic):
    _, out = synthetic
    raw = pd.read_csv(out / "adsl.csv", dtype=str, keep_default_na=False)
    assert raw["TRTSDT"].str.fullmatch(r"(\d{4}-\d{2}-\d{2})?").all()
    assert set(raw["CRFL"]) <= {"Y", "N", ""} and set(raw["SYNTHFL"]) == {"Y"}
    assert not raw.isin(["True", "False", "nan", "NaT", "None"]).any().any()


def test_a_failed_export_leaves_nothing_and_an_existing_export_intact(tmp_path, monkeypatch):
    registry = full_registry()
    dataset = derive(registry)
    target = write_adam(registry, dataset, tmp_path / "adam")
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def broken(name, frame, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(adam, "write_xpt", broken)
    with pytest.raises(UserError, match="cannot write: No space left on device"):
        write_adam(registry, dataset, target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adam"]  # no temporary folder left behind
    with pytest.raises(UserError, match="cannot write"):
        write_adam(registry, dataset, tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_export_refuses_a_folder_it_did_not_write(tmp_path):
    registry = full_registry()
    dataset = derive(registry)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UserError, match="not a blinareg export"):
        write_adam(registry, dataset, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="is not a folder"):
        write_adam(registry, dataset, tmp_path / "file")
    with pytest.raises(UserError, match="studyid"):
        write_adam(registry, dataset, tmp_path / "x", studyid="")


def test_too_long_text_for_sas_v5_is_a_clear_error(tmp_path):
    frame = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["S-1"], "AESEQ": [1.0], "AETERM": ["x" * 201]})
    with pytest.raises(UserError, match=r"ADAE.AETERM row 1: a value of 201 bytes"):
        adam.write_xpt("ADAE", frame, tmp_path / "adae.xpt")
    assert not (tmp_path / "adae.xpt").exists()


def test_cli_export_format_adam(tmp_path, capsys):
    from blinareg.cli.main import main
    from blinareg.exchange import write_registry

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    write_registry(full_registry(), tmp_path / "in", format="csv")
    for args in (["init"], ["import", tmp_path / "in"]):
        main([*map(str, args), "--database", url])
    main(["export", str(tmp_path / "adam"), "--format", "adam", "--database", url, "--studyid", "S1"])
    out = capsys.readouterr().out
    assert "exported ADaM ADSL (3 subject(s))" in out
    names = sorted(p.name for p in (tmp_path / "adam").iterdir())
    assert names == [
        ".blinareg-export",
        "adae.csv",
        "adae.xpt",
        "adrs.csv",
        "adrs.xpt",
        "adsl.csv",
        "adsl.xpt",
        "adtte.csv",
        "adtte.xpt",
        "define.csv",
        "define.md",
    ]
    assert read_adam_csv("ADSL", tmp_path / "adam" / "adsl.csv")["USUBJID"].tolist() == ["S1-P1", "S1-P2", "S1-P3"]
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(tmp_path / "adam2"), "--format", "adam", "--database", url, "--origin", "moon"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--origin" in err and "moon" in err and "Traceback" not in err
    assert not (tmp_path / "adam2").exists()


def test_ibm_floats_of_known_values():
    from blinareg.exchange.adam_xpt import ieee_to_ibm

    words = ieee_to_ibm(np.array([1.0, -118.625, 0.0, np.nan, 0.1, 16.0]))
    # 1 = 0.1 (hex) x 16^1 -> 41 10...; -118.625 = -0.76A (hex) x 16^2 -> C2 76 A0... (the IBM manual's example);
    # 0.1 = 0.1999999999999A (hex) x 16^0 -> 40 19 99 99 99 99 99 9A; 16 = 0.1 x 16^2 -> 42 10...
    assert [f"{int(w):016X}" for w in words] == [
        "4110000000000000",
        "C276A00000000000",
        "0000000000000000",
        "2E00000000000000",
        "401999999999999A",
        "4210000000000000",
    ]


def test_xpt_text_columns_are_utf8_blank_padded_with_missing_as_blank():
    from blinareg.exchange.adam_xpt import _char_matrix

    matrix, width = _char_matrix(["ab", None, "\u00e9", "ab", float("nan"), "x "])
    assert width == 2  # "é" is two bytes in UTF-8
    assert [bytes(row) for row in matrix] == [b"ab", b"  ", "\u00e9".encode(), b"ab", b"  ", b"x "]
    empty, width = _char_matrix([])
    assert empty.shape == (0, 1) and width == 1


def test_xpt_too_long_text_is_found_in_a_repeated_value(tmp_path):
    terms = ["fever"] * 3 + ["\u00e9" * 101] + ["fever"]  # 202 bytes in UTF-8, on the fourth row
    frame = pd.DataFrame({"STUDYID": ["S"] * 5, "USUBJID": ["S-1"] * 5, "AESEQ": [1.0] * 5, "AETERM": terms})
    with pytest.raises(UserError, match=r"ADAE.AETERM row 4: a value of 202 bytes"):
        adam.write_xpt("ADAE", frame, tmp_path / "adae.xpt")
