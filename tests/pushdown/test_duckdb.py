"""DuckDB counts ADTTE Parquet and CSV files in one GROUP BY: exactly the pandas counts, and the estimates
finished from them equal the patient-level estimators to 1e-12."""

from __future__ import annotations

import pandas as pd
import pytest

from blinareg.errors import UserError
from blinareg.pushdown.counting import CountRequest, count_in_memory, count_query, sorted_counts, table_of
from blinareg.pushdown.engines import count_duckdb, duckdb_sql
from tests.pushdown.checks import (
    HAND_COUNTS_BY_ARM,
    REQUESTS,
    assert_counts_equal,
    assert_estimates_equal,
    hand_adtte,
    synthetic_adam,
    write_files,
)

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    adtte, adsl = synthetic_adam()
    return adtte, adsl, write_files(tmp_path_factory.mktemp("adam"), adtte, adsl)


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    adtte, adsl = hand_adtte()
    return adtte, adsl, write_files(tmp_path_factory.mktemp("hand"), adtte, adsl)


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.endpoint}-{r.by}-{r.strata}")
def test_counts_and_estimates_equal_in_memory(synthetic, file_format, request_):
    adtte, adsl, files = synthetic
    counts = count_duckdb(request_, *files[file_format])
    assert_counts_equal(counts, request_, adtte, adsl)
    assert_estimates_equal(counts, request_, adtte, adsl)
    assert counts.left_out == 0


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_hand_counted_table_and_the_patient_left_out(hand, file_format):
    adtte, adsl, files = hand
    counts = count_duckdb(CountRequest("OS", by="ARM"), *files[file_format])
    pd.testing.assert_frame_equal(sorted_counts(counts.frame), HAND_COUNTS_BY_ARM)
    assert counts.left_out == 1  # P6 has no ARM


def test_a_variable_in_adtte_needs_no_adsl(hand):
    adtte, adsl, files = hand
    with_arm = adtte.merge(adsl, on="USUBJID")
    path = files["parquet"][0].with_name("adtte_arm.parquet")
    with_arm.to_parquet(path)
    counts = count_duckdb(CountRequest("OS", by="ARM"), path)
    pd.testing.assert_frame_equal(sorted_counts(counts.frame), HAND_COUNTS_BY_ARM)


def test_the_query_is_one_group_by_with_the_endpoint_as_a_literal():
    adtte = table_of("adtte", ["USUBJID", "PARAMCD", "AVAL", "CNSR", "EVTCODE"])
    sql = duckdb_sql(count_query(CountRequest("O'S"), adtte))
    assert sql.count("GROUP BY") == 1
    assert "'O''S'" in sql  # quoted as an SQL string, not spliced


def test_unknown_variable_names_it_and_the_columns(hand):
    adtte, adsl, files = hand
    with pytest.raises(UserError, match="--by/--strata ARMS: no such column in ADTTE or ADSL.*ARM"):
        count_duckdb(CountRequest("OS", by="ARMS"), *files["parquet"])


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        count_duckdb(CountRequest("OS"), tmp_path / "nope.parquet")
    other = tmp_path / "adtte.json"
    other.write_text("{}")
    with pytest.raises(UserError, match="reads .parquet or .csv"):
        count_duckdb(CountRequest("OS"), other)


def test_adtte_without_the_status_column(tmp_path):
    pd.DataFrame({"USUBJID": ["P1"], "PARAMCD": ["CIR"], "AVAL": [1.0], "CNSR": [0]}).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(UserError, match="no column EVTCODE"):
        count_duckdb(CountRequest("CIR", competing=True), tmp_path / "a.parquet")


@pytest.mark.parametrize(
    ("change", "request_", "message"),
    [
        ({"AVAL": None}, CountRequest("OS"), "ADTTE rows with PARAMCD = OS: 1 without AVAL"),
        ({"AVAL": -3.0}, CountRequest("OS"), "AVAL = -3.0 is negative"),
        ({"CNSR": None}, CountRequest("OS"), "1 with CNSR missing or not one of 0, 1"),
        ({"CNSR": 2}, CountRequest("OS"), "1 with CNSR missing or not one of 0, 1"),
        ({"EVTCODE": 7}, CountRequest("OS", competing=True), "1 with EVTCODE missing or not one of 0, 1, 2"),
    ],
)
def test_bad_rows_are_refused_never_counted_as_censored(tmp_path, change, request_, message):
    adtte, _ = hand_adtte()
    adtte = adtte.astype({"AVAL": "float64", "CNSR": "float64", "EVTCODE": "float64"})
    for column, value in change.items():
        adtte.loc[1, column] = value
    adtte.to_parquet(tmp_path / "adtte.parquet")
    with pytest.raises(UserError, match=message):
        count_duckdb(request_, tmp_path / "adtte.parquet")
    with pytest.raises(UserError, match=message):
        count_in_memory(request_, adtte)


def test_a_folder_of_parquet_files(synthetic, tmp_path):
    adtte, adsl, _ = synthetic
    half = len(adtte) // 2
    adtte.iloc[:half].to_parquet(tmp_path / "part-0.parquet")
    adtte.iloc[half:].to_parquet(tmp_path / "part-1.parquet")
    request = CountRequest("OS", by="SEX")
    adsl_path = tmp_path.parent / "adsl_for_folder.parquet"
    adsl.to_parquet(adsl_path)
    assert_counts_equal(count_duckdb(request, tmp_path, adsl_path), request, adtte, adsl)
