"""schemathesis against `/openapi.json` of real servers (a column model and a tensor model):
bodies generated from the document alone are answered without a server error and as documented
(status, content type, response schema), and the document itself is valid OpenAPI 3.1."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

KINDS = ["iris", "mlp", "pipeline"]


@pytest.mark.parametrize("kind", KINDS)
def test_generated_requests_get_documented_answers(kind: str, servers: dict[str, str]) -> None:
    """Every operation, bounded examples each (positive data: valid by the document)."""
    schema = schemathesis.openapi.from_url(servers[kind] + "/openapi.json")
    schema.validate()
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: schemathesis.Case) -> None:
            # NOTE: only a JSON /invocations body is fully shaped by the document; CSV and Parquet
            # are any text/bytes, and path parameters any model name, so a 4xx is right for those.
            shaped = case.path == "/invocations" and case.media_type == "application/json"
            case.call_and_validate(excluded_checks=[] if shaped else [positive_data_acceptance])

        check()
        ran += 1
    assert ran >= 15


@pytest.mark.parametrize("kind", KINDS)
def test_the_invocations_body_is_a_one_of_shaped_by_the_signature(kind: str, servers: dict[str, str]) -> None:
    document = httpx.get(servers[kind] + "/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    body = document["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    keys = [next(iter(branch["required"])) for branch in body["oneOf"]]
    assert len(keys) == len(set(keys)) and "inputs" in keys
    for path, operations in document["paths"].items():
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", [])}
            assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path
            assert {"404", "500"} <= set(operation["responses"]), path
