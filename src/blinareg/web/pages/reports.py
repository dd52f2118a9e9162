"""Reports from the browser (background jobs) and analysis freezes.

`/reports`: the report form (origin, split, subgroup, sections, files, an optional report.toml) and the
user's jobs (an administrator sees everyone's); `/reports/{id}`: a job's progress (the page reloads
itself while the job runs: a meta refresh, no script) and its files. A job reads the user's centers
as they are when it runs, or an analysis freeze the user may read (all its centers are theirs).

`/freezes`: the freezes the user may read; an investigator freezes their centers (or the whole registry,
when every center is theirs) at a data cut-off; `/freezes/{id}` shows what is stored about a freeze,
verifies its SHA-256 and runs a report from it. Starting a job and making a freeze are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blinareg.errors import UserError
from blinareg.store.freezes import Freeze, FreezeCheck, Freezes
from blinareg.store.report_jobs import ReportJob, ReportJobs
from blinareg.store.scoped import CenterScope
from blinareg.web import report_jobs
from blinareg.web.api import STORED_INT
from blinareg.web.deps import REPORT_RUNNERS, Principal, require_roles, scoped_data
from blinareg.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
Scope = Annotated[CenterScope, Depends(scoped_data)]
# Ids are database integers: a larger number is no id at all (422), never an overflow in the database.
JobId = Annotated[int, Path(ge=1, le=STORED_INT)]
FreezeId = Annotated[int, Path(ge=1, le=STORED_INT)]

JOB_VIEWERS = (*REPORT_RUNNERS, "administrator")
FREEZE_READERS = ("investigator", "statistician", "administrator")
FREEZE_MAKERS = ("investigator",)
runners = require_roles(*REPORT_RUNNERS)
job_viewers = require_roles(*JOB_VIEWERS)
freeze_readers = require_roles(*FREEZE_READERS)
freeze_makers = require_roles(*FREEZE_MAKERS)
Runner = Annotated[Principal, Depends(runners)]
JobViewer = Annotated[Principal, Depends(job_viewers)]
FreezeReader = Annotated[Principal, Depends(freeze_readers)]
FreezeMaker = Annotated[Principal, Depends(freeze_makers)]

DEFAULT_FORM: dict[str, Any] = {
    "origin": "first_blinatumomab",
    "by": "",
    "subgroup": "",
    "sections": list(report_jobs.REPORT_SECTIONS),
    "formats": list(report_jobs.REPORT_FORMATS),
    "config": "",
}

CHOICES = {
    "origins": report_jobs.ORIGIN_CHOICES,
    "splits": report_jobs.SPLIT_CHOICES,
    "subgroups": report_jobs.INDICATION_GROUPS,
    "sections": report_jobs.REPORT_SECTIONS,
    "formats": report_jobs.REPORT_FORMATS,
}


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {}
    for name in ("origin", "by", "subgroup", "config", "name", "as_of", "scope"):
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    for name in ("sections", "formats", "centers"):
        values[name] = [v for v in form.getlist(name) if isinstance(v, str)]
    return values


def visible_freezes(scope: CenterScope) -> list[Freeze]:
    return [freeze for freeze in Freezes(scope.store).list() if scope.can_read_centers(freeze.centers)]


def find_freeze(scope: CenterScope, freeze_id: int) -> Freeze:
    """A freeze the user may read; 404 otherwise (absent or holding a center that is not theirs)."""
    try:
        freeze = Freezes(scope.store).get(freeze_id)
    except UserError:
        freeze = None
    if freeze is None or not scope.can_read_centers(freeze.centers):
        raise HTTPException(status_code=404, detail=f"no analysis freeze {freeze_id}")
    return freeze


def _jobs_page(
    request: Request,
    principal: Principal,
    scope: CenterScope,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    store = scope.store
    report_jobs.mark_lost_jobs(store)
    user = principal.user
    jobs = ReportJobs(store).list(created_by=None if user.role == "administrator" else user.username)
    return render(
        request,
        "reports.html",
        {
            "jobs": jobs,
            "form": form or DEFAULT_FORM,
            "error": error,
            "can_run": user.role in REPORT_RUNNERS,
            "choices": CHOICES,
            "freezes": visible_freezes(scope) if user.role in REPORT_RUNNERS else [],
        },
        status_code,
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, principal: JobViewer, scope: Scope) -> HTMLResponse:
    return _jobs_page(request, principal, scope)


def _start(scope: CenterScope, principal: Principal, options: dict[str, Any], freeze: Freeze | None) -> ReportJob:
    centers = tuple(sorted(scope.centers)) if freeze is None or freeze.centers is None else freeze.centers
    job = ReportJobs(scope.store).create(
        created_by=principal.user.username,
        centers=centers,
        freeze_id=None if freeze is None else freeze.id,
        options=options,
    )
    details = {"job_id": job.id, "freeze_id": job.freeze_id, "centers": list(centers), **options}
    scope.log("report", "report job", details)
    report_jobs.start_job(scope.store, job)
    return job


@router.post("/reports", response_class=HTMLResponse)
async def start_report(request: Request, principal: Runner, scope: Scope) -> Response:
    form = await _form(request)
    try:
        options = report_jobs.job_options(form)
    except UserError as error:
        return _jobs_page(request, principal, scope, form={**DEFAULT_FORM, **form}, error=str(error))
    job = _start(scope, principal, options, None)
    return RedirectResponse(f"/reports/{job.id}", status_code=303)


def find_job(scope: CenterScope, principal: Principal, job_id: int) -> ReportJob:
    """The user's own job (an administrator: any job); 404 otherwise, exactly like an absent one."""
    try:
        job = ReportJobs(scope.store).get(job_id)
    except UserError:
        job = None
    if job is None or (principal.user.role != "administrator" and job.created_by != principal.user.username):
        raise HTTPException(status_code=404, detail=f"no report job {job_id}")
    return job


