"""The web registry application: `create_app(store_url)` -> FastAPI (pages, JSON API, static files).

`blinareg serve` runs it with uvicorn. Pages are server-rendered Jinja2 templates (no JavaScript build);
the API lives under /api/v1 with its OpenAPI schema at /api/openapi.json. Every route must declare who
may call it (`blinareg.web.deps`): the app refuses to start with an undeclared route.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from blinareg import __version__
from blinareg.errors import UserError, ValidationFailed
from blinareg.records.problems import Problem
from blinareg.store import Store
from blinareg.store.scoped import Conflict, NotAllowed, NotFound, ReasonRequired
from blinareg.web.deps import Access, NotAuthenticated, csrf_input, public
from blinareg.web.security import RequestGuardMiddleware, SecurityHeadersMiddleware, SecuritySettings
from blinareg.web.uploads import PendingUploads, UploadSettings

API_PREFIX = "/api"
UPLOAD_PATHS = frozenset({"/import"})  # multipart posts that may carry a large file (the import page)


def _package_dir(name: str) -> Path:
    return Path(str(importlib.resources.files("blinareg.web") / name))


def route_access(route: APIRoute) -> Access | None | str:
    """A route's declared access: its `Access` (roles), "public", or None when it declares nothing."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Access):
            return dependant.call
        if dependant.call is public:
            return "public"
        pending.extend(dependant.dependencies)
    return None


def check_routes_declare_access(app: FastAPI) -> None:
    undeclared = [
        f"{sorted(route.methods or ())} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute) and route_access(route) is None
    ]
    if undeclared:
        raise RuntimeError("routes without Depends(public) or Depends(require_roles(...)): " + ", ".join(undeclared))


def templates() -> Jinja2Templates:
    """The Jinja2 environment of the pages, with `csrf_input(request)` available in every template."""
    engine = Jinja2Templates(directory=str(_package_dir("templates")))
    engine.env.globals["csrf_input"] = csrf_input
    engine.env.globals["version"] = __version__
    return engine


def create_app(
    store_url: str | None = None,
    *,
    settings: SecuritySettings | None = None,
    store: Store | None = None,
    uploads: UploadSettings | None = None,
) -> FastAPI:
    """The application on `store_url` (else $BLINAREG_DATABASE_URL, else the SQLite default).

    `uploads`: the import page's upload limit and pending-upload folder (default: from the environment,
    `UploadSettings.from_environment`)."""
    from blinareg.web import analysis_api, api, data_out, pages, rules_api

    app = FastAPI(
        title="blinareg",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store if store is not None else Store.open(store_url)
    app.state.security = settings or SecuritySettings()
    app.state.templates = templates()
    upload_settings = uploads or UploadSettings.from_environment()
    app.state.pending_uploads = PendingUploads(upload_settings, app.state.store.url)
    app.add_middleware(
        RequestGuardMiddleware,
        upload_paths=UPLOAD_PATHS,
        max_upload_bytes=upload_settings.max_bytes,
        limit_text=upload_settings.limit_text,
    )
    app.add_middleware(SecurityHeadersMiddleware)  # added last: outermost, so every answer has the headers
    app.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")
    # The routers' routes go into the app's own route list (not include_router, which newer FastAPI
    # versions keep as nested routers): the access check and the access-matrix test see every route.
    for router in (api.router, data_out.router, analysis_api.router, rules_api.router, pages.router):
        app.router.routes.extend(router.routes)

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, _error: NotAuthenticated) -> Response:
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse(
                {"detail": "sign in first (session or API token)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> Response:
        if request.url.path.startswith(API_PREFIX) or error.status_code < 400:
            return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
        engine: Jinja2Templates = request.app.state.templates
        return engine.TemplateResponse(
            request, "error.html", {"status": error.status_code, "detail": error.detail}, status_code=error.status_code
        )

    _add_error_handlers(app)
    check_routes_declare_access(app)
    return app


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "record_type": problem.record_type,
        "field": problem.field,
        "value": None if problem.value is None else str(problem.value),
        "reason": problem.reason,
        "patient_id": problem.patient_id,
        "key": problem.key,
        "severity": str(getattr(problem.severity, "value", problem.severity)),
    }


def error_status(error: UserError) -> int:
    """The HTTP status of a typed error of the services (the pages use it too)."""
    for kind, status in (
        (NotFound, 404),
        (Conflict, 409),
        (NotAllowed, 403),
        (ValidationFailed, 422),
        (ReasonRequired, 422),
    ):
        if isinstance(error, kind):
            return status
    return 400


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UserError)
    async def _user_error(request: Request, error: UserError) -> Response:
        status = error_status(error)
        body: dict[str, Any] = {"detail": str(error)}
        if isinstance(error, Conflict):
            body.update(stored_version=error.stored_version, stored=error.stored, submitted=error.submitted)
        if isinstance(error, ValidationFailed):
            body.update(problems=[_problem_json(p) for p in error.problems])
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse(jsonable_encoder(body), status_code=status)
        engine: Jinja2Templates = request.app.state.templates
        return engine.TemplateResponse(
            request, "error.html", {"status": status, "detail": str(error)}, status_code=status
        )
