"""Schemathesis against a running Trooper, from docs/openapi.yaml: no 5xx, answers as documented."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

SPEC = Path(__file__).parents[2] / "docs" / "openapi.yaml"
#: Per operation; about 30 operations make this a minute on two cores.
EXAMPLES = 12

schema = schemathesis.openapi.from_path(SPEC).exclude(path="/api/live")  # an endless stream, tested elsewhere


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_and_never_fails(case, fuzz_target):
    case.call_and_validate(
        base_url=fuzz_target.url,
        timeout=20,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
