"""Writing a model directory: the steps every flavor's `save_model` shares.

Each flavor writes its own model file(s) into the directory made by `create_model_dir`, then calls
`finish_model_dir` with its flavor configuration; this writes the code paths, env files, input
example, signature and `MLmodel`.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipyard.exceptions import AlreadyExists, InvalidInput, ShipyardError
from shipyard.flavors.enforcement import ColumnPlan, make_input_plan
from shipyard.flavors.environment import python_version, write_env_files
from shipyard.flavors.inference import infer_schema
from shipyard.flavors.input_example import normalize_example, split_example, write_input_example
from shipyard.flavors.mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model
from shipyard.flavors.signature import ModelSignature, SignatureWarning

CODE_DIR = "code"


def create_model_dir(path: str | Path) -> Path:
    """Make the directory; an existing non-empty one is refused (never overwritten)."""
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExists(f"model path {str(target)!r} already exists and is not empty")
    target.mkdir(parents=True, exist_ok=True)
    return target


def copy_code_paths(model_dir: Path, code_paths: list[str | Path] | None) -> str | None:
    """Copy files/packages into `code/` (put on sys.path at load); returns the conf value."""
    if not code_paths:
        return None
    dest = model_dir / CODE_DIR
    dest.mkdir()
    for item in code_paths:
        src = Path(item)
        if not src.exists():
            raise InvalidInput(f"code path {str(src)!r} does not exist")
        if src.is_dir():
            shutil.copytree(src, dest / src.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / src.name)
    return CODE_DIR


def resolve_signature(
    signature: ModelSignature | None | bool,
    input_example: Any,
    predict: Callable[[Any], Any] | None,
    needs_column_names: bool = True,
) -> ModelSignature | None:
    """The signature to record: the given one, or one inferred from the example.

    `signature=False` means "no signature, on purpose". The output schema comes from calling
    `predict` on the example as the loaded model would see it (after enforcement). Inference that fails warns
    (SignatureWarning) instead of silently saving a model without a signature."""
    if signature is False:
        return None
    if isinstance(signature, ModelSignature):
        return signature
    if input_example is None:
        return None
    data, _ = split_example(input_example)
    try:
        inputs = infer_schema(normalize_example(data))
    except ShipyardError as exc:
        warnings.warn(
            f"no signature saved: the input schema could not be inferred from input_example "
            f"({exc}); pass signature= to save_model",
            SignatureWarning,
            stacklevel=3,
        )
        return None
    outputs = None
    if predict is not None:
        try:
            plan = make_input_plan(inputs, needs_names=needs_column_names)
            prepared = plan.prepare(data)
            if isinstance(plan, ColumnPlan):
                prepared = plan.to_frame(prepared)  # a block -> the DataFrame the model gets
            outputs = infer_schema(normalize_example(predict(prepared)))
        except Exception as exc:  # noqa: BLE001 - any model failure only loses the output schema
            warnings.warn(
                f"the output schema could not be inferred (predict on input_example failed: "
                f"{type(exc).__name__}: {exc}); only the input schema is saved",
                SignatureWarning,
                stacklevel=3,
            )
    return ModelSignature(inputs=inputs, outputs=outputs)


def finish_model_dir(
    model_dir: Path,
    *,
    flavor_name: str,
    flavor_conf: dict[str, Any],
    pyfunc_conf: dict[str, Any],
    distributions: list[str],
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    predict: Callable[[Any], Any] | None = None,
    needs_column_names: bool = True,
    code_paths: list[str | Path] | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Write everything but the model file itself and return the saved `Model`."""
    code = copy_code_paths(model_dir, code_paths)
    sig = resolve_signature(signature, input_example, predict, needs_column_names)
    model = Model(signature=sig, metadata=metadata)
    if input_example is not None:
        model.saved_input_example_info = write_input_example(model_dir, input_example)
    env = write_env_files(
        model_dir,
        distributions,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
    )
    if flavor_name != PYFUNC_FLAVOR:
        model.add_flavor(flavor_name, code=code, **flavor_conf)
    model.add_flavor(PYFUNC_FLAVOR, code=code, env=env, python_version=python_version(), **pyfunc_conf)
    model.model_size_bytes = sum(f.stat().st_size for f in model_dir.rglob("*") if f.is_file())
    model.save(model_dir / MLMODEL_FILE_NAME)
    return model


__all__ = ["CODE_DIR", "copy_code_paths", "create_model_dir", "finish_model_dir", "resolve_signature"]
