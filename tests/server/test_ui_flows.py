"""The UI's daily flows in a real headless Chromium against a real `shipyard server`: register a
model from a run's artifacts and land on the version page; edit descriptions and tags; compare
three runs and find the differing param highlighted; a 5,000-step series keeps its one spike in
the data the page receives; page through a 10,000-run experiment; sign in with a token under a
`--static-prefix`. Screenshots go to SHIPYARD_SCREENSHOT_DIR when set."""

from __future__ import annotations

import importlib.util
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from sklearn.linear_model import LogisticRegression

import shipyard.sklearn
from shipyard.server.charts import MAX_POINTS

_spec = importlib.util.spec_from_file_location("ui_support", Path(__file__).with_name("ui_support.py"))
assert _spec is not None and _spec.loader is not None
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)

# NOTE: under CI=true the tests run even without chromium, so a missing install fails instead of hiding.
needs_chromium = pytest.mark.skipif(
    not Path(support.CHROMIUM).exists() and os.environ.get("CI", "").lower() != "true",
    reason="Debian's chromium is not installed (.ci/run installs it)",
)
SPIKE_STEP, SPIKE = 3217, 1000.0


def _api(server: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{server.url}/api/2.0/mlflow/{path}", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _browser(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=support.CHROMIUM, args=support.CHROMIUM_ARGS)


def _runs(server: Any, tmp_path: Path) -> tuple[str, list[str]]:
    """Experiment 'flows' with three runs (alpha differs, solver is the same); the first has a
    model directory in its artifacts and a 5,000-step loss with one spike."""
    import mlflow

    experiment_id = _api(server, "experiments/create", {"name": "flows"})["experiment_id"]
    run_ids = []
    for index in range(3):
        run = _api(server, "runs/create", {"experiment_id": experiment_id, "run_name": f"trial-{index}"})
        run_id = run["run"]["info"]["run_id"]
        params = [{"key": "alpha", "value": str(index)}, {"key": "solver", "value": "lbfgs"}]
        metrics = [{"key": "accuracy", "value": 0.8 + index / 20, "timestamp": 1, "step": 0}]
        _api(server, "runs/log-batch", {"run_id": run_id, "params": params, "metrics": metrics})
        run_ids.append(run_id)
    history = [
        {"key": "loss", "value": SPIKE if s == SPIKE_STEP else 1 / (s + 1), "timestamp": 1000 + s, "step": s}
        for s in range(5000)
    ]
    for start in range(0, 5000, 1000):
        _api(server, "runs/log-batch", {"run_id": run_ids[0], "metrics": history[start : start + 1000]})
    features = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(features, [0, 1, 0, 1])
    shipyard.sklearn.save_model(model, tmp_path / "model", input_example=features.head(2))
    mlflow.MlflowClient(tracking_uri=server.url).log_artifacts(run_ids[0], str(tmp_path / "model"), "model")
    return experiment_id, run_ids


@needs_chromium
def test_register_edit_compare_and_spike(server_factory: Callable[..., Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    server = server_factory()
    experiment_id, run_ids = _runs(server, tmp_path)
    shots = tmp_path / "shots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server.url}/ui/runs/{run_ids[0]}")
            assert page.title() == "trial-0 · Shipyard"
            sent = json.loads(page.locator("#chart-data").text_content() or "")
            loss = next(c for c in sent if c["key"] == "loss")["series"][0]
            assert loss["total"] == 5000 and len(loss["step"]) <= MAX_POINTS
            assert SPIKE_STEP in loss["step"] and max(loss["value"]) == SPIKE
            page.locator('figure.chart[data-metric="loss"] canvas').first.wait_for()
            page.get_by_label("log scale").check()
            page.locator('figure.chart[data-metric="loss"] canvas').first.wait_for()
            support.screenshot(page, shots, "run_chart.png")

            # the run's description and tags
            page.get_by_text("Edit description").click()
            page.get_by_label("Description (Markdown)").fill("Baseline with **bold** claims")
            page.get_by_role("button", name="Save description").click()
            page.get_by_role("status").wait_for()
            assert page.locator("#description strong").inner_text() == "bold"
            page.locator("#tags").get_by_label("Tag name").fill("team")
            page.locator("#tags").get_by_label("Value").fill("vision")
            page.locator("#tags").get_by_role("button", name="Set tag").click()
            page.get_by_text("tag 'team' set").wait_for()
            assert "vision" in page.locator('#tags tr[data-tag="team"]').inner_text()

            # register from the run's artifacts
            page.locator("ul.tree a", has_text="model").click()
            assert page.locator("ul.tree li.model, #register-form").count() >= 1
            page.get_by_label("Model name (new or existing)").fill("flows-model")
            support.screenshot(page, shots, "run_artifacts_register.png")
            page.get_by_role("button", name="Register model").click()
            page.wait_for_url("**/ui/models/flows-model/versions/1?message=*")
            assert "registered flows-model version 1" in page.get_by_role("status").inner_text()
            assert page.get_by_test_id("digest").inner_text().startswith("sha256:")
            assert page.locator("#sig-inputs").inner_text().count("double") == 2
            assert "dataframe_split" in page.locator("#cmd-curl").inner_text()
            assert page.locator("a.source-run").inner_text() == "trial-0"
            page.get_by_label("stage for version 1").select_option("Staging")
            page.get_by_role("button", name="Transition").click()
            page.get_by_text("version 1 is now in Staging").wait_for()
            assert page.get_by_test_id("version-stage").inner_text() == "Staging"
            page.get_by_text("Edit description").click()
            page.get_by_label("Description (Markdown)").fill("First *registered* version")
            page.get_by_role("button", name="Save description").click()
            page.get_by_role("status").wait_for()
            assert page.locator("#description em").inner_text() == "registered"
            support.screenshot(page, shots, "version.png")

            # the registered model's page: tags, then delete needs the name typed
            page.get_by_role("link", name="flows-model").click()
            page.locator("#tags").get_by_label("Tag name").fill("owner")
            page.locator("#tags").get_by_label("Value").fill("ml-team")
            page.locator("#tags").get_by_role("button", name="Set tag").click()
            page.get_by_text("tag 'owner' set").wait_for()
            support.screenshot(page, shots, "registered_model.png")
            page.get_by_text("Delete this model").click()
            page.get_by_label("Type flows-model to confirm").fill("wrong")
            page.get_by_role("button", name="Delete model and all versions").click()
            assert "type its name" in page.get_by_role("alert").inner_text()

            # compare three runs from the experiment table
            page.goto(f"{server.url}/ui/experiments/{experiment_id}")
            for run_id in run_ids:
                page.locator(f'input.pick[value="{run_id}"]').check()
            support.screenshot(page, shots, "experiment.png")
            page.get_by_role("button", name="Compare selected runs").click()
            page.wait_for_url("**/ui/compare?*")
            assert page.title() == "Compare 3 runs · Shipyard"
            alpha = page.locator('#compare-params tr[data-key="alpha"]')
            solver = page.locator('#compare-params tr[data-key="solver"]')
            assert alpha.get_attribute("class") == "differs" and solver.get_attribute("class") == "same"
            assert alpha.evaluate("row => getComputedStyle(row.cells[1]).backgroundColor") != "rgba(0, 0, 0, 0)"
            assert page.locator("svg.parallel polyline").count() == 3
            page.locator("#scatter canvas").first.wait_for()
            support.screenshot(page, shots, "compare.png")
        finally:
            browser.close()
    tags = requests.get(f"{server.url}/api/2.0/mlflow/runs/get", params={"run_id": run_ids[0]}, timeout=10)
    found = {t["key"]: t["value"] for t in tags.json()["run"]["data"]["tags"]}
    assert found["team"] == "vision" and found["mlflow.note.content"] == "Baseline with **bold** claims"


@needs_chromium
def test_paginate_a_10000_run_experiment(server_factory: Callable[..., Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    server = server_factory()
    experiment_id, run_ids = support.seed_runs(server.db_uri, "ten-thousand", 10_000)
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server.url}/ui/experiments/{experiment_id}")
            links = page.locator("a.run-link")
            assert links.count() == 100 and links.first.inner_text() == "run-09999"
            page.get_by_role("link", name="Next page").click()
            page.get_by_text("Page 2 · 100 runs").wait_for()
            assert links.first.inner_text() == "run-09899"
            page.get_by_role("link", name="Next page").click()
            page.get_by_text("Page 3 · 100 runs").wait_for()
            page.get_by_role("link", name="Previous page").click()
            page.get_by_text("Page 2 · 100 runs").wait_for()
            assert links.first.inner_text() == "run-09899"
            page.get_by_role("link", name="loss").click()  # sort by the metric, descending
            page.get_by_role("link", name="loss ▼").click()  # then ascending
            assert links.first.inner_text() == "run-00000"
            page.get_by_label("Search runs").fill("params.alpha = '3' and metrics.loss < 0.01")
            page.get_by_role("button", name="Search").click()
            assert page.locator("a.run-link").count() == 10
            page.get_by_label("Search runs").fill("params.alpha ==== 3")
            page.get_by_role("button", name="Search").click()
            assert "alpha" in page.get_by_role("alert").inner_text()
            page.goto(f"{server.url}/ui/experiments/{experiment_id}")
            support.screenshot(page, tmp_path, "experiment_10k.png")
        finally:
            browser.close()
    assert len(run_ids) == 10_000


@needs_chromium
def test_token_login_under_a_static_prefix(server_factory: Callable[..., Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    tokens = tmp_path / "tokens"
    tokens.write_text("s3cret-token\n")
    server = server_factory("--static-prefix", "/mlflow", "--auth-token-file", str(tokens))
    assert requests.get(server.url + "/mlflow/health", timeout=10).status_code == 200
    unsigned = requests.get(server.url + "/mlflow/ui/models", timeout=10, allow_redirects=False)
    assert unsigned.status_code == 303 and unsigned.headers["location"] == "/mlflow/login"
    api = requests.get(server.url + "/mlflow/api/2.0/mlflow/experiments/search", timeout=10)
    assert api.status_code == 401 and api.json()["error_code"] == "UNAUTHENTICATED"
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server.url + "/mlflow/")
            page.wait_for_url("**/mlflow/login")
            assert page.title() == "Sign in · Shipyard"
            support.screenshot(page, tmp_path, "login.png")
            page.get_by_label("Access token").fill("s3cret-token")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/mlflow/")
            page.get_by_label("New experiment").fill("behind-proxy")
            page.get_by_role("button", name="Create experiment").click()
            page.get_by_text("experiment 'behind-proxy' created").wait_for()
            assert "/mlflow/ui/experiments/" in page.url
            page.get_by_role("link", name="Models").click()
            page.wait_for_url("**/mlflow/ui/models")
            page.get_by_role("link", name="Experiments").click()
            assert page.get_by_role("link", name="behind-proxy").count() == 1
        finally:
            browser.close()
    headers = {"Authorization": "Bearer s3cret-token"}
    found = requests.get(
        server.url + "/mlflow/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": "behind-proxy"},
        headers=headers,
        timeout=10,
    )
    assert found.status_code == 200 and math.isfinite(float(found.json()["experiment"]["experiment_id"]))
