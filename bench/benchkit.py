"""What every benchmark script shares: the machine line, free ports, and the benchmark MLP.

The scripts run as `python bench/<name>.py`, so this folder is on `sys.path` and they import this
module as `benchkit`. The MLP (64 -> 1024 -> 1024 -> 10, ReLU) comes from one set of numpy weights,
built as ONNX (onnx.helper) or torch, so both flavors compute the same function.
"""

from __future__ import annotations

import os
import platform
import socket
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
        for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:])
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
