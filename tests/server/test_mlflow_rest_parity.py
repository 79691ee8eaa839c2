"""The real `mlflow` client against `shipyard server` and against a real `mlflow server`: the same
calls give the same answers (issue #12, item 9: the tracking server's REST API).

Each test drives both servers through `MlflowClient` and compares what they return; where
Shipyard differs on purpose (docs/mlflow-differences.md), the test says so.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelInput, LoggedModelOutput
from mlflow.exceptions import RestException
from packaging.version import Version

import shipyard

IS_PROMPT = "mlflow.prompt.is_prompt"
CONTEXT = "mlflow.data.context"
MLMODEL = "flavors:\n  python_function:\n    loader_module: shipyard.flavors.python_model\n    python_version: 3.11\n"


@dataclass
class Target:
    kind: str  # "shipyard" or "mlflow"
    url: str

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory, mlflow_server_control: Any) -> Iterator[Target]:
    """A real `mlflow server` (sqlite, proxied artifacts) of this module's own, the reference."""
    start, stop = mlflow_server_control
    server = start(tmp_path_factory.mktemp("mlflow-server"))
    yield Target("mlflow", server.url)
    stop(server)


@pytest.fixture()
def targets(shared_server: Any, mlflow_server: Target, monkeypatch: pytest.MonkeyPatch) -> list[Target]:
    """Both servers; the client fails fast (no retries) so a wrong answer is seen at once."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    return [Target("shipyard", shared_server.url), mlflow_server]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _call(target: Target, method: str, path: str, body: dict[str, Any]) -> None:
    response = requests.request(method, f"{target.url}/api/2.0/mlflow{path}", json=body, timeout=30)
    assert response.status_code == 200, response.text


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(RestException) as caught:
        call()
    payload: dict[str, Any] = caught.value.json
    return payload


def _model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / f"model-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "MLmodel").write_text(MLMODEL)
    (folder / "weights.txt").write_text("0.5\n")
    return folder


def _run_with_model(client: MlflowClient, tmp_path: Path) -> tuple[str, Any]:
    experiment_id = client.create_experiment(_unique("parity"))
    run = client.create_run(experiment_id)
    client.log_artifacts(run.info.run_id, str(_model_folder(tmp_path)), "model")
    return experiment_id, client.get_run(run.info.run_id)


# --- registered models and versions: `!=` matches a missing tag ----------------------------------
def test_search_excludes_only_models_tagged_as_prompts(targets: list[Target], tmp_path: Path) -> None:
    seen = {}
    for target in targets:
        client = target.client
        prefix = _unique("prompt-filter")
        _, run = _run_with_model(client, tmp_path)
        for suffix, value in (("plain", None), ("false", "false"), ("prompt", "true")):
            name = f"{prefix}-{suffix}"
            client.create_registered_model(name)
            mv = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
            assert mv.version == "1"
            if value is not None:  # NOTE: the mlflow client refuses prompt tags on models; set them over REST
                tag = {"name": name, "key": IS_PROMPT, "value": value}
                _call(target, "POST", "/registered-models/set-tag", tag)
                _call(target, "POST", "/model-versions/set-tag", {**tag, "version": "1"})
        # The mlflow client adds tags.`mlflow.prompt.is_prompt` != 'true' to every model search.
        models = sorted(m.name[len(prefix) + 1 :] for m in client.search_registered_models(f"name LIKE '{prefix}%'"))
        versions = sorted(
            v.name[len(prefix) + 1 :]
            for v in client.search_model_versions(f"name LIKE '{prefix}%' AND tags.`{IS_PROMPT}` != 'true'")
        )
        seen[target.kind] = (models, versions)
    assert seen["shipyard"] == seen["mlflow"] == (["false", "plain"], ["false", "plain"])


# --- model-versions/create: the sources MLflow accepts ---------------------------------------------
def test_model_version_sources_mlflow_accepts(targets: list[Target], tmp_path: Path) -> None:
    seen: dict[str, list[str]] = {}
    for target in targets:
        client = target.client
        name = _unique("sources")
        client.create_registered_model(name)
        experiment_id, run = _run_with_model(client, tmp_path)
        run_id = run.info.run_id
        logged = client.create_logged_model(experiment_id, name="lm", source_run_id=run_id)
        client.log_model_artifacts(logged.model_id, str(_model_folder(tmp_path)))
        sources = [
            (f"runs:/{run_id}/model", {"run_id": run_id}),
            (run.info.artifact_uri + "/model", {"run_id": run_id}),  # an mlflow-artifacts:/ URI in the run
            (f"models:/{logged.model_id}", {"model_id": logged.model_id}),
            (logged.artifact_location, {"model_id": logged.model_id}),  # the logged model's folder
            (f"models:/{name}/1", {}),
        ]
        seen[target.kind] = [client.create_model_version(name, source, **ids).version for source, ids in sources]
        if target.kind == "shipyard":
            for version in seen["shipyard"]:
                answer = requests.get(
                    f"{target.url}/api/2.0/mlflow/model-versions/get", params={"name": name, "version": version}
                ).json()["model_version"]
                assert answer["digest"].startswith("sha256:"), "every version is copied into verified storage"
                assert answer["storage_location"].startswith("mlflow-artifacts:/")
            loaded = shipyard.Client(target.url).get_model_version(name, 3)
            assert loaded.run_id == run_id, "a logged model's version keeps the run it came from"
    assert seen["shipyard"] == seen["mlflow"] == ["1", "2", "3", "4", "5"]


def test_model_version_sources_mlflow_refuses_are_refused_in_its_words(targets: list[Target], tmp_path: Path) -> None:
    seen: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        client = target.client
        name = _unique("bad-sources")
        client.create_registered_model(name)
        _, run = _run_with_model(client, tmp_path)
        other = client.create_run(run.info.experiment_id).info.run_id
        missing = uuid.uuid4().hex
        calls = [
            ("/srv/models/iris", {}),  # a plain path without a run
            ("/srv/models/iris", {"run_id": missing}),  # a run_id that names no run
            (run.info.artifact_uri + "/model", {"run_id": missing}),
            (f"runs:/{run.info.run_id}/model", {"run_id": other}),  # the source is not in that run
            (run.info.artifact_uri + "/model", {"run_id": other}),
        ]
        answers = []
        for source, ids in calls:
            answer = _error(partial(client.create_model_version, name, source, **ids))
            answers.append({"error_code": answer["error_code"], "message": answer["message"].replace(missing, "<id>")})
        seen[target.kind] = answers
    for theirs, ours in zip(seen["mlflow"], seen["shipyard"], strict=True):
        assert ours["error_code"] == theirs["error_code"] == "INVALID_PARAMETER_VALUE"
        assert ours["message"].split("'")[0] == theirs["message"].split("'")[0] == "Invalid model version source: "
        # The same sentence after the source; Shipyard may add which sources it takes.
        assert ours["message"].split("'. ")[1].startswith(theirs["message"].split("'. ")[1])


# --- error texts and codes clients match on --------------------------------------------------------
def test_errors_use_mlflows_codes_and_words(targets: list[Target]) -> None:
    seen: dict[str, dict[str, tuple[str, str]]] = {}
    for target in targets:
        client = target.client
        name = _unique("errors")
        client.create_registered_model(name)
        missing_run = uuid.uuid4().hex
        answers = {
            "get_run": _error(partial(client.get_run, missing_run)),
            "get_experiment": _error(partial(client.get_experiment, "987654")),
            "create_registered_model": _error(partial(client.create_registered_model, name)),
            "get_registered_model": _error(partial(client.get_registered_model, name + "-nope")),
            "search_experiments": _error(partial(client.search_experiments, max_results=-1)),
            "get_model_version": _error(partial(client.get_model_version, name, "7")),
        }
        seen[target.kind] = {
            call: (a["error_code"], a["message"].replace(missing_run, "<id>").replace(name, "<name>"))
            for call, a in answers.items()
        }
    ours, theirs = seen["shipyard"], seen["mlflow"]
    assert {call: code for call, (code, _) in ours.items()} == {call: code for call, (code, _) in theirs.items()}
    assert ours["get_run"][1] == "Run '<id>' not found"
    assert theirs["get_run"][1] == "Run with id=<id> not found"  # the SQL store's words; "Run ... not found" both
    for call in ("get_experiment", "create_registered_model"):
        assert ours[call][1] == theirs[call][1]
    for call in ("get_registered_model", "search_experiments", "get_model_version"):
        # Shipyard's message starts with MLflow's sentence and may add what does exist.
        assert ours[call][1].startswith(theirs[call][1].split(". ")[0].rstrip(".")), (ours[call], theirs[call])


# --- artifact downloads, GET /version --------------------------------------------------------------
def test_artifact_downloads_carry_mlflows_content_disposition(targets: list[Target], tmp_path: Path) -> None:
    names = ["report.txt", "with space.txt", 'quote"d.csv', "naïve.txt"]
    folder = tmp_path / "files"
    folder.mkdir()
    for file_name in names:
        (folder / file_name).write_text("x")
    seen = {}
    for target in targets:
        client = target.client
        run = client.create_run(client.create_experiment(_unique("downloads")))
        client.log_artifacts(run.info.run_id, str(folder))
        relative = run.info.artifact_uri.split("mlflow-artifacts:", 1)[1].lstrip("/")
        headers = []
        for file_name in names:
            response = requests.get(f"{target.url}/api/2.0/mlflow-artifacts/artifacts/{relative}/{file_name}")
            assert response.status_code == 200 and response.text == "x"
            headers.append(response.headers["Content-Disposition"])
        seen[target.kind] = headers
    assert seen["shipyard"] == seen["mlflow"]
    assert seen["shipyard"][0] == "attachment; filename=report.txt"


def test_version_is_plain_text_unless_json_is_asked_for(targets: list[Target]) -> None:
    ours, theirs = (requests.get(target.url + "/version") for target in targets)
    assert ours.status_code == theirs.status_code == 200
    assert Version(theirs.text) and Version(ours.text) == Version(shipyard.__version__)
    assert ours.headers["content-type"].startswith("text/plain")
    as_json = requests.get(targets[0].url + "/version", headers={"Accept": "application/json"})
    assert as_json.json() == {"name": "shipyard", "component": "tracking-server", "version": shipyard.__version__}


# --- runs: inputs and outputs ----------------------------------------------------------------------
def _io(run: Any) -> dict[str, Any]:
    return {
        "datasets": [
            (d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source, d.dataset.schema)
            + tuple(sorted((t.key, t.value) for t in d.tags))
            for d in run.inputs.dataset_inputs
        ],
        "model_inputs": len(run.inputs.model_inputs),
        "model_outputs": [o.step for o in run.outputs.model_outputs],
    }


def test_runs_report_dataset_and_model_inputs_and_outputs(targets: list[Target]) -> None:
    seen = {}
    for target in targets:
        client = target.client
        experiment_id = client.create_experiment(_unique("io"))
        run_id = client.create_run(experiment_id).info.run_id
        model = client.create_logged_model(experiment_id, name="out", source_run_id=run_id)
        used = client.create_logged_model(experiment_id, name="in")
        dataset = Dataset("iris", "d1g3st", "local", "/data/iris.csv", '{"mlflow_colspec": []}')
        train = DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])
        client.log_inputs(run_id, [train], [LoggedModelInput(used.model_id)])
        client.log_inputs(run_id, [train])  # the same input again is kept once
        client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 3)])
        run = client.get_run(run_id)
        assert run.inputs.model_inputs[0].model_id == used.model_id
        assert run.outputs.model_outputs[0].model_id == model.model_id
        (searched,) = client.search_runs([experiment_id])
        # NOTE: MLflow's runs/search leaves out model inputs; Shipyard's reports them as runs/get does.
        expected = {**_io(run), "model_inputs": 1 if target.kind == "shipyard" else 0}
        assert _io(searched) == expected, target.kind
        # MLflow's `datasets.*` filters, answered from the store's own tables
        for filter_string, matches in (
            ("datasets.name = 'iris' AND datasets.context = 'train'", [run_id]),
            ("datasets.digest IN ('d1g3st', 'other')", [run_id]),
            ("datasets.context = 'eval'", []),
        ):
            assert [r.info.run_id for r in client.search_runs([experiment_id], filter_string)] == matches, filter_string
        # Shipyard's own REST store reads and writes the same inputs, against either server
        ours = shipyard.Client(tracking_uri=target.url)
        mine = ours.get_run(run_id)
        assert [(d.dataset.name, d.dataset.digest, d.dataset.source) for d in mine.inputs.dataset_inputs] == [
            ("iris", "d1g3st", "/data/iris.csv")
        ]
        assert [(o.model_id, o.step) for o in mine.outputs.model_outputs] == [(model.model_id, 3)]
        second = ours.create_run(experiment_id).info.run_id
        eval_set = shipyard.entities.Dataset("wine", "w1n3", "local", "/data/wine.csv")
        eval_input = shipyard.entities.DatasetInput(eval_set, [shipyard.entities.InputTag(CONTEXT, "eval")])
        ours.log_inputs(second, [eval_input])
        ours.log_outputs(second, [shipyard.entities.LoggedModelOutput(model.model_id, 7)])
        theirs = client.get_run(second)
        assert [(d.dataset.name, {t.key: t.value for t in d.tags}) for d in theirs.inputs.dataset_inputs] == [
            ("wine", {CONTEXT: "eval"})
        ]
        assert [(o.model_id, o.step) for o in theirs.outputs.model_outputs] == [(model.model_id, 7)]
        seen[target.kind] = _io(run)
    assert seen["shipyard"] == seen["mlflow"]
    assert seen["shipyard"]["datasets"][0][:2] == ("iris", "d1g3st")


# --- experiments: delete-experiment-tag, relative artifact_location, default order -----------------
def test_delete_experiment_tag(targets: list[Target]) -> None:
    seen = {}
    for target in targets:
        client = target.client
        experiment_id = client.create_experiment(_unique("tags"), tags={"keep": "1", "drop": "2"})
        client.delete_experiment_tag(experiment_id, "drop")
        missing = _error(partial(client.delete_experiment_tag, experiment_id, "drop"))
        seen[target.kind] = (
            client.get_experiment(experiment_id).tags,
            missing["error_code"],
            missing["message"].replace(experiment_id, "<id>"),
        )
    assert seen["shipyard"] == seen["mlflow"]
    assert seen["shipyard"][:2] == ({"keep": "1"}, "RESOURCE_DOES_NOT_EXIST")
    local = shipyard.Client(targets[0].url)
    experiment_id = local.create_experiment(_unique("tags-local"), tags={"a": "b"})
    local.delete_experiment_tag(experiment_id, "a")
    assert local.get_experiment(experiment_id).tags == {}


def test_relative_artifact_location_is_accepted(targets: list[Target], tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("n")
    for target in targets:
        client = target.client
        relative = f"team/{_unique('rel')}"
        experiment_id = client.create_experiment(_unique("relative"), artifact_location=relative)
        location = client.get_experiment(experiment_id).artifact_location
        run = client.create_run(experiment_id)
        client.log_artifact(run.info.run_id, str(tmp_path / "note.txt"))
        assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["note.txt"]
        # NOTE: MLflow resolves it against its working directory; Shipyard under its artifact root.
        expected = f"mlflow-artifacts:/{relative}" if target.kind == "shipyard" else None
        assert location == expected if expected else location.endswith(relative)
    escape = _error(lambda: targets[0].client.create_experiment(_unique("escape"), artifact_location="../out"))
    assert escape["error_code"] == "INVALID_PARAMETER_VALUE" and "'..'" in escape["message"]


def test_experiment_search_default_order(targets: list[Target]) -> None:
    seen = {}
    for target in targets:
        client = target.client
        prefix = _unique("order")
        for index in range(4):
            client.create_experiment(f"{prefix}-{index}")
            time.sleep(0.005)
        found = client.search_experiments(filter_string=f"name LIKE '{prefix}%'", max_results=3)
        rest = client.search_experiments(filter_string=f"name LIKE '{prefix}%'", page_token=found.token)
        seen[target.kind] = [e.name[len(prefix) + 1 :] for e in [*found, *rest]]
    assert seen["shipyard"] == seen["mlflow"] == ["3", "2", "1", "0"]


# --- logged models: delete, tag delete, search pages -----------------------------------------------
def test_delete_logged_model_and_its_tag(targets: list[Target]) -> None:
    seen = {}
    for target in targets:
        client = target.client
        model = client.create_logged_model(client.create_experiment(_unique("lm-delete")), name="m")
        client.set_logged_model_tags(model.model_id, {"a": "1", "b": "2"})
        client.delete_logged_model_tag(model.model_id, "a")
        tags = client.get_logged_model(model.model_id).tags
        client.delete_logged_model(model.model_id)
        gone = _error(partial(client.get_logged_model, model.model_id))
        seen[target.kind] = (tags, gone["error_code"], gone["message"].replace(model.model_id, "<id>"))
    assert seen["shipyard"] == seen["mlflow"]
    assert seen["shipyard"] == ({"b": "2"}, "RESOURCE_DOES_NOT_EXIST", "Logged model with ID '<id>' not found.")


def _token(token: str, experiment_id: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(token))
    assert decoded["experiment_ids"] == [experiment_id]
    return {**decoded, "experiment_ids": ["<id>"]}


def test_logged_model_search_pages_like_mlflow(targets: list[Target]) -> None:
    seen = {}
    for target in targets:
        client = target.client
        experiment_id = client.create_experiment(_unique("lm-pages"))
        for index in range(5):
            client.create_logged_model(experiment_id, name=f"m{index}")
            time.sleep(0.005)
        names, tokens, token = [], [], None
        while True:
            page = client.search_logged_models([experiment_id], max_results=2, page_token=token)
            names.append([m.name for m in page])
            token = page.token
            if not token:
                break
            tokens.append(_token(token, experiment_id))
        named = [m.name for m in client.search_logged_models([experiment_id], filter_string="name = 'm3'")]
        other = client.create_experiment(_unique("lm-other"))
        wrong = _error(partial(client.search_logged_models, [other], page_token=_raw(experiment_id)))
        seen[target.kind] = (names, tokens, named, wrong["error_code"])
    assert seen["shipyard"] == seen["mlflow"]
    assert seen["shipyard"][0] == [["m4", "m3"], ["m2", "m1"], ["m0"]]


def _raw(experiment_id: str) -> str:
    """A token MLflow would issue for another experiment's search."""
    token = {"experiment_ids": [experiment_id], "filter_string": None, "order_by": None, "offset": 2}
    return base64.b64encode(json.dumps(token).encode()).decode()
