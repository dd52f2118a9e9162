"""The HTML pages. Each route declares its access (`Depends(public)` / `Depends(require_roles(...))`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blinareg.store import Store
from blinareg.web.deps import Principal, get_security, get_store, public, signed_in
from blinareg.web.security import (
    SESSION_COOKIE,
    SecuritySettings,
    new_token,
    tokens_equal,
)

router = APIRouter()

LOGIN_CSRF_COOKIE = "blinareg_login_csrf"


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    return response


def _login_form(request: Request, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    # Login CSRF: a double-submit token (cookie + hidden field), as there is no session yet.
    token = new_token()
    request.state.login_csrf = token
    response = _render(request, "login.html", {"error": error}, status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/login"
    )
    return response


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_page(request: Request) -> HTMLResponse:
    return _login_form(request)


@router.post("/login", dependencies=[Depends(public)])
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    csrf_token: str = Form(""),
    store: Store = Depends(get_store),
    settings: SecuritySettings = Depends(get_security),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not tokens_equal(expected, csrf_token):
        return _login_form(request, "Your sign-in form expired; please try again.", 400)
    from blinareg.web.services import sign_in

    token = sign_in(store, settings, username, password)
    if token is None:
        # One message for every failure (unknown user, wrong password, locked, disabled).
        return _login_form(request, "Sign-in failed: wrong user name or password, or the account is locked.", 401)
    response = RedirectResponse("/", status_code=303)
    secure = settings.secure_cookies if settings.secure_cookies is not None else request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(principal: Principal = Depends(signed_in), store: Store = Depends(get_store)) -> Response:
    from blinareg.web.services import sign_out

    sign_out(store, principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: Principal = Depends(signed_in)) -> HTMLResponse:
    return _render(request, "home.html", {"user": principal.user})


# The registry's pages (patients and record forms, import, audit trail, administration): one router each.
from blinareg.web.pages import admin, analysis, audit, importing, queries, records, reports  # noqa: E402

for _pages in (records, importing, audit, admin, queries, analysis, reports):
    router.include_router(_pages.router)
