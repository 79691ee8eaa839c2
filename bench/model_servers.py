"""The model servers bench/serve.py compares: `shipyard serve`, `mlflow models serve`, and a bare
Starlette app on uvicorn (the HTTP ceiling), each started on 127.0.0.1 and waited on until ready.

Imported as `model_servers` (bench/ is on `sys.path` when a script runs as `python bench/<name>.py`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchkit import free_port, stop_process

BIN = Path(sys.executable).parent
BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"predictions": [0]}'

async def invocations(request):
    await request.body()
    return Response(BODY, media_type="application/json")

app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", lambda r: Response(b""))])
"""


def command(kind: str, model_dir: Path | None, workdir: Path, port: int, *extra: str) -> tuple[list[str], str]:
    """(argv, readiness path) for `kind` (shipyard, mlflow or bare) serving model_dir on port."""
    if kind == "shipyard":
        cmd = [str(BIN / "shipyard"), "serve", "-m", str(model_dir), "-p", str(port), "--no-access-log", *extra]
        return cmd, "/health"
    if kind == "mlflow":
        cmd = [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            str(model_dir),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "--env-manager",
            "local",
        ]
        return cmd, "/ping"
    (workdir / "bare_app.py").write_text(textwrap.dedent(BARE_APP))
    cmd = [
        str(BIN / "uvicorn"),
        "bare_app:app",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return cmd, "/ping"


@contextlib.contextmanager
def server(kind: str, model_dir: Path | None, workdir: Path, *extra: str) -> Iterator[tuple[str, int]]:
    """Start `kind` in its own session, wait (up to 180 s) for its readiness path to answer 200,
    yield (base url, pid); on exit SIGTERM its process group (SIGKILL after 30 s)."""
    port = free_port()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    cmd, ready = command(kind, model_dir, workdir, port, *extra)
    log_path = workdir / f"{kind}-{port}.log"
    with open(log_path, "wb") as log:  # the child keeps its own copy of the file
        process = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(url + ready, timeout=2) as answer:
                if answer.status == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        stop_process(process, group=True)
