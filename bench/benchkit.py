"""What every benchmark script shares: the machine line, free ports, the benchmark MLP, the CPU and
RSS of a process tree, stopping a server, and the wrk load generator.

The scripts run as `python bench/<name>.py`, so this folder is on `sys.path` and they import this
module as `benchkit`. The MLP (64 -> 1024 -> 1024 -> 10, ReLU) comes from one set of numpy weights,
built as ONNX (onnx.helper) or torch, so both flavors compute the same function.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

MLP_SIZES = (64, 1024, 1024, 10)


def machine() -> str:
    """One line naming the machine a figure was measured on."""
    return (
        f"{platform.platform()} | {platform.processor() or platform.machine()} | "
        f"cpus={os.cpu_count()} | python {platform.python_version()}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mlp_weights(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, bias) per layer, float32, weight shaped (inputs, outputs)."""
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(scale=0.05, size=(a, b)).astype(np.float32), rng.normal(scale=0.1, size=b).astype(np.float32))
        for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:], strict=True)
    ]


def mlp_numpy(weights: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """The reference forward pass (expected outputs for signatures and checks)."""
    for i, (w, b) in enumerate(weights):
        x = x @ w + b
        if i < len(weights) - 1:
            x = np.maximum(x, 0)
    return x


def onnx_mlp(weights: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    """The MLP as an ONNX ModelProto (MatMul + Add + Relu), batch axis dynamic."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, current = [], [], "x"
    for i, (w, b) in enumerate(weights):
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [current, f"w{i}"], [f"m{i}"]),
            helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]),
        ]
        current = f"a{i}"
        if i < len(weights) - 1:
            nodes.append(helper.make_node("Relu", [current], [f"r{i}"]))
            current = f"r{i}"
    nodes.append(helper.make_node("Identity", [current], ["y"]))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, MLP_SIZES[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, MLP_SIZES[-1]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def torch_mlp(weights: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    """The MLP as a torch nn.Sequential in eval mode."""
    import torch

    layers: list[Any] = []
    for i, (w, b) in enumerate(weights):
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval()


# -- processes ----------------------------------------------------------------------------------
def tree(pid: int) -> list[int]:
    """pid and all its descendants (mlflow serves from a child uvicorn process)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of pid and its descendants."""
    total = 0.0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of pid and its descendants, in MB."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def stop_process(process: subprocess.Popen[Any], *, group: bool = False, timeout: float = 30) -> None:
    """SIGTERM, `timeout` seconds to exit, then SIGKILL. group=True signals the whole process group
    (for a child started with start_new_session=True)."""
    if group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()


# -- wrk ----------------------------------------------------------------------------------------
# POSTs the file named by $BENCH_BODY as JSON; prints one JSON line of totals and percentiles.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open(os.getenv("BENCH_BODY"), "r"):read("*a")
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non2xx": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_args(url: str, script: Path, connections: int, seconds: float) -> list[str]:
    """`wrk -t1` (one thread, closed loop) against url/invocations with the WRK_SCRIPT file `script`."""
    return [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url + "/invocations",
    ]


def wrk_env(body_file: Path) -> dict[str, str]:
    return {**os.environ, "BENCH_BODY": str(body_file)}


def wrk_stats(stdout: str) -> dict[str, float]:
    """The JSON line WRK_SCRIPT prints, plus `rps`."""
    stats = json.loads(next(line for line in stdout.splitlines() if line.startswith("{")))
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    return stats


def run_wrk(url: str, body_file: Path, script: Path, connections: int, seconds: float) -> dict[str, float]:
    out = subprocess.run(
        wrk_args(url, script, connections, seconds),
        capture_output=True,
        text=True,
        env=wrk_env(body_file),
        check=True,
    )
    return wrk_stats(out.stdout)
