"""FastAPI dependencies: the store, who is signed in, what their role allows, and the center scope.

Every route declares who may call it, with exactly one of `Depends(public)` or
`Depends(require_roles(...))`; `create_app` refuses a route without one, and the access-matrix test
reads the same declarations. Patient data is reached only through `Depends(scoped_data)`: a
`CenterScope` bound to the signed-in user's centers, so the center filter lives in one place (the data
layer) and no route can forget it.

CSRF: a state-changing request (POST, PUT, PATCH, DELETE) signed in by the session cookie must carry the
session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`); requests with an API bearer token
carry no cookie and need none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from markupsafe import Markup, escape

from blinareg.store import Store
from blinareg.store._io import utc_now
from blinareg.store.accounts import User
from blinareg.store.schema import ROLES
from blinareg.store.scoped import CenterScope
from blinareg.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SecuritySettings,
    token_hash,
    tokens_equal,
)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotAuthenticated(Exception):
    """No valid session or token: the API answers 401, a page redirects to the login page."""


@dataclass(frozen=True)
class Principal:
    user: User
    via: str  # "session" or "token"
    session_hash: str | None = None
    csrf_token: str | None = None


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_security(request: Request) -> SecuritySettings:
    settings: SecuritySettings = request.app.state.security
    return settings


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _session_principal(request: Request, store: Store, settings: SecuritySettings) -> Principal | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    digest = token_hash(cookie)
    row = store.accounts.session(digest)
    if row is None:
        return None
    now = utc_now()
    if (
        now - row.last_seen_at > settings.idle_timeout
        or now - row.created_at > settings.absolute_timeout
        or row.user.disabled
        or row.user.locked
    ):
        store.accounts.end_session(digest)
        return None
    # Refresh the idle clock at most once a minute: reads stay reads.
    if now - row.last_seen_at > dt.timedelta(minutes=1):
        store.accounts.touch_session(digest)
    return Principal(row.user, "session", digest, row.csrf_token)


async def _check_csrf(request: Request, principal: Principal) -> None:
    if request.method not in UNSAFE_METHODS or principal.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or principal.csrf_token is None or not tokens_equal(sent, principal.csrf_token):
        raise HTTPException(status_code=403, detail="missing or invalid CSRF token; reload the page and try again")


async def current_user(
    request: Request,
    store: Store = Depends(get_store),
    settings: SecuritySettings = Depends(get_security),
) -> Principal:
    """The signed-in user (session cookie or API bearer token); checks CSRF on state-changing requests."""
    token = _bearer(request)
    if token is not None:
        user = store.accounts.token_user(token_hash(token))
        if user is None or user.disabled or user.locked:
            raise NotAuthenticated()
        principal = Principal(user, "token")
    else:
        found = _session_principal(request, store, settings)
        if found is None:
            raise NotAuthenticated()
        principal = found
    await _check_csrf(request, principal)
    request.state.principal = principal
    request.state.csrf_token = principal.csrf_token
    return principal


class Access:
    """`Depends(require_roles(...))`: the signed-in user must have one of `roles` (else 403)."""

    def __init__(self, roles: Iterable[str]) -> None:
        self.roles = frozenset(roles)
        unknown = self.roles - set(ROLES)
        if unknown or not self.roles:
            raise ValueError(f"unknown or no roles: {sorted(unknown)}")

    async def __call__(self, principal: Principal = Depends(current_user)) -> Principal:
        if principal.user.role not in self.roles:
            raise HTTPException(status_code=403, detail="your role does not allow this")
        return principal

    def __repr__(self) -> str:
        return f"require_roles({', '.join(sorted(self.roles))})"


def require_roles(*roles: str) -> Access:
    return Access(roles)


signed_in = Access(ROLES)  # any signed-in user, whatever the role


def public() -> None:
    """`Depends(public)`: the route needs no sign-in (the login page, static files)."""


# Who reads what (docs/web.md): patients of the assigned centers.
PATIENT_READERS = ("data_manager", "investigator", "monitor")
PATIENT_WRITERS = ("data_manager",)
REPORT_RUNNERS = ("investigator", "statistician")


def scoped_data(
    principal: Principal = Depends(current_user),
    store: Store = Depends(get_store),
) -> CenterScope:
    """The signed-in user's view of the registry: only the patients of their centers."""
    return CenterScope(store, principal.user.centers, actor=principal.user.username)


def csrf_input(request: Request) -> Markup:
    """A hidden form field with the session's CSRF token (a Jinja global: `{{ csrf_input(request) }}`)."""
    token = getattr(request.state, "csrf_token", None) or getattr(request.state, "login_csrf", None) or ""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')
