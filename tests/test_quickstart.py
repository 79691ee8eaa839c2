"""The README's first command works as written: the quickstart registers iris, `serve` serves it."""

from __future__ import annotations

import json
import os
import re
import signal
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


def _first_readme_command() -> str:
    return next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("    ")).strip()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    """Until `url/health` answers 200; fails with the log's end if the process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, log.read_text()[-4000:]
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()[-4000:]
        time.sleep(0.2)


def test_readme_serve_command_is_quickstart_then_serve() -> None:
    assert _first_readme_command().endswith(
        "python examples/quickstart.py && shipyard serve -m models:/iris/Production"
    )


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
        _wait_healthy(url, server, log, 60)

        version = httpx.get(f"{url}/version", headers={"Accept": "application/json"}).json()
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


def _checkout_copy(dst: Path) -> None:
    """The files a clone has (tracked, plus new ones git does not ignore), without venvs or stores."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            (dst / name).write_bytes(source.read_bytes())


def test_readme_first_command_as_written_then_the_printed_curl(tmp_path: Path) -> None:
    """The first command, run by bash in a copy of the checkout: a fresh venv with only the
    `sklearn` extra, the quickstart, then `serve`; the `curl` the quickstart prints answers.

    NOTE: `SHIPYARD_PORT` moves the server off port 5000 (which another program may hold);
    the printed curl is sent to the same port.
    """
    checkout = tmp_path / "shipyard"
    _checkout_copy(checkout)
    port = _free_port()
    log = tmp_path / "first-command.log"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(BIN)))
    env["SHIPYARD_PORT"] = str(port)
    with open(log, "wb") as sink:
        shell = subprocess.Popen(
            ["bash", "-c", _first_readme_command()],
            cwd=checkout,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", shell, log, 900)  # NOTE: a venv and pip install of the extra
        installed = subprocess.run(
            [str(checkout / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.lower()
        assert "scikit-learn==" in installed
        for test_only in ("torch==", "mlflow==", "pytest==", "playwright=="):
            assert test_only not in installed, f"the example's install pulled in {test_only.rstrip('=')}"
        printed = next(line for line in log.read_text().splitlines() if "curl -s" in line)
        curl = printed.split(":  ", 1)[1].replace("localhost:5000", f"127.0.0.1:{port}")
        answer = subprocess.run(["bash", "-c", curl], cwd=checkout, capture_output=True, text=True, check=True)
        assert json.loads(answer.stdout) == {"predictions": [0, 0, 0]}
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        shell.wait(30)
