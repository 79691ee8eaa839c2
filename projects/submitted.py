"""A started project run: MLflow's `SubmittedRun` (`run_id`, `wait`, `get_status`, `cancel`).

What runs is a `Handle`: a local process group (`ProcessHandle`: the command runs in its own
session, so `cancel()` and Ctrl-C stop the command and everything it started) or a container
(`projects/docker_env.py`). The run's end status is written exactly once: FINISHED (exit status
0), FAILED (any other), KILLED (cancelled), just after the captured output (if any) is uploaded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Protocol

from shipyard.exceptions import ShipyardError
from shipyard.projects.output_capture import OutputCapture
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import RunStatus

STOP_GRACE_S = 10.0
"""Seconds the command's process group has after SIGTERM before SIGKILL."""


class ExecutionError(ShipyardError):
    """A synchronous project run whose command failed; `exit_status` is the command's."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, run_id: str, exit_status: int) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.exit_status = exit_status


ExecutionException = ExecutionError
"""MLflow's name (`mlflow.projects.ExecutionException`)."""


class Handle(Protocol):
    """What a run's command is: it can be polled, waited for and stopped with all it started."""

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...

    def stop(self) -> None: ...


class ProcessHandle:
    """A command started with `start_new_session=True`: its pid is its process group's id."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self) -> int:
        return self.process.wait()

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after `STOP_GRACE_S`, and SIGKILL to any straggler that
        outlived the group's leader."""
        group = self.process.pid
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait()


class SubmittedRun:
    """The command of one project run, and its run in the tracking store."""

    def __init__(
        self,
        run_id: str,
        handle: Handle,
        client: TrackingClient,
        on_end: Callable[[], None] | None = None,
        output: OutputCapture | None = None,
    ) -> None:
        self._run_id = run_id
        self._handle = handle
        self._client = client
        self._on_end = on_end
        self._output = output
        self._lock = threading.Lock()
        self._cancelled = False
        self._status: str | None = None

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def experiment_id(self) -> str:
        return self._client.get_run(self._run_id).info.experiment_id

    @property
    def tracking_uri(self) -> str:
        """The store the run is in (the one the command was told)."""
        return self._client.tracking_uri

    @property
    def exit_status(self) -> int | None:
        """The command's exit status (negative: the signal that ended it); None while it runs."""
        return self._handle.poll()

    def wait(self) -> bool:
        """Wait for the command; True when it succeeded (the run is FINISHED)."""
        return self._end(self._handle.wait()) == RunStatus.FINISHED

    def get_status(self) -> str:
        """RUNNING while the command runs, then the run's end status."""
        code = self._handle.poll()
        return RunStatus.RUNNING if code is None else self._end(code)

    def cancel(self) -> None:
        """Stop the command and every process it started; the run ends KILLED (unless it had
        already ended)."""
        with self._lock:
            if self._status is None:
                self._cancelled = True
        self._handle.stop()
        self._end(self._handle.wait())

    def _end(self, code: int) -> str:
        with self._lock:
            if self._status is None:
                status = RunStatus.FINISHED if code == 0 else RunStatus.FAILED
                if self._cancelled:
                    status = RunStatus.KILLED
                try:
                    if self._output is not None:  # first: a run seen ended already has its log
                        self._output.finish()
                    self._client.set_terminated(self._run_id, status)
                finally:
                    self._status = status
                    if self._on_end is not None:
                        self._on_end()
            return self._status


__all__ = ["STOP_GRACE_S", "ExecutionError", "ExecutionException", "Handle", "ProcessHandle", "SubmittedRun"]
