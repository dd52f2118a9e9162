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


class _UploadTooLarge(Exception):
    """Raised from `receive` when a streamed upload passes its limit."""


class RequestGuardMiddleware:
    """Refuses, before any route runs, what no field may hold: NUL characters (in the path, the query or the
    body; PostgreSQL cannot store them) and bodies over MAX_BODY_BYTES. A pure ASGI middleware: the body
    is read once, checked, and handed on unchanged.

    File uploads (multipart POSTs to `upload_paths`) are not read here: they stream through to the route
    (which writes them to disk in chunks), counted, and are refused with 413 past `max_upload_bytes` (plus
    a margin for the form's other fields), announced (Content-Length) or not. `limit_text` names the limit
    in the refusal."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        upload_paths: frozenset[str] = frozenset(),
        max_upload_bytes: int = MAX_BODY_BYTES,
        limit_text: str = "",
    ) -> None:
        self.app = app
        self.upload_paths = upload_paths
        self.max_upload_bytes = max_upload_bytes + _FORM_MARGIN
        self.too_large = f"the upload is larger than the limit of {limit_text or f'{max_upload_bytes} bytes'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or any(mark in scope.get("query_string", b"") for mark in _NUL_MARKS):
            await PlainTextResponse("NUL characters are not accepted", status_code=400)(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        # A file upload (multipart: the import page's .zip or .xlsx) is binary and holds NUL bytes by nature;
        # its text fields are checked against fixed choices by the page.
        upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        if upload and scope.get("method") == "POST" and scope.get("path") in self.upload_paths:
            await self._stream_upload(scope, receive, send, headers)
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

    async def _stream_upload(self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]) -> None:
        refusal = PlainTextResponse(self.too_large, status_code=413)
        announced = headers.get(b"content-length", b"")
        if announced.isdigit() and int(announced) > self.max_upload_bytes:
            await refusal(scope, receive, send)
            return
        size = 0
        started = False

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_upload_bytes:
                    raise _UploadTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _UploadTooLarge:
            if started:
                raise
            await refusal(scope, receive, send)


_FORM_MARGIN = 64 * 1024  # the multipart headers and the form's small fields around the file


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
