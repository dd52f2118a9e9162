"""Pull a live REDCap project's records through the REDCap API (`blinareg import --redcap-api URL`).

Two API calls, both POST with form-encoded parameters as REDCap's API documentation gives them:

- `content=metadata, format=json`: the project's data dictionary, checked against the registry's
  generated dictionary (`check_project_dictionary`): a dropdown or checkbox whose codes differ would
  change what the raw numbers mean, so that is an error; a registry field the project lacks is a warning.
- `content=record, action=export, format=csv, type=flat, rawOrLabel=raw, rawOrLabelHeaders=raw,
  exportCheckboxLabel=false, exportSurveyFields=false, exportDataAccessGroups=true`: the same CSV as
  the "raw data" export of the web interface, read by `blinareg.exchange.redcap.read_redcap_csv`.

The API token comes only from the environment (`TOKEN_VARIABLE`). It is sent in the request body,
never in the URL, and it never appears in a message, a log line, a file or the audit trail: error texts
from the server are scrubbed of it, and the import is recorded under the URL alone. Plain `http://` is
refused except to the loopback interface (a token sent in clear text is a leaked token).
"""

from __future__ import annotations

import dataclasses
import http.client
import ipaddress
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

import pandas as pd

from blinareg.errors import UserError
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Registry

TOKEN_VARIABLE = "BLINAREG_REDCAP_TOKEN"
DEFAULT_TIMEOUT_SECONDS = 120.0
RECORD_PARAMETERS: dict[str, str] = {
    "content": "record",
    "action": "export",
    "format": "csv",
    "type": "flat",
    "rawOrLabel": "raw",
    "rawOrLabelHeaders": "raw",
    "exportCheckboxLabel": "false",
    "exportSurveyFields": "false",
    "exportDataAccessGroups": "true",
    "returnFormat": "json",
}
METADATA_PARAMETERS: dict[str, str] = {"content": "metadata", "format": "json", "returnFormat": "json"}


@dataclasses.dataclass(frozen=True)
class RedcapDownload:
    """What the API returned: the raw records CSV and the project's data dictionary rows."""

    records_csv: str
    metadata: list[dict[str, str]]
    source: str  # how problems and the audit trail name it: the API URL (never the token)


def token_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The API token from $BLINAREG_REDCAP_TOKEN (32 or 64 hexadecimal characters)."""
    token = (os.environ if environ is None else environ).get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise UserError(
            f"--redcap-api needs the project's API token in the environment variable {TOKEN_VARIABLE} "
            f"(REDCap: API -> your token); it is never taken from the command line"
        )
    if len(token) not in (32, 64) or any(c not in "0123456789abcdefABCDEF" for c in token):
        raise UserError(
            f"{TOKEN_VARIABLE} does not hold a REDCap API token (32 hexadecimal characters); "
            f"copy it again from the project's API page"
        )
    return token


def api_source(url: str) -> str:
    """The URL as problems and the audit trail name it: scheme, host, port and path, nothing else."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str) -> tuple[str, bool]:
    """The URL to post to, and whether it is on the loopback interface."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as error:
        raise UserError(f"--redcap-api {api_source(url) if '://' in url else url!r}: not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(
            f"--redcap-api: expected the project's API URL, e.g. https://redcap.example.org/api/, not {url!r}"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UserError(
            "--redcap-api: the URL must not hold a user name, password, query or fragment; "
            f"the token is read from {TOKEN_VARIABLE}"
        )
    loopback = _is_loopback(parts.hostname)
    if parts.scheme == "http" and not loopback:
        raise UserError(
            f"--redcap-api {api_source(url)}: refusing to send the API token over plain http; "
            f"use the https:// address of the REDCap server"
        )
    return urllib.parse.urlunsplit(parts), loopback


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "[token]") if token else text


def _post(url: str, parameters: Mapping[str, str], token: str, *, loopback: bool, timeout: float) -> str:
    body = urllib.parse.urlencode({"token": token, **parameters}).encode("ascii")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json, text/csv",
            "User-Agent": "blinareg",
        },
    )
    # No proxy for the loopback interface: a proxy would see a plain-http token.
    handlers = [urllib.request.ProxyHandler({})] if loopback else []
    opener = urllib.request.build_opener(*handlers)
    where = f"REDCap API {api_source(url)} ({parameters['content']})"
    try:
        with opener.open(request, timeout=timeout) as response:
            data = response.read()
            charset = response.headers.get_content_charset() or "utf-8"
    except urllib.error.HTTPError as error:
        detail = _error_text(error.read())
        raise UserError(_scrub(f"{where}: HTTP {error.code}: {detail}", token)) from None
    except urllib.error.URLError as error:
        raise UserError(_scrub(f"{where}: cannot connect ({error.reason})", token)) from None
    except (TimeoutError, OSError, http.client.HTTPException) as error:
        raise UserError(_scrub(f"{where}: no complete answer ({type(error).__name__}: {error})", token)) from None
    try:
        text = data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise UserError(f"{where}: the answer is not {charset} text") from None
    if text.lstrip().startswith("{") and '"error"' in text[:200]:
        raise UserError(_scrub(f"{where}: {_error_text(data)}", token))
    return text.lstrip("\ufeff")


def _error_text(data: bytes) -> str:
    """REDCap's error message ({"error": "..."} or XML <error>...</error>), shortened."""
    text = data.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
            text = parsed["error"]
    except ValueError:
        start, end = text.find("<error>"), text.find("</error>")
        if 0 <= start < end:
            text = text[start + len("<error>") : end]
    return (text[:300] + "...") if len(text) > 300 else (text or "(no message)")


