"""A stand-in for a REDCap server's API, on 127.0.0.1, answering as REDCap's API documentation says.

POST form-encoded parameters to the API URL; `token` selects the project. Implemented: content=metadata
(format csv/json) and content=record (action=export, type=flat, format csv/json, rawOrLabel=raw,
exportDataAccessGroups). Errors as REDCap returns them with returnFormat=json: HTTP 403
{"error": "You do not have permissions to use the API"} for an unknown token, HTTP 400 {"error": ...}
for a parameter it does not take. The server runs in a daemon thread; `stop()` ends it.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from blinareg.exchange.redcap import DICTIONARY_COLUMNS, redcap_data_dictionary

# REDCap's API metadata keys, in the order of the Data Dictionary's columns.
METADATA_KEYS = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)


def metadata_of(dictionary_csv: str) -> list[dict[str, str]]:
    """API metadata rows of a Data Dictionary CSV."""
    rows = csv.DictReader(io.StringIO(dictionary_csv))
    return [{key: row.get(column) or "" for key, column in zip(METADATA_KEYS, DICTIONARY_COLUMNS)} for row in rows]


class RedcapStandIn:
    def __init__(self, *, token: str, records_csv: str, metadata: list[dict[str, str]] | None = None) -> None:
        self.token = token
        self.records_csv = records_csv
        self.metadata = metadata if metadata is not None else metadata_of(redcap_data_dictionary())
        self.requests: list[dict[str, str]] = []  # the parameters of every request, token included
        standin = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

            def do_GET(self) -> None:
                self._answer(405, "application/json", json.dumps({"error": "The API accepts POST requests only"}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1_000_000)).decode("utf-8")
                parameters = {k: v[-1] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
                standin.requests.append(parameters)
                status, content_type, text = standin.answer(parameters)
                self._answer(status, content_type, text)

            def _answer(self, status: int, content_type: str, text: str) -> None:
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "RedcapStandIn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def answer(self, p: dict[str, str]) -> tuple[int, str, str]:
        def error(status: int, message: str) -> tuple[int, str, str]:
            return status, "application/json", json.dumps({"error": message})

        if p.get("token") != self.token:
            return error(403, "You do not have permissions to use the API")
        content = p.get("content")
        fmt = p.get("format", "xml")
        if content == "metadata":
            if fmt == "json":
                return 200, "application/json", json.dumps(self.metadata)
            if fmt == "csv":
                buffer = io.StringIO()
                writer = csv.DictWriter(buffer, fieldnames=METADATA_KEYS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(self.metadata)
                return 200, "text/csv", buffer.getvalue()
            return error(400, f'The value of the parameter "format" ("{fmt}") is not valid')
        if content == "record":
            if p.get("action", "export") != "export" or p.get("type", "flat") != "flat":
                return error(400, "Only the export of flat records is available here")
            rows = list(csv.DictReader(io.StringIO(self.records_csv)))
            header = list(rows[0]) if rows else []
            if p.get("exportDataAccessGroups") != "true":
                header = [c for c in header if c != "redcap_data_access_group"]
            if p.get("rawOrLabel", "raw") != "raw":
                return error(400, "This stand-in exports raw values only")
            if fmt == "csv":
                buffer = io.StringIO()
                writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore", lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
                return 200, "text/csv", buffer.getvalue()
            if fmt == "json":
                return 200, "application/json", json.dumps([{k: r[k] for k in header} for r in rows])
            return error(400, f'The value of the parameter "format" ("{fmt}") is not valid')
        return error(400, 'The value of the parameter "content" is not valid')
