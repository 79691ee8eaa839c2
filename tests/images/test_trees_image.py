"""`shipyard build-docker` of tree models: the image installs that framework only (CPU wheels),
and the container serves the model's own predictions (needs an engine; see conftest.py)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import shipyard
from shipyard.cli import cli
from shipyard.exceptions import InvalidInput
from shipyard.images.context import system_packages
from shipyard.images.dockerfile import render_dockerfile
from shipyard.images.spec import ImageSpec

COLUMNS = ["f0", "f1", "f2"]
PY = "/opt/shipyard/bin/python"


@contextlib.contextmanager
def serving(client: Any, tag: str) -> Iterator[tuple[Any, str]]:
    container = client.containers.run(tag, detach=True, ports={"8080/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        url = f"http://127.0.0.1:{container.attrs['NetworkSettings']['Ports']['8080/tcp'][0]['HostPort']}"
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            container.reload()
            if container.status == "exited" or time.monotonic() > deadline:
                raise AssertionError(f"container not ready:\n{container.logs().decode()[-3000:]}")
            time.sleep(0.1)
        yield container, url
    finally:
        container.remove(force=True)


def importable(container: Any, module: str) -> bool:
    return bool(container.exec_run([PY, "-c", f"import {module}"]).exit_code == 0)


def test_lightgbm_requirements_bring_libgomp_into_the_base_stage() -> None:
    assert system_packages(["lightgbm==4.7.0", "numpy==2.4.6"]) == ("libgomp1",)
    assert system_packages(["LightGBM>=4", "lightgbm==4.7.0"]) == ("libgomp1",)
    assert system_packages(["xgboost-cpu==3.2.0", "numpy"]) == ()
    text = render_dockerfile(ImageSpec("python:3.11-slim", "w.whl", system_packages=("libgomp1",)))
    base, deps = text.split("FROM base AS deps")
    assert "apt-get install -y -qq --no-install-recommends libgomp1" in base
    assert "apt-get" not in deps and "apt-get" not in render_dockerfile(ImageSpec("python:3.11-slim", "w.whl"))
    with pytest.raises(InvalidInput, match="system_packages"):
        ImageSpec("python:3.11-slim", "w.whl", system_packages=("libgomp1; rm -rf /",))


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_tree_image_installs_only_its_framework_and_serves(
    framework: str, docker_client: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=COLUMNS)
    y = (X["f0"] > X["f1"]).astype(int).to_numpy()
    path = tmp_path / "model"
    if framework == "xgboost":
        import xgboost as xgb

        model: Any = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), 4)
        expected = model.predict(xgb.DMatrix(X.head(4)))
        shipyard.xgboost.save_model(model, path, input_example=X.head(2))
        other = "lightgbm"
    else:
        import lightgbm as lgb

        model = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, label=y), 4)
        expected = model.predict(X.head(4))
        shipyard.lightgbm.save_model(model, path, input_example=X.head(2))
        other = "xgboost"
    tag = f"shipyard-test-{framework}:{uuid.uuid4().hex[:8]}"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["build-docker", "-m", str(path), "-n", tag], env={"SHIPYARD_CACHE_DIR": str(tmp_path)}
    )
    try:
        assert result.exit_code == 0, result.output[-4000:]
        assert "image size" in result.output
        with serving(docker_client, tag) as (container, url):
            body = {"dataframe_split": {"columns": COLUMNS, "data": X.head(4).to_numpy().tolist()}}
            answer = httpx.post(url + "/invocations", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
            np.testing.assert_allclose(answer.json()["predictions"], expected, rtol=1e-6)
            assert importable(container, framework)
            for absent in (other, "sklearn", "torch", "onnxruntime"):
                assert not importable(container, absent), absent
            # CPU wheels only: no CUDA libraries came with the framework.
            nvidia = container.exec_run(["sh", "-c", "ls /opt/shipyard/lib/python3*/site-packages | grep -ci nvidia"])
            assert nvidia.output.strip() == b"0"
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(tag, force=True)
