"""What the statistician and the investigator take out of the web registry (issues #11 and #13).

`GET /api/v1/exports/deidentified?format=adam|omop|csv`: a zip of the de-identified export of the caller's
centers (keyed pseudonyms, shifted dates, no free text: `blinareg.exchange.deidentify`, the code path of
`blinareg export --deidentify`) with the disclosure check (k = 5) as `disclosure.txt`. The pseudonym key is a
server-side file named by $BLINAREG_DEID_KEY_FILE (created, mode 0600, on first use); it is never in a zip.
The same data and key give the same bytes.

`GET /api/v1/analysis/results`: the outcomes report's results.json for the caller's centers; the statistician's
copy has every calendar date (cut-off, accrual, dates in the text) reduced to its year. Both audited.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import asdict, fields
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from blinareg.errors import UserError
from blinareg.records.registry import Registry
from blinareg.store.scoped import CenterScope
from blinareg.web.deps import REPORT_RUNNERS, Principal, require_roles, scoped_data

router = APIRouter(prefix="/api/v1")
report_runners = require_roles(*REPORT_RUNNERS)
Scope = Annotated[CenterScope, Depends(scoped_data)]

KEY_FILE_SETTING = "BLINAREG_DEID_KEY_FILE"
DISCLOSURE_K = 5
EXPORT_FORMATS = ("adam", "omop", "csv")
DATES_AS_YEARS_ROLES = frozenset({"statistician"})  # results.json with calendar dates reduced to years
ExportFormat = Literal["adam", "omop", "csv"]
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed time stamp: the same export gives the same bytes

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role does not allow it"},
}


def deidentification_key() -> bytes:
    """The server's pseudonym key (the file named by $BLINAREG_DEID_KEY_FILE, created on first use).

    The exports are written to a fresh temporary folder and zipped: the key file is never among them."""
    from blinareg.exchange.deidentify import load_or_create_key

    setting = os.environ.get(KEY_FILE_SETTING, "").strip()
    if not setting:
        raise HTTPException(503, f"the server has no de-identification key file: set {KEY_FILE_SETTING} (docs/web.md)")
    key, _created = load_or_create_key(setting)
    return key


def write_release(registry: Registry, format_: str, out_dir: Path) -> Path:
    """Write a (de-identified) registry in `format_` into `out_dir`, with the writers `blinareg export` uses."""
    if format_ == "adam":
        from blinareg.derive import derive
        from blinareg.exchange.adam import write_adam

        return write_adam(registry, derive(registry), out_dir)
    if format_ == "omop":
        from blinareg.exchange.omop import write_omop

        return write_omop(registry, out_dir)
    if format_ == "csv":
        from blinareg.exchange import write_registry

        return write_registry(registry, out_dir, format="csv")
    raise UserError(f"unknown export format {format_!r}; one of {', '.join(EXPORT_FORMATS)}")


def disclosure_text(risks: list[Any], k: int) -> str:
    """The disclosure check as shipped in the zip: the summary, then every small combination (CSV)."""
    from blinareg.exchange.deidentify import DisclosureRisk, disclosure_summary

    names = [f.name for f in fields(DisclosureRisk)]
    lines = [disclosure_summary(risks, k), "", ",".join(names)]
    lines += [",".join(str(asdict(risk)[name]) for name in names) for risk in risks]
    return "\n".join(lines) + "\n"


def _zip_folder(folder: Path, extra: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entries = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        entries.update({name: text.encode("utf-8") for name, text in extra.items()})
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def deidentified_zip(registry: Registry, format_: str, key: bytes) -> bytes:
    """The zip of the de-identified export of `registry` in `format_`, with disclosure.txt."""
    from blinareg.exchange.deidentify import release

    released, risks = release(registry, key, k=DISCLOSURE_K)
    with tempfile.TemporaryDirectory(prefix="blinareg-deid-") as work:
        out = Path(work) / format_
        write_release(released, format_, out)
        return _zip_folder(out, {"disclosure.txt": disclosure_text(risks, DISCLOSURE_K)})


@router.get(
    "/exports/deidentified",
    dependencies=[Depends(report_runners)],
    tags=["data out"],
    responses={
        **_ERRORS,
        200: {"content": {"application/zip": {}}, "description": "The zip"},
        503: {"description": f"No key file configured ({KEY_FILE_SETTING})"},
    },
    response_class=Response,
)
def deidentified_export(
    scope: Scope,
    format_: Annotated[ExportFormat, Query(alias="format", description="adam, omop or csv")] = "csv",
) -> Response:
    """A zip of the de-identified export of the caller's centers, with the disclosure check (k = 5)."""
    key = deidentification_key()
    registry = scope.registry()
    body = deidentified_zip(registry, format_, key)
    patients = len(registry["patient"])
    scope.log("export", f"deidentified {format_}", {"format": format_, "patients": patients})
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="blinareg-deidentified-{format_}.zip"'},
    )


def analysis_results(registry: Registry) -> dict[str, Any]:
    """results.json of the outcomes report of `registry` (default configuration), as `blinareg report` writes it."""
    from blinareg.derive import derive
    from blinareg.report import build_report
    from blinareg.report.config import ReportConfig
    from blinareg.report.render import results_json

    if registry["patient"].empty:
        raise UserError("no patients in your centers: nothing to analyse")
    config = ReportConfig()
    dataset = derive(registry, origin=config.origin, non_responder=config.non_responder)
    result: dict[str, Any] = json.loads(results_json(build_report(dataset, config)))
    return result


@router.get("/analysis/results", tags=["data out"], responses=_ERRORS)
def analysis_results_route(scope: Scope, principal: Annotated[Principal, Depends(report_runners)]) -> dict[str, Any]:
    """The outcomes report's results.json for the caller's centers (no record-level identifiers). The
    statistician's copy is de-identified: every calendar date reduced to its year (`meta.deidentified`
    says so); the investigator gets the full file."""
    registry = scope.registry()
    result = analysis_results(registry)
    deidentified = principal.user.role in DATES_AS_YEARS_ROLES
    if deidentified:
        from blinareg.exchange.deidentify import DATES_TO_YEARS_NOTE, dates_to_years

        result = dates_to_years(result)
        result["meta"]["deidentified"] = DATES_TO_YEARS_NOTE
    details = {"patients": len(registry["patient"]), "dates": "years" if deidentified else "full"}
    scope.log("report", "analysis results", details)
    return result