def may_download(scope: CenterScope, principal: Principal, job: ReportJob) -> bool:
    return job.created_by == principal.user.username or scope.can_read_centers(job.centers)


@router.get("/reports/{job_id}", response_class=HTMLResponse)
def report_job_page(request: Request, job_id: JobId, principal: JobViewer, scope: Scope) -> HTMLResponse:
    report_jobs.mark_lost_jobs(scope.store)
    job = find_job(scope, principal, job_id)
    files = ReportJobs(scope.store).file_names(job.id) if job.status == "done" else []
    return render(
        request,
        "report_job.html",
        {
            "job": job,
            "files": files if may_download(scope, principal, job) else [],
            "refresh": job.active,
        },
    )


@router.get("/reports/{job_id}/files/{file_name}")
def report_job_file(job_id: JobId, file_name: str, principal: JobViewer, scope: Scope) -> Response:
    job = find_job(scope, principal, job_id)
    content = ReportJobs(scope.store).file(job.id, file_name) if may_download(scope, principal, job) else None
    if content is None or file_name not in report_jobs.FILE_TYPES:
        raise HTTPException(status_code=404, detail=f"report job {job_id} has no file {file_name!r}")
    disposition = "inline" if file_name == "report.html" else "attachment"
    return Response(
        content,
        media_type=report_jobs.FILE_TYPES[file_name],
        headers={"Content-Disposition": f'{disposition}; filename="blinareg-job{job.id}-{file_name}"'},
    )


# ---- analysis freezes -----------------------------------------------------------------------------------


def _freezes_page(
    request: Request,
    principal: Principal,
    scope: CenterScope,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    all_centers = scope.can_read_centers(None)
    return render(
        request,
        "freezes.html",
        {
            "freezes": visible_freezes(scope),
            "can_freeze": principal.user.role in FREEZE_MAKERS,
            "centers": sorted(scope.centers),
            "whole_registry": all_centers,
            "error": error,
            "form": form or {"name": "", "as_of": "", "centers": sorted(scope.centers), "scope": "centers"},
        },
    )


@router.get("/freezes", response_class=HTMLResponse)
def freezes_page(request: Request, principal: FreezeReader, scope: Scope) -> HTMLResponse:
    return _freezes_page(request, principal, scope)


def _freeze_request(form: dict[str, Any], scope: CenterScope) -> tuple[str, tuple[str, ...] | None, dt.date | None]:
    name = str(form.get("name") or "").strip()
    if not name:
        raise UserError("name: a freeze needs a name (e.g. 'interim analysis 2026')")
    as_of_text = str(form.get("as_of") or "").strip()
    try:
        as_of = dt.date.fromisoformat(as_of_text) if as_of_text else None
    except ValueError:
        raise UserError(f"data cut-off: {as_of_text!r} is not a date (YYYY-MM-DD)") from None
    if form.get("scope") == "registry":
        if not scope.can_read_centers(None):
            raise UserError("the whole registry holds centers that are not yours: choose among your centers")
        return name, None, as_of
    centers = tuple(sorted(set(form.get("centers") or ())))
    if not centers:
        raise UserError("centers: choose at least one of your centers")
    outside = [c for c in centers if c not in scope.centers]
    if outside:
        raise UserError(f"centers: {outside[0]} is not one of your centers")
    return name, centers, as_of


@router.post("/freezes", response_class=HTMLResponse)
async def create_freeze(request: Request, principal: FreezeMaker, scope: Scope) -> Response:
    form = await _form(request)
    try:
        name, centers, as_of = _freeze_request(form, scope)
        freeze = Freezes(scope.store).create(name, actor=principal.user.username, centers=centers, as_of=as_of)
    except UserError as error:
        return _freezes_page(request, principal, scope, error=str(error), form=form)
    return RedirectResponse(f"/freezes/{freeze.id}", status_code=303)


def _freeze_view(
    request: Request,
    freeze: Freeze,
    principal: Principal,
    *,
    check: FreezeCheck | None = None,
    form: dict[str, Any] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """A freeze's page: what is stored about it, the hash check (after Verify), the report form."""
    return render(
        request,
        "freeze.html",
        {
            "freeze": freeze,
            "check": check,
            "can_run": principal.user.role in REPORT_RUNNERS,
            "form": form or DEFAULT_FORM,
            "error": error,
            "choices": CHOICES,
        },
    )


@router.get("/freezes/{freeze_id}", response_class=HTMLResponse)
def freeze_page(request: Request, freeze_id: FreezeId, principal: FreezeReader, scope: Scope) -> HTMLResponse:
    return _freeze_view(request, find_freeze(scope, freeze_id), principal)


@router.post("/freezes/{freeze_id}/verify", response_class=HTMLResponse)
def verify_freeze(request: Request, freeze_id: FreezeId, principal: FreezeReader, scope: Scope) -> HTMLResponse:
    freeze = find_freeze(scope, freeze_id)
    return _freeze_view(request, freeze, principal, check=Freezes(scope.store).verify(freeze.id))


@router.post("/freezes/{freeze_id}/report", response_class=HTMLResponse)
async def report_from_freeze(request: Request, freeze_id: FreezeId, principal: Runner, scope: Scope) -> Response:
    freeze = find_freeze(scope, freeze_id)
    form = await _form(request)
    try:
        options = report_jobs.job_options(form)
    except UserError as error:
        return _freeze_view(request, freeze, principal, form={**DEFAULT_FORM, **form}, error=str(error))
    job = _start(scope, principal, options, freeze)
    return RedirectResponse(f"/reports/{job.id}", status_code=303)
