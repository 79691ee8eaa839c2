"""The README's first command works as written: the quickstart registers iris, `serve` serves it."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_readme_serve_command_is_quickstart_then_serve() -> None:
    first = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("    "))
    assert first.strip().endswith("python examples/quickstart.py && shipyard serve -m models:/iris/Production")


def test_quickstart_then_serve_models_uri(tmp_path: Path) -> None:
    for expected_version in (1, 2):  # a second run adds version 2 and archives version 1
        out = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "quickstart.py")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        assert f"registered iris version {expected_version} and moved it to Production" in out.stdout

    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [str(BIN / "shipyard"), "serve", "-m", "models:/iris/Production", "-p", str(port)],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

        version = httpx.get(f"{url}/version").json()
        assert json.dumps(version).count('"iris"') >= 1
        assert re.search(r'"2"|: 2\b', json.dumps(version)), version

        body = {
            "dataframe_split": {
                "columns": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
                "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
            }
        }
        reply = httpx.post(f"{url}/invocations", json=body)
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"predictions": [0, 2]}
    finally:
        server.terminate()
        assert server.wait(30) == 0
