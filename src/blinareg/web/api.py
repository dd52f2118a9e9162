"""The JSON API under /api/v1 (the OpenAPI schema is served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from blinareg.web.deps import Principal, signed_in

router = APIRouter()


@router.get("/me", tags=["account"])
def me(principal: Principal = Depends(signed_in)) -> dict[str, Any]:
    """Who is signed in: user name, role and centers."""
    user = principal.user
    return {"username": user.username, "role": user.role, "centers": list(user.centers)}
