"""Schemathesis against the OpenAPI schema, signed in with an API token: 0 server errors.

Each operation is called as a role it admits (so the examples reach the data layer, not a 403), plus once
as a role it does not; bounded: a few derandomized examples each, so the run is short and repeatable.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from fastapi.routing import APIRoute

from blinareg.store.schema import ROLES
from blinareg.web.app import route_access
from blinareg.web.deps import Access

EXAMPLES_PER_OPERATION = 6


def test_api_has_no_server_errors(web):
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", web.app)
    tokens = {}
    for role in ROLES:
        tokens[role] = web.client(role).post("/api/v1/tokens", json={"name": "schemathesis"}).json()["token"]
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    access = {(m, r.path): route_access(r) for r in web.app.routes if isinstance(r, APIRoute) for m in r.methods}
    for operation in operations:
        declared = access[(operation.method.upper(), operation.path)]
        allowed = sorted(declared.roles) if isinstance(declared, Access) else list(ROLES)
        refused = [role for role in ROLES if role not in allowed][:1]
        for role in [allowed[0], *refused]:
            _fuzz(operation, role, tokens[role], failures)
    assert not failures, "\n".join(failures[:20])


def _fuzz(operation, role: str, token: str, failures: list[str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        if response.status_code >= 500:
            failures.append(f"{role} {case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

    check()
