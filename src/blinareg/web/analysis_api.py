"""The dashboard, report jobs and analysis freezes as JSON (for scripts), with the pages' own rules.

`GET /api/v1/dashboard`: the cohort dashboard of the caller's centers (aggregates only; the cached one
the page shows). `GET /api/v1/report-jobs[/{job_id}]`: the caller's report jobs (an administrator's:
everyone's) with their state and files; a file downloads from the page route
`/reports/{job_id}/files/{name}`. `GET /api/v1/freezes[/{freeze_id}]`: the freezes the caller may read
(every center of the freeze is theirs), without their records.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder

from blinareg.store.freezes import Freeze
from blinareg.store.report_jobs import ReportJob, ReportJobs
from blinareg.store.scoped import CenterScope
from blinareg.web import report_jobs
from blinareg.web.deps import Principal, require_roles, scoped_data
from blinareg.web.pages.analysis import DASHBOARD_READERS, scope_dashboard
from blinareg.web.pages.reports import (
    FREEZE_READERS,
    JOB_VIEWERS,
    FreezeId,
    JobId,
    find_freeze,
    find_job,
    may_download,
    visible_freezes,
)

router = APIRouter(prefix="/api/v1", tags=["analysis"])
Scope = Annotated[CenterScope, Depends(scoped_data)]
JobViewer = Annotated[Principal, Depends(require_roles(*JOB_VIEWERS))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role does not allow it"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {**_ERRORS, 404: {"description": "No such item visible to you"}}


def _job_json(job: ReportJob, files: list[str]) -> dict[str, Any]:
    data = dataclasses.asdict(job)
    data.pop("worker_host")
    data.pop("worker_pid")
    data["files"] = [f"/reports/{job.id}/files/{name}" for name in files]
    result: dict[str, Any] = jsonable_encoder(data)
    return result


def _freeze_json(freeze: Freeze) -> dict[str, Any]:
    return freeze.to_dict()


@router.get("/dashboard", dependencies=[Depends(require_roles(*DASHBOARD_READERS))], responses=_ERRORS)
def dashboard(request: Request, scope: Scope) -> dict[str, Any]:
    """The cohort dashboard of the caller's centers (aggregates only)."""
    result: dict[str, Any] = jsonable_encoder(dataclasses.asdict(scope_dashboard(request, scope)))
    return result


@router.get("/report-jobs", responses=_ERRORS)
def list_report_jobs(principal: JobViewer, scope: Scope) -> list[dict[str, Any]]:
    """The caller's report jobs, newest first (an administrator: every job)."""
    report_jobs.mark_lost_jobs(scope.store)
    user = principal.user
    jobs = ReportJobs(scope.store).list(created_by=None if user.role == "administrator" else user.username)
    return [_job_json(job, []) for job in jobs]


@router.get("/report-jobs/{job_id}", responses=_NOT_FOUND)
def get_report_job(job_id: JobId, principal: JobViewer, scope: Scope) -> dict[str, Any]:
    """One report job with the download paths of its files (404: not the caller's, or absent)."""
    report_jobs.mark_lost_jobs(scope.store)
    job = find_job(scope, principal, job_id)
    done = job.status == "done" and may_download(scope, principal, job)
    files = ReportJobs(scope.store).file_names(job.id) if done else []
    return _job_json(job, files)


@router.get("/freezes", dependencies=[Depends(require_roles(*FREEZE_READERS))], responses=_ERRORS)
def list_freezes(scope: Scope) -> list[dict[str, Any]]:
    """The analysis freezes the caller may read (every center of the freeze is theirs)."""
    return [_freeze_json(freeze) for freeze in visible_freezes(scope)]


@router.get("/freezes/{freeze_id}", dependencies=[Depends(require_roles(*FREEZE_READERS))], responses=_NOT_FOUND)
def get_freeze(freeze_id: FreezeId, scope: Scope) -> dict[str, Any]:
    """What is stored about one freeze (without its records)."""
    return _freeze_json(find_freeze(scope, freeze_id))
