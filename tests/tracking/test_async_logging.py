"""The background writer: nothing logged is lost, errors surface, exit flushes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import shipyard
from shipyard.exceptions import InvalidInput


def test_nothing_is_lost_when_the_block_raises(fluent_cwd: Path) -> None:
    with pytest.raises(RuntimeError), shipyard.start_run() as run:
        for step in range(5000):
            shipyard.log_metric("loss", step / 5000, step=step)
        shipyard.log_param("p", "v")
        raise RuntimeError("training diverged")
    got = shipyard.Client().get_run(run.info.run_id)
    assert got.info.status == "FAILED"
    assert got.data.params == {"p": "v"}
    history = shipyard.Client().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(5000))


def test_flush_makes_queued_data_durable(fluent_cwd: Path) -> None:
    import sqlite3

    with shipyard.start_run() as run:
        for step in range(300):
            shipyard.log_metric("m", float(step), step=step)
        shipyard.flush_async_logging()
        # Another connection (not this process's store) sees every row once flush returned.
        with sqlite3.connect(fluent_cwd / "shipyard.db") as connection:
            (count,) = connection.execute(
                "SELECT COUNT(*) FROM metrics WHERE run_uuid = ?", (run.info.run_id,)
            ).fetchone()
        assert count == 300


def test_a_locked_database_does_not_stall_the_training_loop(fluent_cwd: Path) -> None:
    """Another process holds sqlite's write lock: every log_metric call still returns, the
    values wait in the queue, and they are written once the lock is released."""
    import sqlite3

    with shipyard.start_run() as run:
        blocker = sqlite3.connect(fluent_cwd / "shipyard.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            for step in range(10_000):
                shipyard.log_metric("loss", 1.0 / (step + 1), step=step)
            (written,) = blocker.execute(
                "SELECT COUNT(*) FROM metrics WHERE run_uuid = ?", (run.info.run_id,)
            ).fetchone()
            assert written == 0  # the loop finished while the writer was still waiting
            # Reads do not queue behind the write lock either (deferred transactions in WAL).
            assert run.store.get_run(run.info.run_id).info.status == "RUNNING"
        finally:
            blocker.execute("COMMIT")
            blocker.close()
    history = shipyard.Client().get_metric_history(run.info.run_id, "loss")
    assert len(history) == 10_000


def test_a_conflict_only_the_writer_sees_surfaces_at_end_run(fluent_cwd: Path) -> None:
    """Another client wrote `lr` after this process cached the run's params: the writer's
    batch fails, the rest of the batch is still written, and end_run raises."""
    client = shipyard.Client()
    run = shipyard.start_run()
    shipyard.log_param("epochs", 3)  # caches the run's (empty) params
    client.log_param(run.info.run_id, "lr", "0.5")  # behind the cache's back
    shipyard.log_param("lr", "0.1")
    shipyard.log_metric("loss", 0.25)
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.25}  # a read does not raise it
    with pytest.raises(InvalidInput, match="'lr'"):
        shipyard.end_run()
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {"lr": "0.5", "epochs": "3"}
    assert got.data.metrics == {"loss": 0.25}


def test_interpreter_exit_flushes_and_ends_the_run(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import shipyard
            run = shipyard.start_run()
            for step in range(2000):
                shipyard.log_metric("loss", 1.0 / (step + 1), step=step)
            shipyard.log_param("lr", 0.1)
            print(run.info.run_id)
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=120
    )
    run_id = out.stdout.strip()
    client = shipyard.Client(f"sqlite:///{tmp_path / 'shipyard.db'}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1"}
    assert len(client.get_metric_history(run_id, "loss")) == 2000
