"""The command's output, shown and kept: each chunk goes to this process's stdout or stderr as
it arrives and to a temporary file, uploaded as the run's `project.log` when the command ends
(FINISHED, FAILED or KILLED alike), so a run keeps what its command printed.

Memory stays bounded (chunks of `CHUNK` bytes go straight to the file) and nothing waits for a
line or a buffer to fill before it is shown. stdout and stderr stay separate streams on the
terminal; in the log they interleave in the order they arrive (each stream's own order is exact).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal

from shipyard.tracking.client import TrackingClient

LOG_ARTIFACT = "project.log"
"""The captured output's name, at the run's artifact root."""
CHUNK = 65536
DRAIN_S = 5.0
"""Seconds the log waits, once the command has ended, for the rest of its output: a process it
left running in the background may hold the pipes open for ever."""

UNBUFFERED = {"PYTHONUNBUFFERED": "1"}
"""Given to a captured command (unless set): its stdout is a pipe now, which Python would
otherwise fill 8 KiB at a time before anything is shown."""

Stream = Literal["stdout", "stderr"]


def echo(chunk: bytes, stream: Stream, decoders: dict[Stream, codecs.IncrementalDecoder]) -> None:
    """Write `chunk` to this process's stream now (bytes when it has a buffer, else text)."""
    target = sys.stdout if stream == "stdout" else sys.stderr
    if target is None:  # pythonw, a daemon: nowhere to show it
        return
    with contextlib.suppress(OSError, ValueError):  # a closed terminal must not stop the log
        buffer = getattr(target, "buffer", None)
        if buffer is not None:
            target.flush()
            buffer.write(chunk)
            buffer.flush()
        else:
            decoder = decoders.setdefault(stream, codecs.getincrementaldecoder("utf-8")(errors="replace"))
            target.write(decoder.decode(chunk))
            target.flush()


class OutputCapture:
    """A tee of one run's command output into `project.log`; `finish()` uploads it once."""

    def __init__(self, client: TrackingClient, run_id: str, warn: Callable[[str], None]) -> None:
        self._client = client
        self._run_id = run_id
        self._warn = warn
        self._lock = threading.Lock()
        self._folder = Path(tempfile.mkdtemp(prefix="shipyard-project-log-"))
        self._file: IO[bytes] | None = open(self._folder / LOG_ARTIFACT, "wb")  # noqa: SIM115 (closed in finish)
        self._decoders: dict[Stream, codecs.IncrementalDecoder] = {}
        self._reader: threading.Thread | None = None
        self._finished = False

    @property
    def path(self) -> Path:
        """The local file the output is written to (removed by `finish()`)."""
        return self._folder / LOG_ARTIFACT

    def write(self, chunk: bytes, stream: Stream) -> None:
        """Show one chunk of the command's output and keep it (thread-safe)."""
        with self._lock:
            echo(chunk, stream, self._decoders)
            if self._file is not None:
                self._file.write(chunk)

    def follow(self, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        """Read the command's two pipes in a background thread until both are closed (once:
        a second call does nothing)."""
        if self._reader is not None:
            return
        self._reader = threading.Thread(target=self._read, args=(stdout, stderr), daemon=True)
        self._reader.start()

    def _read(self, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        pipes: dict[int, tuple[IO[bytes], Stream]] = {
            stdout.fileno(): (stdout, "stdout"),
            stderr.fileno(): (stderr, "stderr"),
        }
        with selectors.DefaultSelector() as selector:
            for fd in pipes:
                selector.register(fd, selectors.EVENT_READ)
            while pipes:
                for key, _ in selector.select():
                    pipe, stream = pipes[key.fd]
                    # NOTE: os.read, not pipe.read: it returns what is there now instead of
                    # waiting for CHUNK bytes, so a line is shown the moment it is written.
                    chunk = os.read(key.fd, CHUNK)
                    if chunk:
                        self.write(chunk, stream)
                    else:
                        selector.unregister(key.fd)
                        del pipes[key.fd]
                        pipe.close()

    def discard(self) -> None:
        """Drop the log without uploading it (the command never started)."""
        with self._lock:
            self._finished = True
            if self._file is not None:
                self._file.close()
                self._file = None
        shutil.rmtree(self._folder, ignore_errors=True)

    def finish(self) -> None:
        """Close the log and upload it as the run's `project.log`; a failure is a warning only
        (it never changes the run's status). Later calls do nothing."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        if self._reader is not None and self._reader.ident is not None:  # started (an interrupt can stop that)
            self._reader.join(timeout=DRAIN_S)
            if self._reader.is_alive():
                self._warn(
                    f"WARNING: a process the command started still holds its output open; {LOG_ARTIFACT} "
                    "has the output up to now (what it prints later is shown, not kept)"
                )
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
        try:
            self._client.log_artifact(self._run_id, self.path)
        except Exception as exc:  # noqa: BLE001 (any failure of the store: the run's status stands)
            self._warn(f"WARNING: could not upload the command's output as {LOG_ARTIFACT} of run {self._run_id}: {exc}")
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


__all__ = ["CHUNK", "DRAIN_S", "LOG_ARTIFACT", "UNBUFFERED", "OutputCapture", "Stream", "echo"]
