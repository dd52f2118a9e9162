"""Import from the browser: upload a CSV folder (zip), an XLSX workbook or a REDCap export, see the
dry run's problem table, then confirm.

The upload is read by the importer's own readers and stored by `Store.import_registry`, with the same
atomicity as `blinareg import`: one transaction; any error stores nothing. The upload is streamed to a file
on the server in chunks, up to the configured size (`blinareg.web.uploads`). The dry run keeps it under a
random token tied to the user, their centers and an expiry, on disk (`PendingUploads`: every server process
sees it, a restart does not lose it); confirming reads that same file again (never a file sent with the
confirmation) and imports it. A data manager imports only patients and centers of their own centers.

A REDCap export's data access groups are mapped to centers as `blinareg import --dag-map` maps them: the dry
run lists the groups found, each mapped to one of the user's centers (a group named like one of them is
mapped to it at first) or to none; records of a group mapped to none are errors until it is mapped.
"""

from __future__ import annotations

import dataclasses
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from blinareg.errors import UserError, ValidationFailed
from blinareg.records.models import RECORD_TYPES
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Registry
from blinareg.store.scoped import CenterScope
from blinareg.store.store import ImportResult
from blinareg.web.deps import PATIENT_WRITERS, Principal, require_roles, scoped_data
from blinareg.web.pages.rendering import render
from blinareg.web.uploads import PendingUploads, Upload

router = APIRouter(include_in_schema=False)  # pages; the API has its own schema

importers = require_roles(*PATIENT_WRITERS)

KINDS = {"registry": "CSV folder (.zip) or workbook (.xlsx)", "redcap": "REDCap export (raw data .csv)"}
GROUP_FIELD = "dag:"  # form fields "dag:<data access group>" = the center it maps to ("" for none)
_CSV_NAMES = frozenset(f"{record_type}.csv" for record_type in RECORD_TYPES)
_GONE = "This upload is no longer waiting (confirmed already, expired, or not yours); upload it again."


class UploadTooLarge(UserError):
    """The uploaded file is over the configured limit (answered 413)."""


def _pending(request: Request) -> PendingUploads:
    pending: PendingUploads = request.app.state.pending_uploads
    return pending


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


async def _save_upload(file: UploadFile, folder: Path, pending: PendingUploads) -> Path:
    """The upload copied to `folder` in 1 MB chunks (never whole in memory), refused over the limit."""
    name = Path(file.filename or "upload").name
    target = folder / name
    size = 0
    limit = pending.settings.max_bytes
    with open(target, "wb") as out:
        while chunk := await file.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge(
                    f"{name}: the file is larger than the upload limit of {pending.settings.limit_text}"
                )
            out.write(chunk)
    return target


