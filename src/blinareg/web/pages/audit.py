"""The audit trail page: filter by patient, user, center, record type and date; export the rows as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from blinareg.records.models import RECORD_TYPES
from blinareg.store.scoped import CenterScope
from blinareg.store.store import AuditEntry
from blinareg.web.deps import Principal, require_roles, scoped_data
from blinareg.web.pages.rendering import render

router = APIRouter(include_in_schema=False)  # pages; the API has its own schema

auditors = require_roles("auditor", "administrator")
PAGE_ROWS = 200
CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "center_id",
    "record_type",
    "patient_id",
    "record_key",
    "reason",
    "source",
    "batch_id",
    "before",
    "after",
)


@dataclass(frozen=True)
class AuditFilters:
    patient: str = ""
    user: str = ""
    center: str = ""
    record_type: str = ""
    date_from: str = ""
    date_to: str = ""

    def problems(self) -> list[str]:
        found = []
        for label, text in (("From", self.date_from), ("To", self.date_to)):
            if text and _day(text) is None:
                found.append(f"{label}: {text!r} is not a date (YYYY-MM-DD)")
        return found

    def query(self) -> str:
        return urlencode({name: value for name, value in self.__dict__.items() if value})

    def entries(self, scope: CenterScope, *, offset: int = 0, limit: int | None) -> tuple[list[AuditEntry], int]:
        since, until = _day(self.date_from), _day(self.date_to)
        return scope.audit(
            patient_id=self.patient.strip() or None,
            actor=self.user.strip() or None,
            center_id=self.center or None,
            record_type=self.record_type or None,
            since=None if since is None else _utc_midnight(since),
            until=None if until is None else _utc_midnight(until + dt.timedelta(days=1)),  # the whole last day
            offset=offset,
            limit=limit,
        )


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _filters(
    patient: str = "", user: str = "", center: str = "", record_type: str = "", date_from: str = "", date_to: str = ""
) -> AuditFilters:
    return AuditFilters(patient, user, center, record_type, date_from, date_to)


def _json_text(value: object) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _key_text(entry: AuditEntry) -> str:
    return ", ".join(f"{name}={value}" for name, value in (entry.record_key or {}).items())


def change_lines(before: object, after: object) -> list[str]:
    """What a change did, one line per field: `marrow_blasts_pct: 35.0 → 40.0`; a new or deleted record
    lists its values. Anything not a record (an import's counts, an account change) is shown as JSON."""
    if not isinstance(before, dict) and not isinstance(after, dict):
        return [text for text in (_json_text(before), _json_text(after)) if text]
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    lines = []
    for name in sorted(set(old) | set(new)):
        was, now = old.get(name), new.get(name)
        if was == now or name == "patient_id":
            continue
        if not old:
            lines.append(f"{name}: {_json_text(now)}")
        elif not new:
            lines.append(f"{name}: {_json_text(was)} (deleted)")
        else:
            lines.append(f"{name}: {_json_text(was)} → {_json_text(now)}")
    return lines


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    page: int = 1,
    filters: AuditFilters = Depends(_filters),
    _auditor: Principal = Depends(auditors),
    scope: CenterScope = Depends(scoped_data),
) -> HTMLResponse:
    problems = filters.problems()
    entries: list[AuditEntry] = []
    total = 0
    page = max(page, 1)
    if not problems:
        entries, total = filters.entries(scope, offset=(page - 1) * PAGE_ROWS, limit=PAGE_ROWS)
    pages = max(1, -(-total // PAGE_ROWS))
    query = filters.query()

    def page_link(number: int) -> str:
        return "/audit?" + "&".join(part for part in (query, f"page={number}") if part)

    return render(
        request,
        "audit.html",
        {
            "filters": filters,
            "problems": problems,
            "rows": [
                {
                    "entry": entry,
                    "at": entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                    "key": ", ".join(
                        f"{name}={value}" for name, value in (entry.record_key or {}).items() if name != "patient_id"
                    ),
                    "changes": change_lines(entry.before, entry.after),
                }
                for entry in entries
            ],
            "total": total,
            "page": page,
            "pages": pages,
            "previous_link": page_link(page - 1) if page > 1 else None,
            "next_link": page_link(page + 1) if page < pages else None,
            "csv_link": "/audit.csv" + (f"?{query}" if query else ""),
            "centers": sorted(scope.centers),
            "record_types": sorted(RECORD_TYPES),
        },
        status_code=422 if problems else 200,
    )


def audit_csv_text(entries: Iterable[AuditEntry]) -> str:
    """The audit rows as CSV (UTF-8 text, `\\n` line ends, before/after as JSON)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(
            [
                entry.id,
                entry.at.isoformat(),
                entry.actor,
                entry.action,
                entry.center_id or "",
                entry.record_type,
                entry.patient_id or "",
                _key_text(entry),
                entry.reason or "",
                entry.source or "",
                entry.batch_id,
                _json_text(entry.before),
                _json_text(entry.after),
            ]
        )
    return out.getvalue()


@router.get("/audit.csv")
def audit_csv(
    filters: AuditFilters = Depends(_filters),
    _auditor: Principal = Depends(auditors),
    scope: CenterScope = Depends(scoped_data),
) -> Response:
    problems = filters.problems()
    if problems:
        return Response("; ".join(problems) + "\n", status_code=422, media_type="text/plain")
    entries, _ = filters.entries(scope, limit=None)
    scope.log("export", "audit trail CSV", {"filters": filters.__dict__, "rows": len(entries)})
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        audit_csv_text(entries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="blinareg-audit-{stamp}.csv"'},
    )
