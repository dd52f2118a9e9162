"""Administrator pages: users, roles, center assignments, unlocking accounts, restoring deleted patients."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blinareg.errors import UserError
from blinareg.store import Store
from blinareg.store.schema import ROLES
from blinareg.store.scoped import CenterScope, NotFound, ReasonRequired
from blinareg.web.deps import Principal, get_store, require_roles, scoped_data
from blinareg.web.pages.rendering import form_text, render
from blinareg.web.security import hash_password

router = APIRouter(include_in_schema=False)  # pages; the API has its own schema

administrators = require_roles("administrator")


def _users_page(
    request: Request, store: Store, *, error: str | None = None, notice: str | None = None, status_code: int = 200
) -> HTMLResponse:
    centers = sorted(str(c) for c in store.load_centers()["center_id"])
    return render(
        request,
        "admin_users.html",
        {"users": store.accounts.list_users(), "roles": ROLES, "centers": centers, "error": error, "notice": notice},
        status_code=status_code,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, _admin: Principal = Depends(administrators), store: Store = Depends(get_store)
) -> HTMLResponse:
    return _users_page(request, store)


def _centers_of(request_form: Any) -> list[str]:
    return [str(value) for value in request_form.getlist("centers") if str(value).strip()]


@router.post("/admin/users", response_class=HTMLResponse)
async def add_user(
    request: Request, admin: Principal = Depends(administrators), store: Store = Depends(get_store)
) -> Response:
    form = await request.form()
    submitted = await form_text(request)
    username = submitted.get("username", "").strip()
    try:
        store.accounts.add(
            username,
            hash_password(submitted.get("password", "")),
            submitted.get("role", ""),
            _centers_of(form),
            actor=admin.user.username,
        )
    except UserError as error:
        return _users_page(request, store, error=f"User {username!r} not added: {error}")
    return _users_page(request, store, notice=f"User {username} added.")


@router.post("/admin/users/{username}", response_class=HTMLResponse)
async def change_user(
    request: Request, username: str, admin: Principal = Depends(administrators), store: Store = Depends(get_store)
) -> Response:
    """Role, centers and the disabled flag of one user, from the row of the users table."""
    if store.accounts.get(username) is None:
        raise HTTPException(status_code=404, detail=f"no user {username!r}")
    form = await request.form()
    submitted = await form_text(request)
    actor = admin.user.username
    user = store.accounts.get(username)
    assert user is not None
    try:
        if submitted.get("role") and submitted["role"] != user.role:
            store.accounts.set_role(username, submitted["role"], actor=actor)
        centers = _centers_of(form)
        if sorted(centers) != sorted(user.centers):
            store.accounts.set_centers(username, centers, actor=actor)
        disabled = submitted.get("disabled") == "true"
        if disabled != user.disabled:
            store.accounts.set_disabled(username, disabled, actor=actor)
        if submitted.get("password"):
            store.accounts.set_password(username, hash_password(submitted["password"]), actor=actor)
    except UserError as error:
        return _users_page(request, store, error=f"User {username!r}: {error}")
    return _users_page(request, store, notice=f"User {username} saved.")


@router.post("/admin/users/{username}/unlock")
def unlock_user(
    request: Request, username: str, admin: Principal = Depends(administrators), store: Store = Depends(get_store)
) -> Response:
    try:
        store.accounts.unlock(username, actor=admin.user.username)
    except UserError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    return _users_page(request, store, notice=f"User {username} unlocked.")


@router.get("/admin/deleted", response_class=HTMLResponse)
def deleted_patients(
    request: Request,
    _admin: Principal = Depends(administrators),
    scope: CenterScope = Depends(scoped_data),
) -> HTMLResponse:
    page = scope.list_records("patient", deleted=True, limit=1000)
    return render(
        request, "admin_deleted.html", {"patients": page.rows, "error": None, "centers": sorted(scope.centers)}
    )


@router.post("/admin/deleted/{patient_id}/restore")
async def restore_patient(
    request: Request,
    patient_id: str,
    _admin: Principal = Depends(administrators),
    scope: CenterScope = Depends(scoped_data),
) -> Response:
    submitted = await form_text(request)
    error_text = None
    try:
        scope.get("patient", patient_id)
        error_text = f"{patient_id} is not deleted."
    except NotFound:
        pass  # deleted, or not the administrator's to see: restore tells which
    try:
        if error_text is None:
            scope.restore(patient_id, reason=submitted.get("reason", ""))
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except ReasonRequired as error:
        error_text = str(error)
    if error_text is not None:
        page = scope.list_records("patient", deleted=True, limit=1000)
        return render(
            request,
            "admin_deleted.html",
            {"patients": page.rows, "error": error_text, "centers": sorted(scope.centers)},
        )
    return RedirectResponse("/admin/deleted", status_code=303)
