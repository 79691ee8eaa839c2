"""Model signatures: what a model takes and returns, serialized exactly as MLflow writes them.

A `Schema` is either a list of `ColSpec` (named or unnamed table columns of a scalar type or of
one of MLflow's nested types `Array`, `Object`, `Map`, `AnyType`: see `schema_types.py`) or a
list of `TensorSpec` (numpy dtype + shape, -1 for a variable dimension); never a mix.
In the `MLmodel` file `inputs`, `outputs` and `params` are JSON strings inside the YAML, so MLflow
and Shipyard read each other's signatures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.schema_types import COLUMN_TYPES, ColumnType, check_column_type, type_from_dict

PARAM_TYPES = ("boolean", "integer", "long", "float", "double", "string", "datetime")


class SignatureWarning(UserWarning):
    """A signature could not be inferred or will not be enforced as the caller may expect."""


@dataclass(frozen=True)
class ColSpec:
    """One table column: a scalar or nested type, an optional name, and whether it must be present."""

    type: ColumnType
    name: str | None = None
    required: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", check_column_type(self.type, f"column {self.name!r}"))

    @property
    def is_nested(self) -> bool:
        """True for `Array`, `Object`, `Map` and `AnyType` columns (values checked one by one)."""
        return not isinstance(self.type, str)

    @property
    def optional(self) -> bool:
        return not self.required

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type} if isinstance(self.type, str) else self.type.to_dict()
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    """One tensor: numpy dtype and shape (-1 marks a dimension of any size)."""

    dtype: np.dtype
    shape: tuple[int, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", np.dtype(self.dtype))
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if any(d < -1 for d in self.shape):
            raise InvalidInput(f"tensor {self.name!r}: shape {self.shape} has a dimension below -1")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        out["type"] = "tensor"
        out["tensor-spec"] = {"dtype": str(self.dtype), "shape": list(self.shape)}
        return out


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Schema:
    """An ordered list of column specs or of tensor specs."""

    inputs: tuple[Spec, ...]

    def __init__(self, inputs: Sequence[Spec]) -> None:
        specs = tuple(inputs)
        if not specs:
            raise InvalidInput("a schema needs at least one column or tensor")
        kinds = {type(s) for s in specs}
        if len(kinds) > 1:
            raise InvalidInput("a schema mixes columns and tensors; use one kind")
        names = [s.name for s in specs]
        if any(n is None for n in names) and any(n is not None for n in names):
            raise InvalidInput("a schema names some entries but not all; name all or none")
        named = [n for n in names if n is not None]
        if len(set(named)) != len(named):
            raise InvalidInput(f"a schema repeats a name: {sorted(named)}")
        object.__setattr__(self, "inputs", specs)

    def is_tensor_spec(self) -> bool:
        return isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return self.inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        return [s.name if s.name is not None else i for i, s in enumerate(self.inputs)]

    def required_input_names(self) -> list[str | int]:
        return [
            s.name if s.name is not None else i
            for i, s in enumerate(self.inputs)
            if not isinstance(s, ColSpec) or s.required
        ]

    def to_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.inputs])

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.inputs]

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"signature schema is not valid JSON: {exc}") from exc
        return cls([_spec_from_dict(item) for item in items])


def _spec_from_dict(item: Any) -> Spec:
    if not isinstance(item, dict):
        raise ModelLoadError(f"signature entry {item!r:.80} is not an object with a 'type'")
    kind = item.get("type")
    name = item.get("name")
    try:
        if kind == "tensor":
            ts = item.get("tensor-spec") or {}
            return TensorSpec(np.dtype(ts["dtype"]), tuple(ts["shape"]), name)
        required = item.get("required", not item.get("optional", False))
        column_type = type_from_dict(item, f"column {name!r}")
        return ColSpec(column_type, name, bool(required))
    except (ValueError, KeyError, TypeError, InvalidInput) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ModelLoadError(f"signature: {detail}") from None


@dataclass(frozen=True)
class ParamSpec:
    """One inference parameter: name, scalar type, default, and shape None (scalar) or (-1,)."""

    name: str
    type: str
    default: Any
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise InvalidInput(
                f"param {self.name!r}: type {self.type!r} is not supported; allowed: {', '.join(PARAM_TYPES)}"
            )
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))
            if self.shape != (-1,):
                raise InvalidInput(f"param {self.name!r}: shape must be None or (-1,), got {self.shape}")

    def to_dict(self) -> dict[str, Any]:
        default = self.default
        if isinstance(default, np.ndarray):
            default = default.tolist()
        return {
            "name": self.name,
            "default": default,
            "shape": list(self.shape) if self.shape is not None else None,
            "type": self.type,
        }


@dataclass(frozen=True)
class ParamSchema:
    """The parameters a model's predict accepts, each with a default."""

    params: tuple[ParamSpec, ...]

    def __init__(self, params: list[ParamSpec] | tuple[ParamSpec, ...]) -> None:
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise InvalidInput(f"a params schema repeats a name: {sorted(names)}")
        object.__setattr__(self, "params", tuple(params))

    def to_dict(self) -> list[dict[str, Any]]:
        """MLflow's form: one dict per param, in order."""
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ParamSchema:
        items = json.loads(text)
        return cls(
            [
                ParamSpec(
                    i["name"],
                    i["type"],
                    i.get("default"),
                    tuple(i["shape"]) if i.get("shape") is not None else None,
                )
                for i in items
            ]
        )


@dataclass(frozen=True)
class ModelSignature:
    """Input schema, output schema and params schema; any may be None."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: ParamSchema | None = field(default=None)

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's form: each part a JSON string (or None)."""
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": self.params.to_json() if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        def part(key: str, parse: Any) -> Any:
            text = data.get(key)
            return parse(text) if text else None

        return cls(
            inputs=part("inputs", Schema.from_json),
            outputs=part("outputs", Schema.from_json),
            params=part("params", ParamSchema.from_json),
        )


__all__ = [
    "COLUMN_TYPES",
    "ColSpec",
    "ModelSignature",
    "PARAM_TYPES",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "SignatureWarning",
    "TensorSpec",
]
