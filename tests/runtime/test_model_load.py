"""ServedModel.load in-process: the collector is off while a model loads, back on afterwards."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

from shipyard.runtime.model import ModelIdentity, ServedModel
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.workers import Workers
from shipyard.settings import Settings


def load(model_dir: Path, *, observe: bool = False) -> tuple[ServedModel, list[bool]]:
    """Load `model_dir`; with `observe`, record gc.isenabled() from the event loop meanwhile."""
    seen: list[bool] = []

    async def run() -> ServedModel:
        workers = Workers(1)
        identity = ModelIdentity("m", str(model_dir), str(model_dir))
        served = ServedModel(identity, ServeSettings(base=Settings()), workers)
        loading = asyncio.create_task(served.load())
        await asyncio.sleep(0)  # the load task starts
        while observe and not loading.done():
            seen.append(gc.isenabled())
            await asyncio.sleep(0.02)
        await loading
        await served.close()
        workers.close()
        return served

    return asyncio.run(run()), seen


def test_a_load_runs_without_the_collector_then_freezes_and_reenables_it(
    tmp_path: Path,
    python_model_factory: Any,
    restore_gc: None,
) -> None:
    model = python_model_factory(tmp_path / "slow", tmp_path / "code", load_delay=0.5)
    served, seen = load(model, observe=True)
    assert served.ready, served.reason
    assert seen and not any(seen)  # off for the whole load
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what the load left is out of later collections' way


def test_a_failed_load_reenables_the_collector(tmp_path: Path, restore_gc: None) -> None:
    served, _ = load(tmp_path / "no-such-model")
    assert served.state == "failed" and "failed to load" in served.reason
    assert gc.isenabled()
