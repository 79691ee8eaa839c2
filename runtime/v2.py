"""The KServe V2 / Triton HTTP inference protocol, so Triton and KServe clients work against serve.

Inputs arrive as named tensors (`name`, `datatype`, `shape`, flat `data`), or as raw bytes with
the binary tensor extension (`Inference-Header-Content-Length`). They map onto the model's
signature: one unnamed tensor -> an ndarray; named tensors or columns -> a dict of arrays; one
[rows, k] tensor for a k-column model -> an ndarray. Outputs are answered as JSON tensors.

A body goes through the same rule as `/invocations`: read with the body limit (413 past it),
decoded and validated in a worker thread when it is large (`Workers.run_if_large`), then batched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import ResourceNotFound, SchemaEnforcementError
from shipyard.flavors.json_values import tensor_values
from shipyard.runtime.deadlines import header_values, request_timeout
from shipyard.runtime.loaded import LoadedVersion
from shipyard.runtime.model import ServedModel
from shipyard.runtime.state import routed_model
from shipyard.version import __version__
from shipyard.web import json_response, read_body

DATATYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
COLUMN_DATATYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}
BINARY_HEADER = "inference-header-content-length"


def datatype_of(dtype: np.dtype) -> str:
    for name, candidate in DATATYPES.items():
        if candidate == dtype and name != "BYTES":
            return name
    return "BYTES"


def _tensor_meta(schema: Any, prefix: str) -> list[dict[str, Any]]:
    if schema is None:
        return []
    out = []
    for i, spec in enumerate(schema.inputs):
        name = spec.name if spec.name is not None else f"{prefix}-{i}"
        if hasattr(spec, "shape"):
            out.append({"name": name, "datatype": datatype_of(spec.dtype), "shape": list(spec.shape)})
        else:
            out.append({"name": name, "datatype": COLUMN_DATATYPES.get(spec.type, "BYTES"), "shape": [-1]})
    return out


def _check_name(request: Request) -> ServedModel:
    version = request.path_params.get("version")
    served = routed_model(request, request.path_params["name"], version)
    name = served.identity.name
    if version is not None and version != (served.identity.version or "1"):
        raise ResourceNotFound(f"model {name!r} version {version!r} is not served here")
    return served


async def server_metadata(request: Request) -> Response:
    return json_response(
        {"name": "shipyard", "version": __version__, "extensions": ["binary_tensor_data", "model_repository"]}
    )


async def model_metadata(request: Request) -> Response:
    served = _check_name(request)
    signature = served.signature
    flavors = served.pyfunc.metadata.flavors if served.pyfunc is not None else {}
    return json_response(
        {
            "name": served.identity.name,
            "versions": [served.identity.version or "1"],
            "platform": ",".join(sorted(flavors or {})) or "shipyard",
            "inputs": _tensor_meta(signature.inputs if signature is not None else None, "input"),
            "outputs": _tensor_meta(signature.outputs if signature is not None else None, "output"),
        }
    )


async def model_ready(request: Request) -> Response:
    served = _check_name(request)
    if not served.ready:
        return json_response({"ready": False, "reason": served.reason}, 503)
    return json_response({"ready": True})


def _decode(body: bytes, header_length: str | None) -> tuple[dict[str, Any], bytes]:
    if header_length is None:
        json_part, binary = body, b""
    else:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise SchemaEnforcementError(
                f"{BINARY_HEADER} is {header_length!r}; it must be a byte count within the body"
            )
        json_part, binary = body[: int(header_length)], body[int(header_length) :]
    try:
        payload = orjson.loads(json_part)
    except orjson.JSONDecodeError as exc:
        raise SchemaEnforcementError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list) or not payload["inputs"]:
        raise SchemaEnforcementError("the body must be an object with a non-empty 'inputs' list")
    return payload, binary


def _tensor(item: Any, index: int, binary: bytes, offset: int) -> tuple[str, np.ndarray, int]:
    """One input tensor -> (name, array, new offset into the binary section)."""
    where = f"inputs[{index}]"
    if not isinstance(item, dict):
        raise SchemaEnforcementError(f"{where} must be an object with name, datatype, shape, data")
    name, datatype, shape = item.get("name"), item.get("datatype"), item.get("shape")
    if not isinstance(name, str):
        raise SchemaEnforcementError(f"{where}.name must be a string")
    where = f"input {name!r}"
    if datatype not in DATATYPES:
        raise SchemaEnforcementError(f"{where}: datatype {datatype!r} is not one of {sorted(DATATYPES)}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise SchemaEnforcementError(f"{where}: shape must be a list of non-negative integers")
    dtype = DATATYPES[datatype]
    size = int(np.prod(shape)) if shape else 1
    binary_size = (item.get("parameters") or {}).get("binary_data_size")
    if binary_size is not None:
        if datatype == "BYTES":
            raise SchemaEnforcementError(f"{where}: binary BYTES tensors are not supported; send JSON data")
        chunk = binary[offset : offset + int(binary_size)]
        if len(chunk) != int(binary_size) or len(chunk) != size * dtype.itemsize:
            raise SchemaEnforcementError(
                f"{where}: binary_data_size {binary_size} does not match shape {shape} of {datatype}"
            )
        return name, np.frombuffer(chunk, dtype=dtype).reshape(shape), offset + int(binary_size)
    data = item.get("data")
    if not isinstance(data, list):
        raise SchemaEnforcementError(f"{where}: 'data' must be a list of values")
    # NOTE: the same value rules as /invocations (a bool is not a number, ranges exact, ...)
    array = tensor_values(data, dtype, where)
    if array.size != size:
        raise SchemaEnforcementError(f"{where}: {array.size} values do not fill shape {shape}")
    return name, array.reshape(shape), offset


def _model_input(served: LoadedVersion, tensors: dict[str, np.ndarray]) -> Any:
    """Map named tensors onto what `prepare_input` takes for this model's signature."""
    signature = served.signature
    schema = signature.inputs if signature is not None else None
    if len(tensors) == 1:
        ((name, array),) = tensors.items()
        if schema is None or len(schema.inputs) == 1 or array.ndim == 2:
            return array  # the one tensor, or all k columns side by side
        return {name: array}
    if schema is not None and not schema.is_tensor_spec():
        return {name: (a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1 else a) for name, a in tensors.items()}
    return tensors


