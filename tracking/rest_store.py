"""The tracking store behind `http://` and `https://` tracking URIs: `shipyard server` (or an
MLflow tracking server) through its REST API.

Artifact locations come back from the server as `mlflow-artifacts:/<path>`; this store turns
them into full proxy URLs (`<server>/api/2.0/mlflow-artifacts/artifacts/<path>`), so the
artifact repository table sends files through the server without further context.
Metrics, params and tags are sent through `runs/log-batch` in chunks the server accepts
(MLflow's limits: 1,000 metrics, 100 params, 100 tags per request).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from shipyard.exceptions import ResourceNotFound
from shipyard.redact import mask_url
from shipyard.tracking.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
    ViewType,
)
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.paging import PagedList, check_max_results
from shipyard.tracking.rest_client import ARTIFACTS_API, RestClient
from shipyard.tracking.store import SEARCH_MAX_RESULTS_DEFAULT, AbstractTrackingStore

MAX_METRICS, MAX_PARAMS, MAX_TAGS, MAX_ENTRIES = 1000, 100, 100, 1000
_VIEW_NAMES = {ViewType.ACTIVE_ONLY: "ACTIVE_ONLY", ViewType.DELETED_ONLY: "DELETED_ONLY", ViewType.ALL: "ALL"}
PROXY_PREFIX = "mlflow-artifacts:"


def _float(value: Any) -> float:
    """A JSON number, or proto-JSON's "NaN" / "Infinity" / "-Infinity"."""
    if isinstance(value, str):
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        return special[value] if value in special else float(value)
    return float(value)


def _json_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _kv(items: Any) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items or []}


def _inputs(data: dict[str, Any]) -> RunInputs:
    datasets = [
        DatasetInput(
            Dataset(
                name=d["dataset"]["name"],
                digest=d["dataset"]["digest"],
                source_type=d["dataset"]["source_type"],
                source=d["dataset"]["source"],
                schema=d["dataset"].get("schema"),
                profile=d["dataset"].get("profile"),
            ),
            [InputTag(t["key"], t.get("value", "")) for t in d.get("tags", [])],
        )
        for d in data.get("dataset_inputs", [])
    ]
    return RunInputs(datasets, [LoggedModelInput(m["model_id"]) for m in data.get("model_inputs", [])])


def _outputs(data: dict[str, Any]) -> RunOutputs:
    return RunOutputs([LoggedModelOutput(m["model_id"], int(m.get("step", 0))) for m in data.get("model_outputs", [])])


def _dataset_json(item: DatasetInput) -> dict[str, Any]:
    dataset = {k: v for k, v in item.dataset.to_dictionary().items() if v is not None}
    return {"dataset": dataset, "tags": [{"key": t.key, "value": t.value} for t in item.tags]}


