"""Helper process for the registry's multi-process tests (run as a script, never imported).

    registry_worker.py register   DB_URI ARTIFACT_ROOT NAME N SRC_DIR...  -> JSON list of versions
    registry_worker.py transition DB_URI ARTIFACT_ROOT NAME N             -> JSON list of results
    registry_worker.py slow       DB_URI ARTIFACT_ROOT NAME SRC_DIR       -> prints COPIED, then hangs

`register`/`transition` fork N children after importing once (imports are the slow part), hold
them at a barrier, release them together, and collect one result per child.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from shipyard.exceptions import AlreadyExists, ShipyardError
from shipyard.registry.registration import register_version
from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.tracking.db import create_engine_for


def _register(db_uri: str, root: str, name: str, i: int, sources: list[str]) -> Any:
    store = SqlRegistryStore(create_engine_for(db_uri), root)
    with contextlib.suppress(AlreadyExists):
        store.create_registered_model(name)
    return register_version(store, name, sources[i % len(sources)], source=f"worker-{i}").version


def _transition(db_uri: str, root: str, name: str, i: int, _sources: list[str]) -> Any:
    store = SqlRegistryStore(create_engine_for(db_uri), root)
    mv = store.transition_model_version_stage(name, i + 1, "Production", True, user_id=f"pipeline-{i}")
    return mv.version


def _fan_out(n: int, job: Callable[[int], Any]) -> list[Any]:
    go_r, go_w = os.pipe()
    children: list[tuple[int, int]] = []
    for i in range(n):
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(out_r)
            os.read(go_r, 1)  # the barrier
            try:
                result: Any = {"ok": job(i)}
            except ShipyardError as exc:
                result = {"error": f"{exc.error_code}: {exc.message}"}
            except Exception as exc:  # noqa: BLE001 - report anything to the test
                result = {"error": f"{type(exc).__name__}: {exc}"}
            os.write(out_w, json.dumps(result).encode())
            os._exit(0)
        os.close(out_w)
        children.append((pid, out_r))
    os.write(go_w, b"x" * n)
    results = []
    for pid, out_r in children:
        chunks = []
        while chunk := os.read(out_r, 65536):
            chunks.append(chunk)
        os.waitpid(pid, 0)
        results.append(json.loads(b"".join(chunks) or b'{"error": "no output"}'))
    return results


def _slow(db_uri: str, root: str, name: str, source: str) -> None:
    store = SqlRegistryStore(create_engine_for(db_uri), root)

    def progress(rel: str, copied: int) -> None:
        print(f"COPIED {rel} {copied}", flush=True)
        time.sleep(120)  # the test SIGKILLs us here, mid-copy

    register_version(store, name, source, source="slow", progress=progress)


def main(argv: list[str]) -> None:
    op, db_uri, root, name = argv[:4]
    if op == "slow":
        _slow(db_uri, root, name, argv[4])
        return
    n, sources = int(argv[4]), argv[5:]
    job = {"register": _register, "transition": _transition}[op]
    print(json.dumps(_fan_out(n, lambda i: job(db_uri, root, name, i, sources))))


if __name__ == "__main__":
    main(sys.argv[1:])
