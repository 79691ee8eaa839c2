"""Eight processes logging to one store at once: every row lands, nothing reports a lock error.

The processes start on a database that does not exist yet, so they also race to migrate it, to
create the experiment and to create their runs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import shipyard
from shipyard.tracking.db import normalize_url

PROCESSES = 8
METRICS_PER_PROCESS = 1000

WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import shipyard

    uri, experiment, index, barrier = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    (barrier / f"ready-{index}").touch()
    while not (barrier / "go").exists():
        time.sleep(0.005)
    shipyard.set_tracking_uri(uri)
    shipyard.set_experiment(experiment)
    with shipyard.start_run(run_name=f"worker-{index}"):
        for step in range(1000):
            shipyard.log_metric("loss", 1.0 / (step + 1), step=step)
            if step % 100 == 99:
                shipyard.flush_async_logging()  # many small transactions, not one big one
            if step % 250 == 0:
                shipyard.Client(uri).log_metric(shipyard.active_run().info.run_id, "sync", step, step=step)
    """
)


def _run_workers(uri: str, experiment: str, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), uri, experiment, str(i), str(barrier)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    while len(list(barrier.glob("ready-*"))) < PROCESSES and all(w.poll() is None for w in workers):
        time.sleep(0.01)
    (barrier / "go").touch()
    results = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, results, strict=True):
        assert "database is locked" not in stderr
        assert worker.returncode == 0, stderr


def _check(uri: str, experiment: str) -> None:
    client = shipyard.Client(uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id  # type: ignore[union-attr]
    runs = client.search_runs([experiment_id])
    assert sorted(r.info.run_name or "" for r in runs) == [f"worker-{i}" for i in range(PROCESSES)]
    assert {r.info.status for r in runs} == {"FINISHED"}
    for run in runs:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "loss")]
        assert steps == list(range(METRICS_PER_PROCESS))
        assert run.data.metrics["loss"] == 1.0 / METRICS_PER_PROCESS
    engine = sa.create_engine(normalize_url(sa.make_url(uri)))
    with engine.connect() as connection:
        total = connection.execute(
            sa.text(
                "SELECT COUNT(*) FROM metrics m JOIN runs r ON r.run_uuid = m.run_uuid "
                "WHERE r.experiment_id = :e AND m.key = 'loss'"
            ),
            {"e": int(experiment_id)},
        ).scalar_one()
    engine.dispose()
    assert total == PROCESSES * METRICS_PER_PROCESS


def test_eight_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    _run_workers(uri, "concurrent", tmp_path)
    _check(uri, "concurrent")


def test_eight_processes_on_postgresql(postgres_uri: str, tmp_path: Path, experiment_name: str) -> None:
    _run_workers(postgres_uri, experiment_name, tmp_path)
    _check(postgres_uri, experiment_name)


@pytest.fixture(autouse=True)
def _no_stray_fluent_state() -> None:
    assert shipyard.active_run() is None