def _outputs(served: LoadedVersion, output: Any) -> list[dict[str, Any]]:
    signature = served.signature
    schema = signature.outputs if signature is not None else None
    default = "predictions"
    if schema is not None and len(schema.inputs) == 1 and schema.inputs[0].name is not None:
        default = schema.inputs[0].name
    if isinstance(output, dict):
        named = dict(output)
    elif hasattr(output, "columns") and hasattr(output, "to_numpy"):
        named = {str(c): output[c].to_numpy() for c in output.columns}
    elif hasattr(output, "to_numpy"):
        named = {default: output.to_numpy()}
    else:
        named = {default: output}
    result = []
    for name, value in named.items():
        array = np.asarray(value)
        datatype = datatype_of(array.dtype)
        data = array.reshape(-1).tolist() if datatype != "BYTES" else [str(v) for v in array.reshape(-1)]
        result.append({"name": name, "datatype": datatype, "shape": list(array.shape), "data": data})
    return result


def parse_infer(
    served: LoadedVersion, body: bytes, header_length: str | None
) -> tuple[dict[str, Any], Any, int, dict[str, Any] | None]:
    """Decode one V2 body and validate it against the signature: (payload, prepared, rows, params)."""
    payload, binary = _decode(body, header_length)
    tensors: dict[str, np.ndarray] = {}
    offset = 0
    for index, item in enumerate(payload["inputs"]):
        name, array, offset = _tensor(item, index, binary, offset)
        tensors[name] = array
    given = payload.get("parameters")
    params = {k: v for k, v in given.items() if k != "binary_data_output"} if isinstance(given, dict) else None
    prepared, rows, enforced = served.prepare(_model_input(served, tensors), params or None)
    return payload, prepared, rows, enforced


async def infer(request: Request) -> Response:
    served = _check_name(request)
    with served.lease() as version:  # NOTE: one version start to end, whatever a swap does meanwhile
        timeout = request_timeout(header_values(request.scope["headers"]), served.settings.timeout)
        body = await read_body(request, served.settings.max_body_bytes)
        header_length = request.headers.get(BINARY_HEADER)
        payload, prepared, rows, params = await served.workers.run_if_large(
            len(body), parse_infer, version, body, header_length
        )
        output = await version.batcher.submit(prepared, rows, params, timeout=timeout)
    answer: dict[str, Any] = {
        "model_name": version.identity.name,
        "model_version": version.identity.version or "1",
        "outputs": _outputs(version, output),
    }
    if "id" in payload:
        answer["id"] = payload["id"]
    return json_response(answer)


__all__ = ["infer", "model_metadata", "model_ready", "parse_infer", "server_metadata"]
