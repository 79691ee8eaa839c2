"""Step and timestamp of each run's latest metric values.

The `Run` entity keeps only the latest values; MLflow's clients also read the latest step
(MLflow 3's `log_model` re-logs the run's latest metrics for the new model), so the server looks
them up in the tracking database's `latest_metrics` table, one query per page of runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from shipyard.tracking.db import session_scope
from shipyard.tracking.orm import SqlLatestMetric

LatestSteps = dict[str, dict[str, tuple[int, int]]]
"""run id -> metric key -> (timestamp, step)."""


def latest_steps(store: Any, run_ids: Sequence[str]) -> LatestSteps:
    engine = getattr(store, "engine", None)
    found: LatestSteps = {run_id: {} for run_id in run_ids}
    if engine is None or not run_ids:
        return found
    with session_scope(engine) as session:
        for start in range(0, len(run_ids), 500):
            rows = session.execute(
                sa.select(
                    SqlLatestMetric.run_uuid, SqlLatestMetric.key, SqlLatestMetric.timestamp, SqlLatestMetric.step
                ).where(SqlLatestMetric.run_uuid.in_(run_ids[start : start + 500]))
            )
            for run_id, key, timestamp, step in rows:
                found[run_id][key] = (timestamp, step)
    return found


__all__ = ["LatestSteps", "latest_steps"]
