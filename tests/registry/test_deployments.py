"""Deployment records in the SQL store (sqlite, and PostgreSQL when CI provides one): a report
replaces the server's rows, rows expire on the registry's clock, removal forgets a server, and a
bad report is refused with the field named."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.registry.deployments import Deployment, DeploymentReport, ServedVersions, report_from_dict
from shipyard.registry.sql_store import SqlRegistryStore


def _report(*models: ServedVersions, ttl: float = 30.0, server_id: str | None = None) -> DeploymentReport:
    return DeploymentReport(
        server_id=server_id or uuid.uuid4().hex,
        host="serve-1.example",
        port=8080,
        pid=os.getpid(),
        started_at=1_700_000_000_000,
        ttl_seconds=ttl,
        models=models,
    )


def test_a_report_is_listed_per_model_and_replaced_by_the_next(store: SqlRegistryStore, model_name: str) -> None:
    other = f"{model_name}-other"
    store.create_registered_model(model_name)
    store.create_registered_model(other)
    uri = f"models:/{model_name}/Production"
    first = _report(ServedVersions(model_name, ("1",), False, uri), ServedVersions(other, ("4", "5"), True))
    before = int(time.time() * 1000)
    store.report_deployment(first)

    (listed,) = store.list_deployments(model_name)
    assert (listed.server_id, listed.host, listed.port, listed.pid) == (
        first.server_id,
        "serve-1.example",
        8080,
        os.getpid(),
    )
    assert (listed.versions, listed.ready, listed.uri, listed.started_at) == (("1",), False, uri, 1_700_000_000_000)
    assert before <= listed.reported_at and listed.expires_at == listed.reported_at + 30_000
    assert [d.versions for d in store.list_deployments(other)] == [("4", "5")]
    assert Deployment.from_dict(listed.to_dict()) == listed

    # the next report replaces every row of that server: the new version, ready; `other` is gone
    store.report_deployment(_report(ServedVersions(model_name, ("2",), True, uri), server_id=first.server_id))
    (moved,) = store.list_deployments(model_name)
    assert (moved.versions, moved.ready) == (("2",), True)
    assert store.list_deployments(other) == []

    # a second server serving the same model is listed beside the first
    store.report_deployment(_report(ServedVersions(model_name, ("1",), True)))
    assert sorted(d.versions for d in store.list_deployments(model_name)) == [("1",), ("2",)]


def test_records_expire_after_their_ttl_and_removal_forgets_a_server(store: SqlRegistryStore, model_name: str) -> None:
    store.create_registered_model(model_name)
    short = _report(ServedVersions(model_name, ("1",), True), ttl=0.3)
    kept = _report(ServedVersions(model_name, ("2",), True), ttl=60)
    store.report_deployment(short)
    store.report_deployment(kept)
    assert {d.server_id for d in store.list_deployments(model_name)} == {short.server_id, kept.server_id}
    time.sleep(0.45)
    assert [d.server_id for d in store.list_deployments(model_name)] == [kept.server_id]

    store.remove_deployment(kept.server_id)
    assert store.list_deployments(model_name) == []
    store.remove_deployment(kept.server_id)  # already gone (or expired): not an error
    assert store.list_deployments(model_name) == []


def test_listing_an_unknown_model_names_it(store: SqlRegistryStore, model_name: str) -> None:
    with pytest.raises(ResourceNotFound, match=model_name):
        store.list_deployments(model_name)


def _valid() -> dict[str, Any]:
    return _report(ServedVersions("iris", ("3",), True, "models:/iris@champion")).to_dict()


def test_a_report_round_trips_through_json() -> None:
    data = _valid()
    assert report_from_dict(data).to_dict() == data


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"port": 70000}, "'port'"),
        ({"port": True}, "'port'"),
        ({"pid": "12"}, "'pid'"),
        ({"host": ""}, "'host'"),
        ({"server_id": "x" * 65}, "'server_id'"),
        ({"ttl_seconds": 0}, "'ttl_seconds'"),
        ({"ttl_seconds": 10**9}, "'ttl_seconds'"),
        ({"models": {"iris": "3"}}, "'models'"),
        ({"models": [{"name": "iris", "versions": "3", "ready": True}]}, "models[0] field 'versions'"),
        ({"models": [{"name": "iris", "versions": ["3"], "ready": "yes"}]}, "models[0] field 'ready'"),
        ({"models": [{"name": "a/b", "versions": ["3"], "ready": True}]}, "'a/b'"),
        ({"models": ["iris"]}, "models[0]"),
    ],
)
def test_a_bad_report_is_refused_naming_the_field(change: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInput) as error:
        report_from_dict({**_valid(), **change})
    assert named in str(error.value)
