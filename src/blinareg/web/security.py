"""Passwords (argon2id), session and API tokens, CSRF, lockout limits and the security headers.

Only random tokens travel (the session cookie, the API bearer token); the database keeps their SHA-256
hashes, and tokens are compared in constant time. Passwords are hashed with argon2id (argon2-cffi's
RFC 9106 low-memory profile).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blinareg.errors import UserError

MIN_PASSWORD_LENGTH = 12
SESSION_COOKIE = "blinareg_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class SecuritySettings:
    idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    absolute_timeout: dt.timedelta = dt.timedelta(hours=12)
    lockout_failures: int = 5
    lockout_window: dt.timedelta = dt.timedelta(minutes=15)
    # None: Secure cookies exactly when the request came over HTTPS.
    secure_cookies: bool | None = None


_HASHER = PasswordHasher()  # argon2id, argon2-cffi's default parameters (RFC 9106 second recommendation)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown user) a dummy check keeps the timing alike."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH.value(), password)
    except (VerificationError, InvalidHashError):
        return False


class _DummyHash:
    """A hash to verify against for unknown users, made on first use (never at import)."""

    _value: str | None = None

    def value(self) -> str:
        if self._value is None:
            self._value = _HASHER.hash(secrets.token_urlsafe(16))
        return self._value


_DUMMY_HASH = _DummyHash()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# Content-Security-Policy: no inline script anywhere (scripts only from /static), no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


MAX_BODY_BYTES = 2_000_000
_NUL_MARKS = (b"\x00", b"\\u0000", b"%00")


class RequestGuardMiddleware:
    """Refuses, before any route runs, what no field may hold: NUL characters (in the path, the query or the
    body; PostgreSQL cannot store them) and bodies over MAX_BODY_BYTES. A pure ASGI middleware: the body
    is read once, checked, and handed on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or any(mark in scope.get("query_string", b"") for mark in _NUL_MARKS):
            await PlainTextResponse("NUL characters are not accepted", status_code=400)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY_BYTES:
                await PlainTextResponse("request body too large", status_code=413)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # A file upload (multipart: the import page's .zip or .xlsx) is binary and holds NUL bytes by nature;
        # its text fields are checked against fixed choices by the page.
        headers = dict(scope.get("headers") or [])
        upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        if not upload and any(mark in body for mark in _NUL_MARKS[:2]):
            await PlainTextResponse("NUL characters are not accepted", status_code=400)(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