def download_project(url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> RedcapDownload:
    """The project's data dictionary and raw records (token: default from the environment)."""
    token = token_from_environment() if token is None else token
    target, loopback = _check_url(url)
    metadata_text = _post(target, METADATA_PARAMETERS, token, loopback=loopback, timeout=timeout)
    try:
        metadata = json.loads(metadata_text)
    except ValueError:
        raise UserError(f"REDCap API {api_source(url)} (metadata): the answer is not JSON") from None
    if not isinstance(metadata, list) or not all(isinstance(row, dict) and "field_name" in row for row in metadata):
        raise UserError(f"REDCap API {api_source(url)} (metadata): expected a list of fields with field_name")
    records = _post(target, RECORD_PARAMETERS, token, loopback=loopback, timeout=timeout)
    return RedcapDownload(records_csv=records, metadata=metadata, source=api_source(url))


def _choice_codes(text: str) -> list[str]:
    return [choice.split(",", 1)[0].strip() for choice in text.split("|") if choice.strip()]


def check_project_dictionary(metadata: list[Mapping[str, str]], *, source: str) -> list[Problem]:
    """Compare a project's data dictionary (API metadata rows) with the registry's generated one."""
    import csv
    import io

    from blinareg.exchange.redcap import redcap_data_dictionary

    ours = {row["Variable / Field Name"]: row for row in csv.DictReader(io.StringIO(redcap_data_dictionary()))}
    theirs = {str(row.get("field_name", "")): row for row in metadata}
    problems: list[Problem] = []

    def field_problem(name: str, value: object, reason: str, severity: Severity = Severity.ERROR) -> None:
        where = f"{source} data dictionary field {name}"
        problems.append(
            Problem(record_type="redcap", field=name, value=value, severity=severity, source=where, reason=reason)
        )

    for name, row in ours.items():
        found = theirs.get(name)
        if found is None:
            field_problem(
                name,
                None,
                f"the project has no field {name} ({row['Field Annotation']}); it is imported as blank",
                Severity.WARNING,
            )
            continue
        kind = row["Field Type"]
        their_kind = str(found.get("field_type", ""))
        if kind in ("dropdown", "checkbox", "yesno") or their_kind in ("dropdown", "checkbox", "radio"):
            # Radio buttons export like dropdowns, true/false like yes/no.
            same_kind = their_kind == kind or {their_kind, kind} in ({"dropdown", "radio"}, {"yesno", "truefalse"})
            if not same_kind:
                field_problem(
                    name,
                    their_kind,
                    f"the project's field is {their_kind!r}, the registry's is {kind!r}; its raw values cannot be read",
                )
                continue
            codes = _choice_codes(row["Choices, Calculations, OR Slider Labels"])
            their_codes = _choice_codes(str(found.get("select_choices_or_calculations", "")))
            if kind != "yesno" and codes != their_codes:
                field_problem(
                    name,
                    ", ".join(their_codes),
                    f"the project's choice codes differ from the registry's ({', '.join(codes)}); "
                    "a raw code would change meaning",
                )
    return problems


def read_redcap_api(
    url: str,
    *,
    token: str | None = None,
    center_id: str | None = None,
    centers: pd.DataFrame | None = None,
    status: str | None = None,
    dag_map: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> tuple[Registry, list[Problem], str]:
    """Download a project and read it like an export file: (registry, problems, source)."""
    from blinareg.exchange.redcap import DEFAULT_STATUS_LEVEL, read_redcap_csv

    download = download_project(url, token=token, timeout=timeout)
    problems = check_project_dictionary(download.metadata, source=download.source)
    registry, record_problems = read_redcap_csv(
        download.records_csv,
        source=download.source,
        center_id=center_id,
        centers=centers,
        status=status or DEFAULT_STATUS_LEVEL,
        dag_map=dag_map,
    )
    return registry, [*problems, *record_problems], download.source
