"""Route x role x center: every route of the application (API and pages), every role, own and other center.

The cases are generated from `app.routes` and each route's own declaration (`Depends(public)` or
`Depends(require_roles(...))`, read by `route_access`), so a page or API route added later is covered
without touching this file; an undeclared route stops `create_app` itself. A route whose path parameter
has no sample value here fails the test, naming the parameter to add to EXTRA_PATH_VALUES.

Expectations: a role the route does not declare gets 403 (401/redirect when not signed in); a declared role
gets 200 on its own center's data (a stale write gets 409: the route reached the data, wrote nothing) and
404 for another center's patient, exactly as for an absent one; no answer ever holds an identifier of a
patient of the other center, and no answer to a statistician holds any patient identifier.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

import pytest

from blinareg.records.models import RECORD_TYPES
from blinareg.records.registry import frame_to_dicts
from blinareg.store.schema import ROLES
from blinareg.web.app import check_routes_declare_access, route_access
from blinareg.store.queries import DataQueries
from blinareg.web.bedside import RULE_ROUTES
from blinareg.web.deps import Access
from tests.web.conftest import OTHER, OWN

RULE_ROUTE_NAMES = tuple(RULE_ROUTES.values())
# Sample values of path parameters that are not a record's key fields.
EXTRA_PATH_VALUES: dict[str, object] = {"username": "auditor", "token_id": 999_999}
# Report jobs and freezes: ids nobody has (their own-center answers are 404 below; test_report_pages.py
# checks them with real jobs and freezes).
EXTRA_PATH_VALUES.update({"job_id": 999_999, "freeze_id": 999_999, "file_name": "results.json"})
# Path parameters whose value belongs to a center (a data query): sampled per side, so the other center's
# answers 404 like an absent one. (web, center) -> value.
SCOPED_PATH_VALUES = {"query_id": lambda web, center: _manual_query(web, center)}
# JSON bodies of the API routes that are not record writes: {(method, path): body}.
BODIES: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/tokens"): {"name": "matrix"},
    ("POST", "/api/v1/users"): {"username": "matrix-user", "password": "a long enough password", "role": "auditor"},
    ("PATCH", "/api/v1/users/{username}"): {"role": "auditor"},
    ("POST", "/api/v1/deleted-patients/{patient_id}/restore"): {"change_reason": "matrix"},
    **{("POST", f"/api/v1/patients/{{patient_id}}/rules/{name}"): {"fields": {}} for name in RULE_ROUTE_NAMES},
}
# What a permitted call on the own center answers, where it is not 200 (GET) or 409 (a stale record write).
OWN_STATUS: dict[tuple[str, str], set[int]] = {
    ("POST", "/api/v1/tokens"): {201},
    ("POST", "/api/v1/users"): {201, 400},  # 400: the user exists (created by an earlier role's call)
    ("PATCH", "/api/v1/users/{username}"): {200},
    ("DELETE", "/api/v1/tokens/{token_id}"): {404},  # not the caller's token
    ("POST", "/api/v1/deleted-patients/{patient_id}/restore"): {404},  # the patient is not deleted
    ("POST", "/logout"): {303},
    ("GET", "/reports/{job_id}"): {404},
    ("GET", "/reports/{job_id}/files/{file_name}"): {404},
    ("GET", "/freezes/{freeze_id}"): {404},
    ("POST", "/freezes/{freeze_id}/verify"): {404},
    ("POST", "/freezes/{freeze_id}/report"): {404},
    ("GET", "/api/v1/report-jobs/{job_id}"): {404},
    ("GET", "/api/v1/freezes/{freeze_id}"): {404},
    **{("POST", f"/api/v1/patients/{{patient_id}}/rules/{name}"): {200} for name in RULE_ROUTE_NAMES},
}
PUBLIC_OK = {("GET", "/login"): {200}, ("POST", "/login"): {400, 422}}
SERVED_BY_FRAMEWORK = {"/api/openapi.json", "/static"}
PATIENT_ID = re.compile(r"SYN-\d{6}")


@dataclass
class Case:
    route: APIRoute
    method: str
    role: str
    side: str  # "own" or "other"
    url: str = ""
    json: dict | None = None
    params: dict = field(default_factory=dict)
    scoped: bool = False  # the URL names a patient (or one of their records)

    def __str__(self) -> str:
        return f"{self.role:13} {self.side:5} {self.method:6} {self.url}"


def _record_type(path: str) -> str | None:
    return next((part for part in path.strip("/").split("/") if part in RECORD_TYPES), None)


def _sample(web, record_type: str, center: str) -> dict:
    model = RECORD_TYPES[record_type]
    frame = web.registry[record_type]
    if record_type == "center":
        return {"center_id": center}
    rows = frame_to_dicts(model, frame[frame["patient_id"].map(web.centers) == center])
    assert rows, f"the test registry has no {record_type} in {center}"
    return rows[0]


def _manual_query(web, center: str) -> int:
    """A manual query on the first patient of the center (raised once per test registry)."""
    made = web.__dict__.setdefault("matrix_queries", {})
    if center not in made:
        patient_id = web.patients(center)[0]
        made[center] = DataQueries(web.store).raise_query(
            patient_id=patient_id, record_type="patient", record_key="", field="sex", text="matrix", actor="test"
        )
    return made[center]


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(getattr(value, "value", value))


def _case(web, route: APIRoute, method: str, role: str, side: str) -> Case:
    case = Case(route, method, role, side)
    center = OWN if side == "own" else OTHER
    record_type = _record_type(route.path)
    names = re.findall(r"{(\w+)}", route.path)
    sample: dict = {}
    if record_type is not None:
        sample = _sample(web, record_type, center)
    elif "patient_id" in names:
        sample = _sample(web, "patient", center)
    url = route.path
    for name in names:
        if name in sample:
            value = sample[name]
            case.scoped = True
        elif name in SCOPED_PATH_VALUES:
            value = SCOPED_PATH_VALUES[name](web, center)
            case.scoped = True
        elif name in EXTRA_PATH_VALUES:
            value = EXTRA_PATH_VALUES[name]
        else:
            pytest.fail(
                f"{method} {route.path}: no sample value for path parameter {name!r}; add it to EXTRA_PATH_VALUES"
            )
        url = url.replace("{" + name + "}", _text(value))
    case.url = url
    api = route.path.startswith("/api/")
    record_write = api and record_type not in (None, "center") and not route.path.startswith("/api/v1/deleted")
    if record_write and method == "POST":
        case.json, case.scoped = {k: _text(v) if isinstance(v, dt.date) else v for k, v in sample.items()}, True
        case.json = {k: (v.value if hasattr(v, "value") else v) for k, v in case.json.items()}
    elif record_write and method == "PUT":
        case.json = {k: (_text(v) if isinstance(v, dt.date) else getattr(v, "value", v)) for k, v in sample.items()}
        case.json.update(row_version=999, change_reason="matrix")
    elif record_write and method == "DELETE":
        case.params = {"version": 999, "change_reason": "matrix"}
    elif (method, route.path) in BODIES:
        case.json = BODIES[(method, route.path)]
    return case


# Calls that end the caller's session go last.
RUN_LAST = {("POST", "/logout")}


def _routes(app) -> list[tuple[APIRoute, str, object]]:
    found: list[tuple[APIRoute, str, object]] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                found.append((route, method, route_access(route)))
        elif isinstance(route, (Route, Mount)):
            assert route.path in SERVED_BY_FRAMEWORK, f"{route.path}: a route outside FastAPI's routing, not covered"
    return sorted(found, key=lambda item: (item[1], item[0].path) in RUN_LAST)


def _expected_own(case: Case) -> set[int]:
    key = (case.method, case.route.path)
    if key in OWN_STATUS:
        return OWN_STATUS[key]
    if case.method == "GET":
        return {200}
    if case.route.path.startswith("/api/"):
        return {409}
    return {200, 303}  # a page's form post: shown again, or redirected after saving


def _send(client, case: Case):
    api = case.route.path.startswith("/api/")
    kwargs: dict = {"params": case.params, "follow_redirects": False}
    if case.json is not None:
        kwargs["json" if api else "data"] = case.json
    return client.request(case.method, case.url, **kwargs)


def test_every_route_every_role_own_and_other_center(web):
    other_ids = set(web.patients(OTHER))
    routes = _routes(web.app)
    assert len(routes) > 60
    clients = {role: web.client(role) for role in ROLES}
    failures, calls = [], 0
    for route, method, access in routes:
        assert access is not None
        for role in ROLES:
            for side in ("own", "other"):
                case = _case(web, route, method, role, side)
                answer = _send(clients[role], case)
                calls += 1
                body = answer.text
                if access == "public":
                    expected = PUBLIC_OK.get((method, route.path), {200})
                elif role not in access.roles:
                    expected = {403}
                elif side == "other" and case.scoped:
                    expected = (
                        {404} if method in ("GET", "PUT", "DELETE") or route.path.startswith("/api/") else {404, 422}
                    )
                    if method == "POST" and route.path == "/api/v1/patient":
                        expected = {403}  # creating a patient in a center that is not yours
                else:
                    expected = _expected_own(case)
                if answer.status_code not in expected:
                    failures.append(f"{case}: {answer.status_code} (expected {sorted(expected)}): {body[:200]}")
                leaked = set(PATIENT_ID.findall(body)) & other_ids - set(PATIENT_ID.findall(case.url + str(case.json)))
                if leaked:
                    failures.append(f"{case}: LEAK of other-center patients {sorted(leaked)[:3]}")
                if role == "statistician" and answer.status_code < 300 and PATIENT_ID.search(body):
                    failures.append(f"{case}: record-level identifier shown to a statistician")
    assert not failures, f"{len(failures)} of {calls} calls:\n" + "\n".join(failures)


def test_signed_out_callers_get_401_or_the_login_page(web):
    client = web.anonymous()
    for route, method, access in _routes(web.app):
        if access == "public":
            continue
        case = _case(web, route, method, "investigator", "own")
        answer = _send(client, case)
        if route.path.startswith("/api/"):
            assert answer.status_code == 401, case
        else:
            assert answer.status_code == 303 and answer.headers["location"] == "/login", case


def test_a_route_without_an_access_declaration_stops_the_app(web):
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/forgotten")
    def forgotten() -> dict:
        return {}

    with pytest.raises(RuntimeError, match="/forgotten"):
        check_routes_declare_access(app)


def test_access_declarations_name_known_roles():
    with pytest.raises(ValueError):
        Access(["superuser"])