def _read(upload: Upload, scope: CenterScope) -> tuple[Registry | None, list[Problem]]:
    """The upload's registry and problems, read like `blinareg import` reads the same file."""
    if upload.kind == "redcap":
        from blinareg.exchange.redcap import hold_stored_patients, read_redcap_export

        registry, problems = read_redcap_export(
            upload.path,
            center_id=upload.center_id,
            centers=scope.store.load_centers(),
            dag_map=upload.dag_map if upload.groups else None,
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
    centers = sorted(getattr(request.state, "centers", ()))
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
            "unmapped": [g for g in upload.groups if g not in upload.dag_map] if upload else [],
            "group_field": GROUP_FIELD,
            "done": done,
            "error": error,
            "centers": centers,
            "limit": _pending(request).settings.limit_text,
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


def _staged_upload(saved: Path, folder: Path, kind: str) -> Path:
    """The path the reader reads: the workbook or REDCap file itself, or the zip's CSV files unpacked."""
    if kind == "registry" and saved.suffix.lower() == ".zip":
        unpacked = folder / "registry"
        _unpack_csv_zip(saved, unpacked)
        return unpacked
    if kind == "registry" and saved.suffix.lower() != ".xlsx":
        raise UserError(f"{saved.name}: upload a .zip of the CSV files or an .xlsx workbook")
    return saved


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
    pending = _pending(request)
    pending.clean()
    folder = pending.new_folder()
    try:
        saved = await _save_upload(file, folder, pending)
        await form.close()  # the multipart parser's own temporary copy is not needed any more
        path = _staged_upload(saved, folder, kind)
        groups: tuple[str, ...] = ()
        if kind == "redcap":
            from blinareg.exchange.redcap import data_access_groups

            groups = tuple(data_access_groups(saved))
        upload = Upload(
            owner=writer.user.username,
            centers=tuple(sorted(scope.centers)),
            registry=pending.registry,
            folder=folder,
            path=path,
            name=saved.name,
            kind=kind,
            center_id=center,
            groups=groups,
            # A data access group named like one of the user's centers is that center until mapped otherwise.
            dag_map={group: group for group in groups if group in scope.centers},
            expires_at=pending.expires_at(),
        )
        problems, result = _dry_run(upload, scope)
    except UserError as error:
        shutil.rmtree(folder, ignore_errors=True)
        return _page(request, error=str(error), status_code=413 if isinstance(error, UploadTooLarge) else 200)
    if result is None and not upload.groups:
        shutil.rmtree(folder, ignore_errors=True)
        return _page(request, problems=problems, upload=upload)
    # Kept: to confirm, or (a REDCap export with data access groups) to map its groups and check again.
    token = pending.keep(upload)
    return _page(request, problems=problems, result=result, token=token, upload=upload)


def _group_mapping(form: FormData, upload: Upload, scope: CenterScope) -> dict[str, str]:
    """The data access group -> center mapping sent with the form; only the user's own centers."""
    mapping: dict[str, str] = {}
    for group in upload.groups:
        center = str(form.get(f"{GROUP_FIELD}{group}") or "").strip()
        if not center:
            continue
        if center not in scope.centers:
            raise UserError(f"data access group {group!r}: {center} is not one of your centers.")
        mapping[group] = center
    return mapping


async def _waiting_upload(
    request: Request, writer: Principal, scope: CenterScope, *, claim: bool
) -> tuple[FormData, str, Upload | None]:
    """The form, its token and the user's pending upload of that token (claimed for importing if `claim`)."""
    request.state.centers = scope.centers
    form = await request.form()
    token = str(form.get("token") or "")
    pending = _pending(request)
    pending.clean()
    look_up = pending.claim if claim else pending.find
    return form, token, look_up(token, owner=writer.user.username, centers=frozenset(scope.centers))


@router.post("/import/groups", response_class=HTMLResponse)
async def map_groups(
    request: Request, writer: Principal = Depends(importers), scope: CenterScope = Depends(scoped_data)
) -> Response:
    """Map a pending REDCap upload's data access groups (and the records without one) to centers and run
    the dry run again."""
    form, token, upload = await _waiting_upload(request, writer, scope, claim=False)
    if upload is None:
        return _page(request, error=_GONE)
    center = str(form.get("center_id") or "") or None
    try:
        if center is not None and center not in scope.centers:
            raise UserError(f"{center} is not one of your centers.")
        upload = dataclasses.replace(upload, dag_map=_group_mapping(form, upload, scope), center_id=center)
    except UserError as error:
        return _page(request, error=str(error), token=token, upload=upload)
    _pending(request).update(token, upload)
    try:
        problems, result = _dry_run(upload, scope)
    except UserError as error:
        return _page(request, error=str(error), token=token, upload=upload)
    return _page(request, problems=problems, result=result, token=token, upload=upload)


@router.post("/import/confirm", response_class=HTMLResponse)
async def confirm_import(
    request: Request, writer: Principal = Depends(importers), scope: CenterScope = Depends(scoped_data)
) -> Response:
    _form, _token, upload = await _waiting_upload(request, writer, scope, claim=True)
    if upload is None:
        return _page(request, error=_GONE)
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
        _pending(request).discard(upload)
    return _page(request, problems=list(result.warnings), result=result, upload=upload, done=True)
