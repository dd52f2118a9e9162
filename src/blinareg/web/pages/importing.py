"""Import from the browser: upload a CSV folder (zip), an XLSX workbook or a REDCap export, see the
dry run's problem table, then confirm.

The upload is read by the importer's own readers and stored by `Store.import_registry`, with the same
atomicity as `blinareg import`: one transaction; any error stores nothing. The dry run keeps the
uploaded file on the server under a random token tied to the user; confirming reads that same file
again (never a file sent with the confirmation) and imports it. A data manager imports only patients
and centers of their own centers.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from blinareg.errors import UserError, ValidationFailed
from blinareg.records.models import RECORD_TYPES
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Registry
from blinareg.store.scoped import CenterScope
from blinareg.store.store import ImportResult
from blinareg.web.deps import PATIENT_WRITERS, Principal, require_roles, scoped_data
from blinareg.web.pages.rendering import render

router = APIRouter(include_in_schema=False)  # pages; the API has its own schema

importers = require_roles(*PATIENT_WRITERS)

KINDS = {"registry": "CSV folder (.zip) or workbook (.xlsx)", "redcap": "REDCap export (raw data .csv)"}
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_CSV_NAMES = frozenset(f"{record_type}.csv" for record_type in RECORD_TYPES)


@dataclass(frozen=True)
class Upload:
    """An uploaded file kept between the dry run and the confirmation."""

    owner: str
    folder: Path
    path: Path  # the file or the unpacked folder the reader reads
    name: str  # the file name the user uploaded (problems and the audit trail name it)
    kind: str
    center_id: str | None


def _uploads(request: Request) -> dict[str, Upload]:
    state = request.app.state
    if not hasattr(state, "uploads"):
        state.uploads = {}
    uploads: dict[str, Upload] = state.uploads
    return uploads


def _unpack_csv_zip(archive: Path, target: Path) -> None:
    """The `<record_type>.csv` files of a zip (at its top or in one folder), nothing else."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir()]
            wanted = [m for m in members if PurePosixPath(m.filename).name in _CSV_NAMES]
            folders = {PurePosixPath(m.filename).parent for m in wanted}
            if not wanted:
                raise UserError(
                    f"{archive.name}: the zip holds no <record_type>.csv file (e.g. patient.csv, relapse.csv)"
                )
            if len(folders) > 1:
                shown = ", ".join(sorted(str(f) for f in folders))
                raise UserError(f"{archive.name}: the CSV files are in several folders ({shown}); zip one folder")
            target.mkdir()
            for member in wanted:
                # Only the base name is used: no path from the archive reaches the file system.
                with bundle.open(member) as source, open(target / PurePosixPath(member.filename).name, "wb") as out:
                    shutil.copyfileobj(source, out)
    except zipfile.BadZipFile:
        raise UserError(f"{archive.name}: not a readable zip file") from None


