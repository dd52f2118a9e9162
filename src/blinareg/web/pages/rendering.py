"""What the HTML pages share: rendering a template, reading a submitted form, the words for values."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from blinareg.web.forms import choice_label


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A page from `templates/<name>`; the signed-in user (if any) is in every page's context."""
    principal = getattr(request.state, "principal", None)
    context = {"user": None if principal is None else principal.user, **context}
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    return response


async def form_text(request: Request) -> dict[str, str]:
    """The submitted form's text fields (the first value of each name; uploads left out)."""
    form = await request.form()
    return {name: value for name, value in form.items() if not isinstance(value, UploadFile)}


def shown(value: object, code: object = None) -> str:
    """A stored value (or its missing-data code) as the pages show it: readable words for codes."""
    if code:
        return choice_label(str(code))
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
