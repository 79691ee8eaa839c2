"""The ONNX and PyTorch flavors under MLflow's keyword names (`onnx_model=`, `pytorch_model=`,
`onnx_execution_providers=`, `save_as_external_data=`, `map_location=`), loaded back by file URI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

import shipyard

SIZES = [4, 16, 3]


def test_onnx_keywords_and_external_data(tmp_path: Path, build: Any) -> None:
    sizes = [64, 64, 3]  # a 64x64 float weight (16 KB) is past onnx's 1 KB external-data threshold
    x = np.random.default_rng(2).normal(size=(5, 64)).astype(np.float32)
    shipyard.onnx.save_model(onnx_model=build.onnx_mlp(sizes), path=tmp_path / "one")
    shipyard.onnx.save_model(
        onnx_model=build.onnx_mlp(sizes),
        path=tmp_path / "m",
        onnx_execution_providers=["CPUExecutionProvider"],
        save_as_external_data=True,
    )
    conf = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]["onnx"]
    assert conf["providers"] == ["CPUExecutionProvider"]
    external = {p.name for p in (tmp_path / "m").iterdir()} - {p.name for p in (tmp_path / "one").iterdir()}
    assert len(external) == 1, external  # the tensors' file beside model.onnx
    assert (tmp_path / "m" / "model.onnx").stat().st_size < (tmp_path / "one" / "model.onnx").stat().st_size
    proto = shipyard.onnx.load_model((tmp_path / "m").as_uri())
    assert proto.graph.input[0].name == "x"
    out = shipyard.pyfunc.load_model(tmp_path / "m").predict(x)
    np.testing.assert_allclose(out["y"], build.numpy_mlp(x, sizes), rtol=1e-5, atol=1e-5)


def test_pytorch_keywords_and_map_location(tmp_path: Path, build: Any) -> None:
    import torch

    module = build.torch_mlp(SIZES)
    shipyard.pytorch.save_model(pytorch_model=module, path=tmp_path / "m", serialization_format="pickle")
    loaded = shipyard.pytorch.load_model(model_uri=(tmp_path / "m").as_uri(), map_location="cpu")
    x = torch.ones((2, 4))
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), module(x).numpy(), rtol=1e-6)
    assert next(loaded.parameters()).device.type == "cpu"