async def _save_upload(file: UploadFile, folder: Path) -> Path:
    name = Path(file.filename or "upload").name
    target = folder / name
    size = 0
    with open(target, "wb") as out:
        while chunk := await file.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise UserError(f"{name}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
            out.write(chunk)
    return target


def _read(upload: Upload, scope: CenterScope) -> tuple[Registry | None, list[Problem]]:
    """The upload's registry and problems, read like `blinareg import` reads the same file."""
    if upload.kind == "redcap":
        from blinareg.exchange.redcap import hold_stored_patients, read_redcap_export

        registry, problems = read_redcap_export(
            upload.path, center_id=upload.center_id, centers=scope.store.load_centers()
        )
        registry, problems = hold_stored_patients(
            registry, problems, lambda ids: set(scope.store.load_registry(ids)["patient"]["patient_id"])
        )
    else:
        from blinareg.exchange import read_registry

        registry, problems = read_registry(upload.path)
    if any(p.severity is Severity.ERROR for p in problems):
        return None, problems
    return registry, problems + _outside_scope(registry, scope)


def _outside_scope(registry: Registry, scope: CenterScope) -> list[Problem]:
    """Patients or centers of the batch that are not the user's to import."""
    problems = []
    for center in sorted(set(registry["center"]["center_id"]) - scope.centers):
        problems.append(
            Problem("center", "center_id", center, f"not one of your centers ({', '.join(sorted(scope.centers))})")
        )
    patients = registry["patient"]
    for patient_id, center in zip(patients["patient_id"], patients["center_id"]):
        if center not in scope.centers:
            problems.append(
                Problem("patient", "center_id", center, "not one of your centers", patient_id=str(patient_id))
            )
    batch_ids = sorted(set(patients["patient_id"]))
    stored = scope.store.load_registry(batch_ids)["patient"] if batch_ids else None
    if stored is not None:
        for patient_id, center in zip(stored["patient_id"], stored["center_id"]):
            if center not in scope.centers:
                problems.append(
                    Problem(
                        "patient", "patient_id", patient_id, "already stored for another center", patient_id=patient_id
                    )
                )
    return problems


def _page(
    request: Request,
    *,
    problems: list[Problem] | None = None,
    result: ImportResult | None = None,
    token: str | None = None,
    upload: Upload | None = None,
    done: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = problems or []
    return render(
        request,
        "import.html",
        {
            "kinds": KINDS,
            "problems": found,
            "errors": sum(p.severity is Severity.ERROR for p in found),
            "warnings": sum(p.severity is Severity.WARNING for p in found),
            "result": result,
            "token": token,
            "upload": upload,
            "done": done,
            "error": error,
            "centers": sorted(getattr(request.state, "centers", ())),
        },
        status_code=status_code,
    )


@router.get("/import", response_class=HTMLResponse)
def import_page(
    request: Request, _writer: Principal = Depends(importers), scope: CenterScope = Depends(scoped_data)
) -> HTMLResponse:
    request.state.centers = scope.centers
    return _page(request)


def _dry_run(upload: Upload, scope: CenterScope) -> tuple[list[Problem], ImportResult | None]:
    registry, problems = _read(upload, scope)
    if registry is None or any(p.severity is Severity.ERROR for p in problems):
        return problems, None
    try:
        result = scope.store.import_registry(registry, source=upload.name, actor=scope.actor, dry_run=True)
    except ValidationFailed as failed:
        return problems + list(failed.problems), None
    return problems + list(result.warnings), result


@router.post("/import", response_class=HTMLResponse)
async def check_upload(
    request: Request, writer: Principal = Depends(importers), scope: CenterScope = Depends(scoped_data)
) -> Response:
    request.state.centers = scope.centers
    form = await request.form()
    file = form.get("file")
    kind = str(form.get("kind") or "registry")
    center = str(form.get("center_id") or "") or None
    if not isinstance(file, UploadFile) or not file.filename:
        return _page(request, error="Choose a file to upload.")
    if kind not in KINDS:
        return _page(request, error=f"Unknown kind of file {kind!r}.")
    if center is not None and center not in scope.centers:
        return _page(request, error=f"{center} is not one of your centers.")
    folder = Path(tempfile.mkdtemp(prefix="blinareg-upload-"))
    try:
        saved = await _save_upload(file, folder)
        path = saved
        if kind == "registry" and saved.suffix.lower() == ".zip":
            path = folder / "registry"
            _unpack_csv_zip(saved, path)
        elif kind == "registry" and saved.suffix.lower() != ".xlsx":
            raise UserError(f"{saved.name}: upload a .zip of the CSV files or an .xlsx workbook")
        upload = Upload(writer.user.username, folder, path, saved.name, kind, center)
        problems, result = _dry_run(upload, scope)
    except UserError as error:
        shutil.rmtree(folder, ignore_errors=True)
        return _page(request, error=str(error))
    if result is None:
        shutil.rmtree(folder, ignore_errors=True)
        return _page(request, problems=problems, upload=upload)
    token = secrets.token_urlsafe(24)
    _uploads(request)[token] = upload
    return _page(request, problems=problems, result=result, token=token, upload=upload)


@router.post("/import/confirm", response_class=HTMLResponse)
async def confirm_import(
    request: Request, writer: Principal = Depends(importers), scope: CenterScope = Depends(scoped_data)
) -> Response:
    request.state.centers = scope.centers
    form = await request.form()
    token = str(form.get("token") or "")
    upload = _uploads(request).get(token)
    if upload is None or upload.owner != writer.user.username:
        return _page(
            request,
            error="This upload is no longer waiting (confirmed already, or the server restarted); upload it again.",
        )
    del _uploads(request)[token]
    try:
        registry, problems = _read(upload, scope)
        if registry is None or any(p.severity is Severity.ERROR for p in problems):
            return _page(request, problems=problems, upload=upload)
        result = scope.store.import_registry(registry, source=upload.name, actor=scope.actor)
    except ValidationFailed as failed:
        return _page(request, problems=list(failed.problems), upload=upload)
    except UserError as error:
        return _page(request, error=str(error))
    finally:
        shutil.rmtree(upload.folder, ignore_errors=True)
    return _page(request, problems=list(result.warnings), result=result, upload=upload, done=True)