class RestTrackingStore(AbstractTrackingStore):
    """Experiments and runs on a tracking server."""

    remote = True
    """`get_tracking_store` hands `from_uri` the caller's `RestClientSettings`."""

    def __init__(self, uri: str, client: RestClient) -> None:
        self.uri = uri
        self.client = client

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_url(self.uri)!r})"

    @classmethod
    def from_uri(
        cls, uri: str, artifact_root: str | None = None, http: RestClientSettings | None = None
    ) -> RestTrackingStore:
        """`artifact_root` is ignored: the server decides where artifacts live. No `http` means
        no credentials and the default retries (what a caller without settings gets)."""
        return cls(uri, RestClient(uri, http or RestClientSettings()))

    @property
    def artifact_root(self) -> str:
        return f"{self.client.base_url}{ARTIFACTS_API}"

    # --- artifact URIs ------------------------------------------------------------------------
    def local_artifact_uri(self, uri: str | None) -> str:
        """`mlflow-artifacts:/x` (or `mlflow-artifacts://host/x`) -> this server's proxy URL."""
        if not uri or not uri.startswith(PROXY_PREFIX):
            return uri or ""
        rest = uri[len(PROXY_PREFIX) :]
        if rest.startswith("//"):
            rest = "/" + rest[2:].partition("/")[2]
        return f"{self.client.base_url}{ARTIFACTS_API}/{rest.lstrip('/')}"

    def server_artifact_uri(self, uri: str) -> str:
        prefix = f"{self.client.base_url}{ARTIFACTS_API}"
        return f"{PROXY_PREFIX}/{uri[len(prefix) :].lstrip('/')}" if uri.startswith(prefix) else uri

    # --- entities -----------------------------------------------------------------------------
    def _experiment(self, data: dict[str, Any]) -> Experiment:
        return Experiment(
            experiment_id=str(data["experiment_id"]),
            name=data["name"],
            artifact_location=self.local_artifact_uri(data.get("artifact_location")),
            lifecycle_stage=data.get("lifecycle_stage", "active"),
            tags=_kv(data.get("tags")),
            creation_time=data.get("creation_time"),
            last_update_time=data.get("last_update_time"),
        )

    def _info(self, info: dict[str, Any], tags: dict[str, str] | None = None) -> RunInfo:
        return RunInfo(
            run_id=info.get("run_id") or info["run_uuid"],
            experiment_id=str(info["experiment_id"]),
            run_name=info.get("run_name"),
            user_id=info.get("user_id"),
            status=info.get("status", "RUNNING"),
            start_time=info.get("start_time"),
            end_time=info.get("end_time"),
            artifact_uri=self.local_artifact_uri(info.get("artifact_uri")),
            lifecycle_stage=info.get("lifecycle_stage", "active"),
            parent_run_id=(tags or {}).get("mlflow.parentRunId"),
        )

    def _run(self, data: dict[str, Any]) -> Run:
        raw = data.get("data", {})
        tags = _kv(raw.get("tags"))
        metrics = {m["key"]: _float(m["value"]) for m in raw.get("metrics", [])}
        run_data = RunData(metrics, _kv(raw.get("params")), tags)
        return Run(
            self._info(data["info"], tags), run_data, _inputs(data.get("inputs", {})), _outputs(data.get("outputs", {}))
        )

    # --- experiments --------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[Any] | None = None
    ) -> str:
        body = {"name": name, "tags": [{"key": t.key, "value": str(t.value)} for t in tags or []]}
        if artifact_location is not None:
            body["artifact_location"] = self.server_artifact_uri(artifact_location)
        return str(self.client.call("POST", "/experiments/create", body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._experiment(
            self.client.call("GET", "/experiments/get", {"experiment_id": str(experiment_id)})["experiment"]
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            found = self.client.call("GET", "/experiments/get-by-name", {"experiment_name": name})
        except ResourceNotFound:
            return None
        return self._experiment(found["experiment"])

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        body = {"view_type": _VIEW_NAMES[view_type], "filter": filter_string, "order_by": list(order_by or [])}
        found = self.client.pages(
            "POST", "/experiments/search", body, "experiments", max_results, page_token=page_token
        )
        return PagedList([self._experiment(e) for e in found], found.token)

    def delete_experiment(self, experiment_id: str) -> None:
        self.client.call("POST", "/experiments/delete", {"experiment_id": str(experiment_id)})

    def restore_experiment(self, experiment_id: str) -> None:
        self.client.call("POST", "/experiments/restore", {"experiment_id": str(experiment_id)})

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.client.call("POST", "/experiments/update", {"experiment_id": str(experiment_id), "new_name": new_name})

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        self.client.call(
            "POST",
            "/experiments/set-experiment-tag",
            {"experiment_id": str(experiment_id), "key": tag.key, "value": str(tag.value)},
        )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.client.call(
            "POST", "/experiments/delete-experiment-tag", {"experiment_id": str(experiment_id), "key": key}
        )

    # --- runs ---------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        body = {
            "experiment_id": str(experiment_id),
            "user_id": user_id,
            "start_time": start_time,
            "run_name": run_name,
            "tags": [{"key": t.key, "value": t.value} for t in tags],
        }
        return self._run(
            self.client.call("POST", "/runs/create", {k: v for k, v in body.items() if v is not None})["run"]
        )

    def get_run(self, run_id: str) -> Run:
        return self._run(self.client.call("GET", "/runs/get", {"run_id": run_id})["run"])

    def update_run_info(self, run_id: str, run_status: str, end_time: int | None, run_name: str | None) -> RunInfo:
        body = {"run_id": run_id, "status": run_status, "end_time": end_time, "run_name": run_name}
        answer = self.client.call("POST", "/runs/update", {k: v for k, v in body.items() if v is not None})
        return self._info(answer["run_info"])

    def delete_run(self, run_id: str) -> None:
        self.client.call("POST", "/runs/delete", {"run_id": run_id})

    def restore_run(self, run_id: str) -> None:
        self.client.call("POST", "/runs/restore", {"run_id": run_id})

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> None:
        """Params and tags first (small), then metrics, each request within MLflow's limits."""
        for start in range(0, max(len(params), len(tags)), MAX_PARAMS):
            self.client.call(
                "POST",
                "/runs/log-batch",
                {
                    "run_id": run_id,
                    "params": [{"key": p.key, "value": p.value} for p in params[start : start + MAX_PARAMS]],
                    "tags": [{"key": t.key, "value": t.value} for t in tags[start : start + MAX_TAGS]],
                },
            )
        for start in range(0, len(metrics), MAX_METRICS):
            self.client.call(
                "POST",
                "/runs/log-batch",
                {
                    "run_id": run_id,
                    "metrics": [
                        {"key": m.key, "value": _json_float(m.value), "timestamp": m.timestamp, "step": m.step}
                        for m in metrics[start : start + MAX_METRICS]
                    ],
                },
            )

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        body = {
            "run_id": run_id,
            "datasets": [_dataset_json(d) for d in datasets or []],
            "models": [{"model_id": m.model_id} for m in models or []],
        }
        self.client.call("POST", "/runs/log-inputs", body)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        body = {"run_id": run_id, "models": [{"model_id": m.model_id, "step": m.step} for m in models]}
        self.client.call("POST", "/runs/outputs", body)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.client.call("POST", "/runs/delete-tag", {"run_id": run_id, "key": key})

    def get_metric_history(self, run_id: str, metric_key: str) -> list[Metric]:
        found: list[Metric] = []
        token = None
        while True:
            answer = self.client.call(
                "GET", "/metrics/get-history", {"run_id": run_id, "metric_key": metric_key, "page_token": token}
            )
            found += [
                Metric(m["key"], _float(m["value"]), int(m.get("timestamp", 0)), int(m.get("step", 0)), run_id)
                for m in answer.get("metrics", [])
            ]
            token = answer.get("next_page_token")
            if not token:
                return found

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        check_max_results(max_results)
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string,
            "run_view_type": _VIEW_NAMES[run_view_type],
            "order_by": list(order_by or []),
        }
        found = self.client.pages("POST", "/runs/search", body, "runs", max_results, page_token=page_token)
        return PagedList([self._run(r) for r in found], found.token)


__all__ = ["RestTrackingStore"]
