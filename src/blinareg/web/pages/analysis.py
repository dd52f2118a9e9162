"""Analysis pages: a patient's timeline and the cohort dashboard of the user's centers.

The timeline draws the patient's rows of the analysis dataset (`blinareg.report.patient_course`, the
rows the report's timeline figure draws) as an SVG with hover titles. The dashboard holds aggregates
only (statisticians see it), computed by `blinareg.web.dashboard` from the user's `CenterScope` and
cached per (center set, registry change counter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from blinareg.derive.labels import value_label
from blinareg.store.scoped import CenterScope, NotFound
from blinareg.web.charts import PALETTE, Bar, Curve, bar_chart, step_chart
from blinareg.web.dashboard import Dashboard, DashboardCache, compute_dashboard
from blinareg.web.deps import PATIENT_READERS, require_roles, scoped_data
from blinareg.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
readers = require_roles(*PATIENT_READERS)
# Aggregates only: the statistician sees the dashboard too.
DASHBOARD_READERS = (
    "data_manager",
    "investigator",
    "monitor",
    "statistician",
)  # monitors: completeness and queries per center
dashboard_readers = require_roles(*DASHBOARD_READERS)
Scope = Annotated[CenterScope, Depends(scoped_data)]


@router.get("/patients/{patient_id}/timeline", response_class=HTMLResponse, dependencies=[Depends(readers)])
def patient_timeline_page(request: Request, patient_id: str, scope: Scope) -> HTMLResponse:
    from blinareg.derive import derive
    from blinareg.report import patient_course
    from blinareg.report.timeline_svg import timeline_svg

    try:
        registry = scope.patient_registry(patient_id)
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    dataset = derive(registry)
    course = patient_course(dataset, patient_id)
    return render(
        request,
        "timeline.html",
        {"patient_id": patient_id, "svg": Markup(timeline_svg(course)), "facts": _facts(course.patient)},
    )


def _facts(patient: Any) -> list[tuple[str, str]]:
    get = patient.get
    rows = [
        ("Center", get("center_id")),
        ("Indication", value_label(get("indication_group")) if get("indication_group") else None),
        ("First blinatumomab", get("first_blinatumomab_date")),
        ("Best response", value_label(get("best_response")) if get("best_response") else None),
        ("Vital status", value_label(get("vital_status")) if get("vital_status") else None),
    ]
    return [
        (label, str(value)[:10] if hasattr(value, "year") else str(value)) for label, value in rows if _known(value)
    ]


def _known(value: object) -> bool:
    return value is not None and value == value and str(value) not in ("", "NaT", "<NA>")


def dashboard_cache(request: Request) -> DashboardCache:
    cache = getattr(request.app.state, "dashboard_cache", None)
    if cache is None:
        cache = request.app.state.dashboard_cache = DashboardCache()
    return cache


@dataclass(frozen=True)
class DashboardView:
    """A computed dashboard with its drawn charts: both cached, so a repeated view draws nothing."""

    board: Dashboard
    charts: dict[str, Markup]


def _scope_view(request: Request, scope: CenterScope) -> DashboardView:
    """The dashboard of the scope's centers, from the cache while no data changed."""

    def compute() -> DashboardView:
        board = compute_dashboard(scope.registry(), scope.query_counts_by_center())
        return DashboardView(board, _charts(board))

    view: DashboardView = dashboard_cache(request).get(scope.centers, scope.change_counter(), compute)
    return view


def scope_dashboard(request: Request, scope: CenterScope) -> Dashboard:
    return _scope_view(request, scope).board


@router.get("/dashboard", response_class=HTMLResponse, dependencies=[Depends(dashboard_readers)])
def dashboard_page(request: Request, scope: Scope) -> HTMLResponse:
    view = _scope_view(request, scope)
    return render(request, "dashboard.html", {"board": view.board, "charts": view.charts, "pct": _pct})


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _charts(board: Dashboard) -> dict[str, Markup]:
    charts: dict[str, Markup] = {}
    charts["accrual"] = bar_chart(
        [
            Bar(str(year), n, f"{year}: {n} patients started blinatumomab ({total} by the end of the year)")
            for year, n, total in board.accrual
        ],
        label_width=60,
    )
    charts["indication"] = bar_chart(
        [
            Bar(
                value_label(level),
                n,
                f"{value_label(level)}: {n} patients ({pct or 0:.1f}%)",
                PALETTE[i % len(PALETTE)],
            )
            for i, (level, n, pct) in enumerate(board.indication)
        ]
    )
    for name, rows in (("crs", board.crs), ("icans", board.icans)):
        charts[name] = bar_chart(
            [
                Bar(
                    f"grade {row.grade}",
                    row.n,
                    f"maximum grade {row.grade}: {row.n} patients ({row.percent or 0:.1f}%)",
                    PALETTE[1],
                )
                for row in rows
            ],
            label_width=70,
        )
    for curve in board.curves:
        charts[curve.title] = step_chart(
            [
                Curve(
                    curve.title,
                    curve.months,
                    curve.estimate,
                    curve.lower,
                    curve.upper,
                    PALETTE[0 if curve.kind == "km" else 1],
                )
            ],
            x_label="Months since first blinatumomab",
            y_label="Overall survival" if curve.kind == "km" else "Cumulative incidence",
        )
    return charts
