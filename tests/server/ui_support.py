"""What the UI tests (and `bench/ui.py`) share: the Chromium they drive, screenshots, and
many runs in a real sqlite store, fast: the store's own tables written in one transaction with
executemany inserts, instead of one REST call (or one store transaction) per run. Shared by the
10,000-run UI test and `bench/ui.py`. The rows are what `create_run` + `log_batch` write."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shipyard.tracking.db import session_scope
from shipyard.tracking.entities import LifecycleStage, RunStatus
from shipyard.tracking.orm import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
from shipyard.tracking.sql_store import SqlTrackingStore
from shipyard.tracking.store import get_tracking_store
from shipyard.tracking.system_tags import RUN_NAME

START = 1_700_000_000_000
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """A full-page PNG in `folder`, copied to SHIPYARD_SCREENSHOT_DIR when that is set."""
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("SHIPYARD_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


def seed_runs(db_uri: str, experiment_name: str, count: int) -> tuple[str, list[str]]:
    """Create experiment `experiment_name` with `count` finished runs (params alpha and seed, metric
    loss = index / count, start times increasing); its id and the run ids, in creation order."""
    store = get_tracking_store(db_uri)
    assert isinstance(store, SqlTrackingStore)
    experiment_id = store.create_experiment(experiment_name)
    location = (store.get_experiment(experiment_id).artifact_location or "").rstrip("/")
    run_ids = [uuid.uuid4().hex for _ in range(count)]
    runs, params, tags, metrics = [], [], [], []
    for index, run_id in enumerate(run_ids):
        name = f"run-{index:05d}"
        runs.append(
            {
                "run_uuid": run_id,
                "name": name,
                "experiment_id": int(experiment_id),
                "user_id": "seed",
                "status": RunStatus.FINISHED,
                "start_time": START + index,
                "end_time": START + index + 500,
                "artifact_uri": f"{location}/{run_id}/artifacts",
                "lifecycle_stage": LifecycleStage.ACTIVE,
                "parent_run_id": None,
            }
        )
        params += [
            {"run_uuid": run_id, "key": "alpha", "value": str(index % 10)},
            {"run_uuid": run_id, "key": "seed", "value": str(index)},
        ]
        tags.append({"run_uuid": run_id, "key": RUN_NAME, "value": name})
        metric: dict[str, Any] = {"run_uuid": run_id, "key": "loss", "value": index / count}
        metrics.append({**metric, "timestamp": START + index, "step": 0, "is_nan": False})
    with session_scope(store.engine) as session:
        for model, rows in ((SqlRun, runs), (SqlParam, params), (SqlTag, tags), (SqlMetric, metrics)):
            session.execute(sa.insert(model), rows)
        session.execute(sa.insert(SqlLatestMetric), metrics)
    return experiment_id, run_ids
