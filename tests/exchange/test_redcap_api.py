"""`blinareg.exchange.redcap_api` against a REDCap API stand-in on 127.0.0.1 (tests/exchange/redcap_standin.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from blinareg.errors import UserError
from blinareg.exchange.redcap import SKIPPED_FORM_CHECK, load_dag_map, read_redcap_export
from blinareg.exchange.redcap_api import (
    METADATA_PARAMETERS,
    RECORD_PARAMETERS,
    TOKEN_VARIABLE,
    api_source,
    check_project_dictionary,
    download_project,
    read_redcap_api,
    token_from_environment,
)
from tests.exchange.factories import assert_same_registry
from tests.exchange.redcap_standin import RedcapStandIn, metadata_of

DATA = Path(__file__).resolve().parents[1] / "data"
EXPORT = DATA / "redcap_export_dags.csv"
TOKEN = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def standin():
    server = RedcapStandIn(token=TOKEN, records_csv=EXPORT.read_text(encoding="utf-8")).start()
    try:
        yield server
    finally:
        server.stop()


def test_pulls_records_and_metadata_with_the_documented_parameters(standin):
    download = download_project(standin.url, token=TOKEN, timeout=10)
    assert [r["content"] for r in standin.requests] == ["metadata", "record"]
    metadata_request, record_request = standin.requests
    assert metadata_request == {"token": TOKEN, **METADATA_PARAMETERS}
    assert record_request == {"token": TOKEN, **RECORD_PARAMETERS}
    assert (
        record_request["format"],
        record_request["type"],
        record_request["rawOrLabel"],
        record_request["exportDataAccessGroups"],
    ) == ("csv", "flat", "raw", "true")
    assert download.records_csv == EXPORT.read_text(encoding="utf-8")
    assert download.source == standin.url and TOKEN not in download.source
    assert check_project_dictionary(download.metadata, source=download.source) == []


def test_api_import_equals_the_file_import(standin):
    dag_map = load_dag_map(DATA / "redcap_dag_map.toml")
    registry, problems, source = read_redcap_api(standin.url, token=TOKEN, dag_map=dag_map, timeout=10)
    expected, expected_problems = read_redcap_export(EXPORT, dag_map=dag_map)
    assert_same_registry(expected, registry)
    assert len([p for p in problems if p.check == SKIPPED_FORM_CHECK]) == 7
    assert [p.reason for p in problems] == [p.reason for p in expected_problems]
    assert problems[0].source == f"{standin.url} record P02 instrument relapse instance 1"
    assert source == standin.url


def test_wrong_token_is_reported_as_redcap_says_without_the_token(standin, caplog):
    other = "FEDCBA9876543210FEDCBA9876543210"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UserError) as raised:
        download_project(standin.url, token=other, timeout=10)
    message = str(raised.value)
    assert message == (f"REDCap API {standin.url} (metadata): HTTP 403: You do not have permissions to use the API")
    assert other not in message and other not in caplog.text and TOKEN not in caplog.text


def test_server_errors_are_scrubbed_of_the_token(standin):
    standin.answer = lambda parameters: (
        400,
        "application/json",
        '{"error": "token %s is not valid here"}' % parameters["token"],
    )
    with pytest.raises(UserError) as raised:
        download_project(standin.url, token=TOKEN, timeout=10)
    assert TOKEN not in str(raised.value) and "token [token] is not valid here" in str(raised.value)


def test_changed_choice_codes_in_the_project_are_errors(standin):
    for row in standin.metadata:
        if row["field_name"] == "pat_sex":
            row["select_choices_or_calculations"] = "1, Female | 2, Male | 9, Unknown"
    standin.metadata = [row for row in standin.metadata if row["field_name"] != "dx_wbc_per_nl"]
    problems = check_project_dictionary(standin.metadata, source=standin.url)
    assert [(p.field, p.severity.value) for p in problems] == [("pat_sex", "error"), ("dx_wbc_per_nl", "warning")]
    assert "choice codes differ" in problems[0].reason and problems[0].value == "1, 2, 9"
    assert problems[0].source == f"{standin.url} data dictionary field pat_sex"


def test_token_comes_from_the_environment_only():
    assert token_from_environment({TOKEN_VARIABLE: f" {TOKEN}\n"}) == TOKEN
    with pytest.raises(UserError, match=f"needs the project's API token in the environment variable {TOKEN_VARIABLE}"):
        token_from_environment({})
    with pytest.raises(UserError) as raised:
        token_from_environment({TOKEN_VARIABLE: "not-a-token-" + TOKEN})
    assert TOKEN not in str(raised.value)


def test_urls_that_would_leak_the_token_are_refused():
    for url, needle in [
        ("http://redcap.example.org/api/", "refusing to send the API token over plain http"),
        (f"https://redcap.example.org/api/?token={TOKEN}", "must not hold"),
        ("https://user:secret@redcap.example.org/api/", "must not hold"),
        ("ftp://redcap.example.org/api/", "expected the project's API URL"),
    ]:
        with pytest.raises(UserError, match=needle) as raised:
            download_project(url, token=TOKEN, timeout=1)
        assert TOKEN not in str(raised.value) and "secret" not in str(raised.value)
    assert api_source("https://redcap.example.org:8443/api/") == "https://redcap.example.org:8443/api/"


def test_nothing_listening(standin):
    url = standin.url
    standin.stop()
    with pytest.raises(UserError, match="cannot connect") as raised:
        download_project(url, token=TOKEN, timeout=5)
    assert TOKEN not in str(raised.value)


def test_metadata_of_the_standin_is_the_dictionary():
    from blinareg.exchange.redcap import redcap_data_dictionary

    rows = metadata_of(redcap_data_dictionary())
    assert rows[0]["field_name"] == "record_id" and {"field_type", "field_annotation"} <= set(rows[0])


def test_a_broken_answer_is_a_user_error(standin):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)
    port = listener.getsockname()[1]
    import threading

    def answer_badly():
        try:
            connection, _ = listener.accept()
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort")
            connection.close()
        except OSError:
            pass

    thread = threading.Thread(target=answer_badly, daemon=True)
    thread.start()
    try:
        with pytest.raises(UserError, match="no complete answer") as raised:
            download_project(f"http://127.0.0.1:{port}/api/", token=TOKEN, timeout=5)
        assert TOKEN not in str(raised.value)
    finally:
        thread.join(timeout=5)
        listener.close()
