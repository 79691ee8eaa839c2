"""The UI's pages and form actions over plain HTTP against a real `shipyard server`: errors are
pages (not JSON) with the right status, actions need the server's own origin, Markdown cannot
inject HTML, experiments and runs are created, renamed, deleted and restored, basic auth makes
the browser prompt, and a bad `--static-prefix` is refused by name."""

from __future__ import annotations

import html
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


def _post(server: Any, path: str, data: dict[str, Any], origin: str | None = None) -> requests.Response:
    headers = {"Origin": origin or server.url}
    return requests.post(server.url + path, data=data, headers=headers, timeout=30, allow_redirects=False)


def _api(server: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{server.url}/api/2.0/mlflow/{path}", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_forms_manage_experiments_runs_and_show_errors_as_pages(server_factory: Callable[..., Any]) -> None:
    server = server_factory()
    created = _post(server, "/ui/experiments", {"name": "first"})
    assert created.status_code == 303 and "/ui/experiments/" in created.headers["location"]
    experiment_id = created.headers["location"].split("/ui/experiments/", 1)[1].split("?", 1)[0]
    assert _post(server, f"/ui/experiments/{experiment_id}/rename", {"name": "renamed"}).status_code == 303
    run_id = _api(server, "runs/create", {"experiment_id": experiment_id, "run_name": "r"})["run"]["info"]["run_id"]

    deleted = _post(server, f"/ui/experiments/{experiment_id}/runs/delete", {"runs": run_id})
    assert deleted.status_code == 303
    info = requests.get(f"{server.url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=10).json()
    assert info["run"]["info"]["lifecycle_stage"] == "deleted"
    shown = requests.get(f"{server.url}/ui/experiments/{experiment_id}", params={"view": "deleted"}, timeout=10)
    assert run_id in html.unescape(shown.text) and "Restore selected runs" in html.unescape(shown.text)
    assert _post(server, f"/ui/experiments/{experiment_id}/runs/restore", {"runs": run_id}).status_code == 303
    info = requests.get(f"{server.url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=10).json()
    assert info["run"]["info"]["lifecycle_stage"] == "active"

    assert _post(server, f"/ui/experiments/{experiment_id}/delete", {}).status_code == 303
    listed = requests.get(server.url + "/", params={"view": "deleted"}, timeout=10).text
    assert "renamed" in listed and "Restore" in listed
    assert _post(server, f"/ui/experiments/{experiment_id}/restore", {}).status_code == 303

    nothing = _post(server, f"/ui/experiments/{experiment_id}/runs/delete", {})
    assert nothing.status_code == 400 and "select at least one run" in html.unescape(nothing.text)
    assert nothing.headers["content-type"].startswith("text/html")
    blank = _post(server, "/ui/experiments", {"name": "  "})
    assert blank.status_code == 400 and "experiment name is required" in html.unescape(blank.text)
    forged = _post(server, f"/ui/experiments/{experiment_id}/delete", {}, origin="http://evil.example")
    assert forged.status_code == 403
    bad_order = requests.get(f"{server.url}/ui/experiments/{experiment_id}", params={"order": "nope"}, timeout=10)
    assert bad_order.status_code == 400 and "order 'nope' must look like" in html.unescape(bad_order.text)
    bad_size = requests.get(f"{server.url}/ui/experiments/{experiment_id}", params={"size": "7"}, timeout=10)
    assert bad_size.status_code == 400 and "size '7' must be one of" in html.unescape(bad_size.text)
    lonely = requests.get(f"{server.url}/ui/compare", params={"runs": run_id}, timeout=10)
    assert lonely.status_code == 400 and "at least two runs" in html.unescape(lonely.text)
    no_model = _post(server, f"/ui/runs/{run_id}/register", {"path": "", "name": "m"})
    assert no_model.status_code == 400 and "holds no MLmodel file" in html.unescape(no_model.text)
    missing = requests.get(f"{server.url}/ui/models/none/versions/1", timeout=10)
    assert missing.status_code == 404 and "<title>Error · Shipyard</title>" in html.unescape(missing.text)


def test_markdown_descriptions_cannot_inject_html(server_factory: Callable[..., Any]) -> None:
    server = server_factory()
    _api(server, "registered-models/create", {"name": "md"})
    text = "# Title\n<script>alert(1)</script> [x](javascript:alert(1)) **ok**"
    assert _post(server, "/ui/models/md/description", {"description": text}).status_code == 303
    page = requests.get(f"{server.url}/ui/models/md", timeout=10).text
    assert "<h1>Title</h1>" in page and "<strong>ok</strong>" in page
    assert "<script>alert" not in page and 'href="javascript:' not in page
    assert _post(server, "/ui/models/md/tags", {"key": "team", "value": "a&b"}).status_code == 303
    assert "a&amp;b" in requests.get(f"{server.url}/ui/models/md", timeout=10).text
    wrong = _post(server, "/ui/models/md/delete", {"confirm": "nope"})
    assert wrong.status_code == 400 and "type its name" in html.unescape(wrong.text)
    assert _post(server, "/ui/models/md/delete", {"confirm": "md"}).status_code == 303
    assert requests.get(f"{server.url}/ui/models/md", timeout=10).status_code == 404


def test_basic_auth_makes_the_browser_prompt(server_factory: Callable[..., Any], tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("ana:pw\n")
    server = server_factory("--basic-auth-file", str(users))
    prompt = requests.get(server.url + "/ui/models", timeout=10)
    assert prompt.status_code == 401 and prompt.headers["www-authenticate"] == 'Basic realm="shipyard"'
    signed = requests.get(server.url + "/ui/models", auth=("ana", "pw"), timeout=10)
    assert signed.status_code == 200 and "<title>Registered models · Shipyard</title>" in html.unescape(signed.text)


def test_a_bad_static_prefix_is_refused_by_name(tmp_path: Path) -> None:
    for bad in ("mlflow", "/mlflow/", "/a//b", "/a?b"):
        out = subprocess.run(
            [SHIPYARD, "server", "--static-prefix", bad, "--port", "1"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode != 0 and "static prefix" in out.stderr and "Traceback" not in out.stderr, bad


def test_run_family_columns_and_a_50_run_comparison(server_factory: Callable[..., Any]) -> None:
    server = server_factory()
    experiment_id = _api(server, "experiments/create", {"name": "family"})["experiment_id"]
    parent = _api(server, "runs/create", {"experiment_id": experiment_id, "run_name": "sweep"})["run"]["info"]
    children = []
    for index in range(50):
        tags = [{"key": "mlflow.parentRunId", "value": parent["run_id"]}]
        body = {"experiment_id": experiment_id, "run_name": f"trial-{index}", "tags": tags}
        child = _api(server, "runs/create", body)["run"]["info"]["run_id"]
        params = [{"key": "lr", "value": str(index / 100)}, {"key": "depth", "value": "3"}]
        metrics = [{"key": "acc", "value": index / 50, "timestamp": 1, "step": 0}]
        _api(server, "runs/log-batch", {"run_id": child, "params": params, "metrics": metrics})
        children.append(child)
    parent_page = html.unescape(requests.get(f"{server.url}/ui/runs/{parent['run_id']}", timeout=10).text)
    assert parent_page.count('<li><a href="/ui/runs/') == 50 and "trial-49" in parent_page
    child_page = requests.get(f"{server.url}/ui/runs/{children[0]}", timeout=10).text
    assert f'class="parent-run" href="/ui/runs/{parent["run_id"]}">sweep</a>' in child_page

    chosen = requests.get(
        f"{server.url}/ui/experiments/{experiment_id}", params={"columns": "params.lr"}, timeout=10
    ).text
    assert ">lr" in chosen and ">depth" not in chosen and ">acc" not in chosen
    compared = requests.get(f"{server.url}/ui/compare", params={"runs": ",".join(children)}, timeout=30)
    assert compared.status_code == 200 and "<title>Compare 50 runs · Shipyard</title>" in compared.text
    assert compared.text.count("<polyline") == 50
    assert 'class="differs" data-key="lr"' in compared.text and 'class="same" data-key="depth"' in compared.text
