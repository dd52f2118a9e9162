"""Report jobs: reports asked for from the web, run by a separate worker process, kept in the database.

A job is created `queued` with what it may read (the asking user's centers, or an analysis freeze) and
what to write (origin, split, subgroup, sections, formats, report.toml text); the worker marks it
`running` with its host and process id, advances `stage`/`done`/`total`, and ends it `done` (with its
files in `report_job_file`) or `failed` (with the reason). A job whose worker process is gone while
the job was still queued or running is marked `interrupted` (`ReportJobs.mark_lost`), so a page never
shows a job as running that nobody runs.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from blinareg.errors import UserError
from blinareg.store import _io
from blinareg.store.schema import report_job, report_job_file

if TYPE_CHECKING:
    from blinareg.store.store import Store

__all__ = ["ReportJob", "ReportJobs", "ACTIVE_STATUSES"]

ACTIVE_STATUSES = ("queued", "running")
# A queued job that no worker claimed within this time was lost (the server stopped before starting it).
UNCLAIMED_AFTER = dt.timedelta(minutes=2)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


@dataclass(frozen=True)
class ReportJob:
    id: int
    created_at: dt.datetime
    created_by: str
    centers: tuple[str, ...]
    freeze_id: int | None
    options: dict[str, Any]
    status: str
    stage: str | None
    done: int
    total: int
    message: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    worker_host: str | None
    worker_pid: int | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total > 0 else 0


def _job_of(row: Any) -> ReportJob:
    created = _utc(row["created_at"])
    assert created is not None
    return ReportJob(
        id=int(row["id"]),
        created_at=created,
        created_by=row["created_by"],
        centers=tuple(json.loads(row["centers"])),
        freeze_id=None if row["freeze_id"] is None else int(row["freeze_id"]),
        options=json.loads(row["options"]),
        status=row["status"],
        stage=row["stage"],
        done=int(row["done"]),
        total=int(row["total"]),
        message=row["message"],
        started_at=_utc(row["started_at"]),
        finished_at=_utc(row["finished_at"]),
        worker_host=row["worker_host"],
        worker_pid=None if row["worker_pid"] is None else int(row["worker_pid"]),
    )


class ReportJobs:
    """The report jobs of a store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self, *, created_by: str, centers: tuple[str, ...], freeze_id: int | None, options: Mapping[str, Any]
    ) -> ReportJob:
        if not centers:
            raise UserError("a report job needs at least one center to read")
        values = {
            "created_at": _io.utc_now(),
            "created_by": created_by[:100],
            "centers": json.dumps(sorted(centers)),
            "freeze_id": freeze_id,
            "options": json.dumps(dict(options), sort_keys=True),
            "status": "queued",
            "done": 0,
            "total": 0,
        }
        with self._store._transaction(write=True, serialize=False) as connection:
            job_id = int(
                connection.execute(sa.insert(report_job).values(values).returning(report_job.c.id)).scalar_one()
            )
        return self.get(job_id)

    def get(self, job_id: int) -> ReportJob:
        with self._store._transaction() as connection:
            row = connection.execute(sa.select(report_job).where(report_job.c.id == job_id)).mappings().first()
        if row is None:
            raise UserError(f"no report job {job_id}")
        return _job_of(row)

    def list(self, *, created_by: str | None = None, limit: int = 100) -> list[ReportJob]:
        """Newest first; `created_by`: only that user's jobs."""
        statement = sa.select(report_job).order_by(report_job.c.id.desc()).limit(limit)
        if created_by is not None:
            statement = statement.where(report_job.c.created_by == created_by)
        with self._store._transaction() as connection:
            return [_job_of(row) for row in connection.execute(statement).mappings()]

    def _update(self, job_id: int, *where: sa.ColumnElement[bool], **values: Any) -> bool:
        with self._store._transaction(write=True, serialize=False) as connection:
            result = connection.execute(sa.update(report_job).where(report_job.c.id == job_id, *where).values(**values))
        return bool(result.rowcount)

    def claim(self, job_id: int, *, host: str, pid: int) -> bool:
        """The worker takes a queued job (False: it is not queued any more)."""
        return self._update(
            job_id,
            report_job.c.status == "queued",
            status="running",
            started_at=_io.utc_now(),
            worker_host=host[:255],
            worker_pid=pid,
        )

    def set_worker(self, job_id: int, *, host: str, pid: int) -> None:
        """Record the process started for a queued job (before it claims the job)."""
        self._update(job_id, report_job.c.status == "queued", worker_host=host[:255], worker_pid=pid)

    def progress(self, job_id: int, stage: str, done: int, total: int) -> None:
        self._update(job_id, report_job.c.status == "running", stage=stage[:40], done=max(done, 0), total=max(total, 0))

    def finish(self, job_id: int, files: Mapping[str, bytes]) -> None:
        """Store the job's files and mark it done, in one transaction."""
        with self._store._transaction(write=True, serialize=False) as connection:
            connection.execute(sa.delete(report_job_file).where(report_job_file.c.job_id == job_id))
            if files:
                connection.execute(
                    sa.insert(report_job_file),
                    [{"job_id": job_id, "name": name, "content": content} for name, content in sorted(files.items())],
                )
            connection.execute(
                sa.update(report_job)
                .where(report_job.c.id == job_id)
                .values(status="done", stage="done", finished_at=_io.utc_now(), message=None)
            )

    def fail(self, job_id: int, message: str, *, status: str = "failed") -> bool:
        """End an active job as failed (or interrupted) with the reason; False if it had already ended."""
        return self._update(
            job_id,
            report_job.c.status.in_(ACTIVE_STATUSES),
            status=status,
            message=message[:2000],
            finished_at=_io.utc_now(),
        )

    def file_names(self, job_id: int) -> builtins.list[str]:
        with self._store._transaction() as connection:
            return list(
                connection.execute(
                    sa.select(report_job_file.c.name)
                    .where(report_job_file.c.job_id == job_id)
                    .order_by(report_job_file.c.name)
                ).scalars()
            )

    def file(self, job_id: int, name: str) -> bytes | None:
        with self._store._transaction() as connection:
            content = connection.execute(
                sa.select(report_job_file.c.content).where(
                    report_job_file.c.job_id == job_id, report_job_file.c.name == name
                )
            ).scalar_one_or_none()
        return None if content is None else bytes(content)

    def mark_lost(self, *, host: str, alive: Callable[[int], bool]) -> builtins.list[int]:
        """Mark `interrupted` the active jobs of `host` whose worker process is gone, and the queued jobs
        no worker claimed in time; returns their ids."""
        now = _io.utc_now()
        lost: builtins.list[int] = []
        with self._store._transaction() as connection:
            rows = connection.execute(sa.select(report_job).where(report_job.c.status.in_(ACTIVE_STATUSES))).mappings()
            jobs = [_job_of(row) for row in rows]
        for job in jobs:
            if job.worker_pid is None:
                gone = now - job.created_at > UNCLAIMED_AFTER
            else:
                gone = job.worker_host == host and not alive(job.worker_pid)
            if gone and self.fail(
                job.id, "interrupted: the worker process stopped (server restart or crash)", status="interrupted"
            ):
                lost.append(job.id)
        return lost
