"""ONNX and PyTorch flavors: round trips give the framework's own numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import shipyard
from shipyard.exceptions import SchemaEnforcementError, UnsafeModelRefused

SIZES = [4, 16, 3]
# torch 2.13 deprecates torch.jit.script in favour of torch.export; TorchScript is still a format
# users bring, and the one this flavor must keep loading.
SCRIPT_DEPRECATED = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def test_onnx_round_trip_signature_from_graph(tmp_path: Path, build) -> None:
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    shipyard.onnx.save_model(build.onnx_mlp(SIZES), tmp_path / "m")
    model = shipyard.pyfunc.load_model(tmp_path / "m", allow_pickle=False, intra_op_threads=1)
    assert model.signature.inputs.inputs[0].shape == (-1, 4)
    out = model.predict(x)
    np.testing.assert_allclose(out["y"], build.numpy_mlp(x, SIZES), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x.tolist())["y"], out["y"])  # JSON lists parse to float32
    with pytest.raises(SchemaEnforcementError, match="'x'"):
        model.predict(np.zeros((2, 5), np.float32))
    assert model.batchable
    conf = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]
    assert conf["python_function"]["loader_module"] == "shipyard.flavors.onnx"
    assert conf["onnx"]["providers"] == ["CPUExecutionProvider"]
    assert shipyard.onnx.load_model(tmp_path / "m").graph.input[0].name == "x"


def test_onnx_with_input_example_infers_output(tmp_path: Path, build) -> None:
    x = np.ones((2, 4), np.float32)
    shipyard.onnx.save_model(build.onnx_mlp(SIZES), tmp_path / "m", input_example=x)
    model = shipyard.pyfunc.load_model(tmp_path / "m")
    assert model.signature.outputs is not None
    np.testing.assert_allclose(model.predict(model.input_example())["y"], build.numpy_mlp(x, SIZES), rtol=1e-5)


@SCRIPT_DEPRECATED
@pytest.mark.parametrize("scripted", [False, True], ids=["whole-model", "torchscript"])
def test_torch_round_trip(tmp_path: Path, build, scripted: bool) -> None:
    import torch

    net = build.torch_mlp(SIZES)
    saved = torch.jit.script(net) if scripted else net
    x = np.random.default_rng(2).normal(size=(6, 4)).astype(np.float32)
    shipyard.pytorch.save_model(saved, tmp_path / "m", input_example=x[:2])
    fmt = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]["pytorch"]["serialization_format"]
    assert fmt == ("torchscript" if scripted else "pickle")
    model = shipyard.pyfunc.load_model(tmp_path / "m", device="cpu")
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, None), build.numpy_mlp(x, SIZES), rtol=1e-4, atol=1e-5)
    module = shipyard.pytorch.load_model(tmp_path / "m", device="cpu")
    assert not module.training


def test_torch_load_applies_the_thread_options(tmp_path: Path, build) -> None:
    import torch

    shipyard.pytorch.save_model(build.torch_mlp(SIZES), tmp_path / "m")
    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    try:
        # NOTE: process-wide in torch; the previous value is put back for the other tests.
        model = shipyard.pyfunc.load_model(tmp_path / "m", device="cpu", intra_op_threads=want)
        assert torch.get_num_threads() == want
        assert model.predict(np.ones((2, 4), np.float32)).shape == (2, 3)
    finally:
        torch.set_num_threads(before)


@SCRIPT_DEPRECATED
def test_torchscript_loads_without_pickle_whole_model_does_not(tmp_path: Path, build) -> None:
    import torch

    net = build.torch_mlp(SIZES)
    shipyard.pytorch.save_model(torch.jit.script(net), tmp_path / "ts")
    shipyard.pytorch.save_model(net, tmp_path / "pk")
    assert shipyard.pyfunc.load_model(tmp_path / "ts", allow_pickle=False) is not None
    with pytest.raises(UnsafeModelRefused, match="model.pth"):
        shipyard.pyfunc.load_model(tmp_path / "pk", allow_pickle=False)
