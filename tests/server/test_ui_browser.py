"""The web UI in a real headless Chromium (Debian's package, driven by Playwright): find the run,
see its metric chart and artifacts, promote a version to Production and see the stage change.
Screenshots land in the test's tmp folder (and in SHIPYARD_SCREENSHOT_DIR when set)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

_spec = importlib.util.spec_from_file_location("ui_support", Path(__file__).with_name("ui_support.py"))
assert _spec is not None and _spec.loader is not None
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)
CHROMIUM, CHROMIUM_ARGS, _screenshot = support.CHROMIUM, support.CHROMIUM_ARGS, support.screenshot


def test_ui_pages_render_without_a_browser(mlflow_run: dict[str, Any], shared_server: Any) -> None:
    run_page = requests.get(f"{shared_server.url}/ui/runs/{mlflow_run['run_id']}", timeout=10)
    assert run_page.status_code == 200 and 'id="chart-data"' in run_page.text
    charts = json.loads(run_page.text.split('id="chart-data">', 1)[1].split("</script>", 1)[0])
    assert [c["key"] for c in charts if c["key"] == "accuracy"] == ["accuracy"]
    html = requests.get(
        f"{shared_server.url}/ui/runs/{mlflow_run['run_id']}/artifact",
        params={"path": "reports/report.html"},
        timeout=10,
    )
    assert html.headers["content-security-policy"] == "sandbox" and html.text.startswith("<html>")
    missing = requests.get(
        f"{shared_server.url}/ui/runs/{mlflow_run['run_id']}/artifact", params={"path": "../../x"}, timeout=10
    )
    assert missing.status_code == 400
    forged = requests.post(
        f"{shared_server.url}/ui/models/iris-remote/versions/1/stage",
        data={"stage": "Archived"},
        headers={"Origin": "http://evil.example"},
        timeout=10,
        allow_redirects=False,
    )
    assert forged.status_code == 403
    assert requests.get(f"{shared_server.url}/ui/models/nope", timeout=10).status_code == 404


def test_run_page_overlays_compared_runs(mlflow_run: dict[str, Any], shared_server: Any) -> None:
    api = shared_server.url + "/api/2.0/mlflow"
    experiment = requests.get(
        api + "/experiments/get-by-name", params={"experiment_name": "iris-remote"}, timeout=10
    ).json()
    other = requests.post(
        api + "/runs/create",
        json={"experiment_id": experiment["experiment"]["experiment_id"], "run_name": "second"},
        timeout=10,
    ).json()["run"]["info"]["run_id"]
    metrics = [{"key": "accuracy", "value": 0.5 + step / 10, "timestamp": 1, "step": step} for step in range(5)]
    assert (
        requests.post(api + "/runs/log-batch", json={"run_id": other, "metrics": metrics}, timeout=10).status_code
        == 200
    )
    compared = requests.get(
        f"{shared_server.url}/ui/compare", params={"runs": f"{mlflow_run['run_id']},{other}"}, timeout=10
    ).text
    charts = json.loads(compared.split('id="chart-data">', 1)[1].split("</script>", 1)[0])
    accuracy = next(c for c in charts if c["key"] == "accuracy")
    assert [s["label"] for s in accuracy["series"]] == ["mlflow-client", "second"]
    assert accuracy["series"][1]["value"] == [0.5 + step / 10 for step in range(5)]
    table = requests.get(
        f"{shared_server.url}/ui/experiments/{experiment['experiment']['experiment_id']}",
        params={"filter": "metrics.accuracy > 0.85"},
        timeout=10,
    ).text
    assert "second" in table and "mlflow-client" not in table


# NOTE: under CI=true the test runs even without chromium, so a missing install fails instead of hiding.
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI", "").lower() != "true",
    reason="Debian's chromium is not installed (.ci/run installs it)",
)
def test_browser_finds_run_chart_and_promotes_a_version(
    mlflow_run: dict[str, Any], shared_server: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    created = requests.post(
        f"{shared_server.url}/api/2.0/mlflow/registered-models/create", json={"name": "iris-browser"}, timeout=30
    )
    assert created.status_code == 200
    version = requests.post(
        f"{shared_server.url}/api/2.0/mlflow/model-versions/create",
        json={"name": "iris-browser", "source": "models:/iris-remote/1"},
        timeout=60,
    )
    assert version.status_code == 200, version.text
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{shared_server.url}/#/experiments/1/runs/{mlflow_run['run_id']}")  # the link mlflow prints
            page.wait_for_url(f"**/ui/runs/{mlflow_run['run_id']}")
            page.goto(shared_server.url + "/")
            page.get_by_role("link", name="iris-remote").click()
            page.get_by_label("Quick filter (this page)").fill("mlflow-client")
            page.locator("a.run-link", has_text="mlflow-client").click()
            chart = page.locator('figure.chart[data-metric="accuracy"]')
            chart.locator("canvas").first.wait_for()
            assert chart.count() == 1
            assert page.locator("table.kv").first.inner_text().count("alpha") == 1
            page.locator("ul.tree a", has_text="reports").click()
            page.locator("ul.tree a", has_text="report.html").click()
            assert page.locator("iframe[sandbox]").count() == 1
            _screenshot(page, tmp_path, "run.png")

            page.get_by_role("link", name="Models").click()
            page.get_by_role("link", name="iris-browser").click()
            stage = page.get_by_test_id("stage-1")
            assert stage.inner_text() == "None"
            page.get_by_label("stage for version 1").select_option("Production")
            page.locator('tr[data-version="1"] button', has_text="Transition").click()
            page.get_by_role("status").wait_for()
            assert page.get_by_test_id("stage-1").inner_text() == "Production"
            assert "Production" in page.locator("#history").inner_text()
            page.get_by_label("alias for version 1").fill("champion")
            page.locator('tr[data-version="1"] button', has_text="Set alias").click()
            page.get_by_text("@champion now points at version 1").wait_for()
            assert "@champion" in page.locator('tr[data-version="1"]').inner_text()
            shot = _screenshot(page, tmp_path, "model.png")
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    answer = requests.get(
        f"{shared_server.url}/api/2.0/mlflow/model-versions/get",
        params={"name": "iris-browser", "version": "1"},
        timeout=10,
    )
    assert answer.json()["model_version"]["current_stage"] == "Production"
