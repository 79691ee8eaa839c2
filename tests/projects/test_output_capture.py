"""The command's output: streamed to the caller as it comes and kept as the run's `project.log`
(FINISHED, FAILED and KILLED runs alike); `--no-capture` / `capture_output=False` leave the
command on the caller's own stdout and stderr and keep nothing; an upload failure is a warning."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import shipyard
from shipyard.projects import ExecutionError
from shipyard.projects.output_capture import LOG_ARTIFACT
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import Run

from .conftest import SHIPYARD, write_project

RunsIn = Callable[[str], list[Run]]

# Each line flushed, with a pause so the two streams' order is the order they were written in.
TALK = """\
import sys, time
for i in range(3):
    print("out", i, flush=True)
    time.sleep(0.05)
    print("err", i, file=sys.stderr, flush=True)
    time.sleep(0.05)
sys.exit(int(sys.argv[1]))
"""
TALK_LINES = ["out 0", "err 0", "out 1", "err 1", "out 2", "err 2"]


@pytest.fixture()
def talker(tmp_path: Path) -> Path:
    mlproject = "entry_points:\n  main:\n    parameters: {code: {type: int, default: 0}}\n"
    mlproject += "    command: python talk.py {code}\n"
    return write_project(tmp_path / "talker", {"MLproject": mlproject, "talk.py": TALK})


def _one_command(root: Path, command: str) -> Path:
    return write_project(root, {"MLproject": f"entry_points:\n  main:\n    command: {command!r}\n"})


def _log(uri: str, run_id: str, tmp_path: Path) -> str:
    dst = tmp_path / f"downloaded-{run_id}"
    dst.mkdir()
    return Path(TrackingClient(uri).download_artifacts(run_id, LOG_ARTIFACT, dst)).read_text()


def _artifacts(uri: str, run_id: str) -> list[str]:
    return [f.path for f in TrackingClient(uri).list_artifacts(run_id)]


def test_cli_streams_both_streams_and_keeps_them_in_project_log_of_a_failed_run(
    talker: Path, store_uri: str, cli: Any, runs_in: RunsIn, tmp_path: Path
) -> None:
    out = cli("run", str(talker), "-P", "code=3", "--env-manager", "local", cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert out.stdout.splitlines() == ["out 0", "out 1", "out 2"]  # stdout stays stdout
    assert [line for line in out.stderr.splitlines() if line.startswith("err ")] == ["err 0", "err 1", "err 2"]
    (run,) = runs_in(store_uri)
    assert run.info.status == "FAILED"
    assert _artifacts(store_uri, run.info.run_id) == [LOG_ARTIFACT]
    assert _log(store_uri, run.info.run_id, tmp_path).splitlines() == TALK_LINES


def test_python_api_keeps_the_output_of_finished_and_failed_runs(
    talker: Path, store_uri: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    finished = shipyard.projects.run(str(talker), env_manager="local", progress=lambda _: None)
    assert finished.get_status() == "FINISHED"
    with pytest.raises(ExecutionError) as caught:
        shipyard.projects.run(str(talker), parameters={"code": 5}, env_manager="local", progress=lambda _: None)
    shown = capfd.readouterr()
    assert shown.out.splitlines() == ["out 0", "out 1", "out 2"] * 2
    assert shown.err.splitlines() == ["err 0", "err 1", "err 2"] * 2
    for run_id in (finished.run_id, caught.value.run_id):
        assert _log(store_uri, run_id, tmp_path).splitlines() == TALK_LINES


def test_a_cancelled_run_keeps_what_it_printed_so_far(tmp_path: Path, store_uri: str, runs_in: RunsIn) -> None:
    project = _one_command(tmp_path / "slow", "echo before; echo warned >&2; touch ready; sleep 300")
    submitted = shipyard.projects.run(str(project), env_manager="local", synchronous=False, progress=lambda _: None)
    deadline = time.monotonic() + 30
    while not (project / "ready").exists():
        assert time.monotonic() < deadline, "the command did not start"
        time.sleep(0.05)
    submitted.cancel()
    (run,) = runs_in(store_uri)
    assert run.info.status == "KILLED"
    assert _log(store_uri, run.info.run_id, tmp_path).splitlines() == ["before", "warned"]


def test_no_capture_leaves_the_output_to_the_caller_and_keeps_no_log(
    talker: Path, store_uri: str, cli: Any, runs_in: RunsIn, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = cli("run", str(talker), "--no-capture", "--env-manager", "local", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["out 0", "out 1", "out 2"]
    assert "err 2" in out.stderr
    submitted = shipyard.projects.run(str(talker), env_manager="local", capture_output=False, progress=lambda _: None)
    assert submitted.get_status() == "FINISHED"
    # The command wrote straight to this process's file descriptors 1 and 2 (it inherited them).
    shown = capfd.readouterr()
    assert shown.out.splitlines() == ["out 0", "out 1", "out 2"]
    assert shown.err.splitlines() == ["err 0", "err 1", "err 2"]
    runs = runs_in(store_uri)
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    assert [_artifacts(store_uri, r.info.run_id) for r in runs] == [[], []]


def test_the_no_capture_flag_is_documented_in_help(cli: Any, tmp_path: Path) -> None:
    out = cli("run", "--help", cwd=tmp_path)
    assert out.returncode == 0 and "--no-capture" in out.stdout and "project.log" in out.stdout


def test_a_line_is_shown_before_the_command_ends(tmp_path: Path, store_uri: str, runs_in: RunsIn) -> None:
    """No buffering between the command and the terminal: the first line arrives while the
    command still waits (for a file only this test creates after reading that line)."""
    # print() without flush: the command is told PYTHONUNBUFFERED=1, as its stdout is a pipe.
    script = "import os, time\nprint('waiting')\nwhile not os.path.exists('go'):\n    time.sleep(0.05)\nprint('done')\n"
    project = _one_command(tmp_path / "waiting", "python wait.py")
    (project / "wait.py").write_text(script)
    with subprocess.Popen([SHIPYARD, "run", str(project), "--env-manager", "local"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as process:  # fmt: skip
        assert process.stdout is not None
        try:
            shown = b""
            while not shown.endswith(b"\n"):  # print() may write the text and its newline apart
                ready, _, _ = select.select([process.stdout], [], [], 60)
                assert ready, f"no whole line within 60 s: {shown!r}"
                shown += os.read(process.stdout.fileno(), 4096)
            assert shown == b"waiting\n"
            assert process.poll() is None
            (project / "go").touch()
            assert process.stdout.read() == b"done\n"
        finally:
            (project / "go").touch()
            assert process.wait(timeout=60) == 0
    (run,) = runs_in(store_uri)
    assert _log(store_uri, run.info.run_id, tmp_path) == "waiting\ndone\n"


def test_large_output_is_kept_whole(tmp_path: Path, store_uri: str, runs_in: RunsIn) -> None:
    lines = 200_000  # ~3.4 MB through a 64 KiB pipe: read as it comes, written to a file
    project = _one_command(tmp_path / "chatty", f"seq -w 1 {lines} | sed s/^/line-/")
    submitted = shipyard.projects.run(str(project), env_manager="local", progress=lambda _: None)
    kept = _log(store_uri, submitted.run_id, tmp_path).splitlines()
    assert len(kept) == lines and kept[0] == "line-000001" and kept[-1] == f"line-{lines}"
    assert (runs_in(store_uri)[0].info.status) == "FINISHED"


def test_an_upload_failure_is_a_warning_and_keeps_the_run_status(
    talker: Path, store_uri: str, cli: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the artifact folder would be")
    client = TrackingClient(store_uri)
    experiment = client.create_experiment("unwritable", artifact_location=str(blocker / "artifacts"))
    out = cli("run", str(talker), "--experiment-id", experiment, "--env-manager", "local", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"WARNING: could not upload the command's output as {LOG_ARTIFACT} of run" in out.stderr
    assert "Traceback" not in out.stderr and "succeeded" in out.stderr
    assert out.stdout.splitlines() == ["out 0", "out 1", "out 2"]
    (run,) = client.search_runs([experiment])
    assert run.info.status == "FINISHED"


def test_a_run_stopped_by_sigterm_to_shipyard_run_keeps_its_log(
    tmp_path: Path, store_uri: str, runs_in: RunsIn
) -> None:
    project = _one_command(tmp_path / "stopped", "echo before; echo warned >&2; touch ready; sleep 300")
    with subprocess.Popen([SHIPYARD, "run", str(project), "--env-manager", "local"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:  # fmt: skip
        deadline = time.monotonic() + 60
        while not (project / "ready").exists():
            assert time.monotonic() < deadline and process.poll() is None, "the command did not start"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "KILLED ===" in err and "warned" in err
    assert out == "before\n"
    (run,) = runs_in(store_uri)
    assert run.info.status == "KILLED"
    assert _log(store_uri, run.info.run_id, tmp_path).splitlines() == ["before", "warned"]
