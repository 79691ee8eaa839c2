"""scikit-learn flavor: save/load estimators (cloudpickle, pickle or skops) and their pyfunc.

Reads MLflow's `sklearn` flavor as is. skops (the default format, as MLflow 3's) is not
pickle-based, so it loads even when pickles are refused, but then skops trusts only the types the
loading side names (`skops_trust`), never a list from the model's own folder.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput, ModelLoadError, UnsafeModelRefused
from shipyard.flavors.environment import installed_version
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import PYFUNC_FLAVOR, Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, add_code_paths, local_model_dir, unpickle
from shipyard.flavors.signature import ModelSignature
from shipyard.mlflow_names import refuses

FLAVOR_NAME = "sklearn"
LOADER_MODULE = "shipyard.flavors.sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SERIALIZATION_FORMATS = ("cloudpickle", "pickle", "skops")
SUPPORTED_SERIALIZATION_FORMATS = [
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
]
"""MLflow 3's names (`mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS`, ...)."""
_log = logging.getLogger(__name__)
_FILE_NAMES = {"cloudpickle": "model.pkl", "pickle": "model.pkl", "skops": "model.skops"}
PREDICT_FNS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "predict_joint_log_proba",
    "decision_function",
    "score_samples",
    "transform",
)


@refuses("conda_env", "mlflow_model", "extra_files")
def save_model(
    sk_model: Any,
    path: str | Path,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    mlflow_model: Any = None,
    serialization_format: str | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: Any = None,
) -> Model:
    """Save a fitted estimator as a model directory with `sklearn` and `python_function` flavors.

    MLflow's parameters in MLflow's order (see shipyard.mlflow_names); serialization_format None
    is skops (as MLflow 3's) where skops can hold the estimator with its default trusted types
    plus `skops_trusted_types`, else cloudpickle; the log line says which and why."""
    if serialization_format is not None and serialization_format not in SERIALIZATION_FORMATS:
        raise InvalidInput(
            f"serialization_format {serialization_format!r} is not supported; "
            f"allowed: {', '.join(SERIALIZATION_FORMATS)}"
        )
    if pyfunc_predict_fn not in PREDICT_FNS or not hasattr(sk_model, pyfunc_predict_fn):
        raise InvalidInput(
            f"pyfunc_predict_fn {pyfunc_predict_fn!r}: the model has no such method; "
            f"allowed: {', '.join(f for f in PREDICT_FNS if hasattr(sk_model, f))}"
        )
    model_dir = create_model_dir(path)
    if serialization_format is None:
        serialization_format = _default_format(sk_model, model_dir, skops_trusted_types)
    else:
        _dump(sk_model, model_dir / _FILE_NAMES[serialization_format], serialization_format)
        if serialization_format == "skops":
            _check_skops_trust(model_dir / _FILE_NAMES["skops"], skops_trusted_types)
        _log.info("saved %s as %s (asked for)", type(sk_model).__name__, serialization_format)
    file_name = _FILE_NAMES[serialization_format]
    dists = ["scikit-learn", "numpy", "scipy"]
    if serialization_format != "pickle":
        dists.append(serialization_format)
    return finish_model_dir(
        model_dir,
        flavor_name=FLAVOR_NAME,
        flavor_conf={
            "pickled_model": file_name,
            "serialization_format": serialization_format,
            "sklearn_version": installed_version("scikit-learn"),
            **({"skops_trusted_types": list(skops_trusted_types)} if skops_trusted_types else {}),
        },
        pyfunc_conf={
            "loader_module": LOADER_MODULE,
            "model_path": file_name,
            "predict_fn": pyfunc_predict_fn,
        },
        distributions=dists,
        signature=signature,
        input_example=input_example,
        predict=getattr(sk_model, pyfunc_predict_fn),
        needs_column_names=hasattr(sk_model, "feature_names_in_"),
        code_paths=code_paths,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


# sklearn's vendored array-API adapters for other array libraries; importing one imports that
# library (torch: ~4 s and ~180 MB), and none of them holds an estimator.
_ARRAY_API_ADAPTERS = tuple(f"sklearn.externals.array_api_compat.{lib}" for lib in ("cupy", "dask", "torch"))


def _skops_io() -> Any:
    """`skops.io`, imported without dragging in torch/cupy/dask.

    NOTE: importing skops.io computes its default trusted types with sklearn's `all_estimators()`,
    whose `pkgutil.walk_packages` imports every sklearn *package* (the `externals` filter comes
    after), including `sklearn.externals.array_api_compat.torch`, which imports torch. Marking those
    adapters unimportable (None in sys.modules) for the duration of that one import makes the walk
    skip them (it ignores ImportError); they are unmarked afterwards so sklearn's array-API support
    can still import them later. The trusted list is the same (no estimator lives there). A thread
    importing one of these adapters at that very moment would see an ImportError."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    blocked = [name for name in _ARRAY_API_ADAPTERS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import skops.io
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return skops.io


def _check_skops_trust(path: Path, trusted: list[str] | None) -> None:
    """Refuse at save what skops would refuse at load: types beyond its defaults not vouched for."""
    skops_io = _skops_io()
    untrusted = sorted(set(skops_io.get_untrusted_types(file=path)) - set(trusted or []))
    if untrusted:
        path.unlink()
        raise InvalidInput(
            f"skops would refuse to load these types: {untrusted}; pass "
            "skops_trusted_types=[...] naming the ones you trust, or use cloudpickle"
        )


def _default_format(sk_model: Any, model_dir: Path, trusted: list[str] | None) -> str:
    """skops when it can write the estimator and load it back with the trust given; else
    cloudpickle (a custom class skops does not know, say), saying why."""
    path = model_dir / _FILE_NAMES["skops"]
    try:
        _skops_io().dump(sk_model, path)
        untrusted = sorted(set(_skops_io().get_untrusted_types(file=path)) - set(trusted or []))
    except Exception as error:  # noqa: BLE001 - skops cannot write it: cloudpickle can
        untrusted, reason = [], f"skops cannot serialize it ({type(error).__name__}: {error})"
    else:
        reason = f"skops would need these types trusted: {untrusted} (pass skops_trusted_types=[...] to use skops)"
        if not untrusted:
            _log.info("saved %s as skops", type(sk_model).__name__)
            return "skops"
    path.unlink(missing_ok=True)
    _dump(sk_model, model_dir / _FILE_NAMES["cloudpickle"], "cloudpickle")
    _log.info("saved %s as cloudpickle: %s", type(sk_model).__name__, reason)
    return "cloudpickle"


def _dump(sk_model: Any, path: Path, fmt: str) -> None:
    if fmt == "skops":
        _skops_io().dump(sk_model, path)
        return
    if fmt == "cloudpickle":
        import cloudpickle

        with open(path, "wb") as fh:
            cloudpickle.dump(sk_model, fh)
        return
    import pickle

    with open(path, "wb") as fh:
        pickle.dump(sk_model, fh)


def _read(model_dir: Path, model: Model, allow_pickle: bool, trusted_types: Sequence[str] = ()) -> Any:
    conf = model.flavors.get(FLAVOR_NAME) or {}
    pyconf = model.flavors.get(PYFUNC_FLAVOR) or {}
    file_name = conf.get("pickled_model") or pyconf.get("model_path")
    if not file_name:
        raise ModelLoadError(f"{model_dir}: the sklearn flavor names no model file")
    fmt = conf.get("serialization_format") or "cloudpickle"
    return read_estimator(
        model_dir / file_name,
        fmt,
        conf.get("skops_trusted_types"),
        allow_pickle=allow_pickle,
        trusted_types=trusted_types,
    )


def read_estimator(
    path: Path, fmt: str, trusted: list[str] | None, *, allow_pickle: bool, trusted_types: Sequence[str] = ()
) -> Any:
    """An estimator file in one of SERIALIZATION_FORMATS (also what MLflow's lightgbm flavor
    writes for its sklearn-API models). `trusted` is the list saved in the MLmodel,
    `trusted_types` the loading side's (see `skops_trust`)."""
    if fmt == "skops":
        return _load_skops(path, skops_trust(trusted, trusted_types, allow_pickle=allow_pickle), allow_pickle)
    if fmt not in ("cloudpickle", "pickle"):
        raise ModelLoadError(f"{path.parent}: unknown sklearn serialization_format {fmt!r}")
    return unpickle(path, fmt, allow_pickle=allow_pickle)


def skops_trust(saved: Sequence[str] | None, loading: Sequence[str], *, allow_pickle: bool) -> list[str]:
    """The types skops may load beyond its defaults.

    NOTE: the saved list comes from the model's own MLmodel, so whoever can write the folder
    chooses it; with pickles refused only the loading side's list (`trusted_types=` /
    SHIPYARD_SKOPS_TRUSTED_TYPES) counts. With pickles allowed the saved list is honoured too,
    as MLflow does (a registered version's MLmodel, list included, is fixed by its digest)."""
    return sorted({*loading, *(saved or [])}) if allow_pickle else sorted(set(loading))


def _load_skops(path: Path, trusted: list[str], allow_pickle: bool) -> Any:
    skops_io = _skops_io()
    untrusted = sorted(set(skops_io.get_untrusted_types(file=path)) - set(trusted))
    if untrusted:
        where = "" if allow_pickle else " (with pickles refused, the model's own MLmodel list is not trusted)"
        raise UnsafeModelRefused(
            f"refusing to load {path.name}: skops would have to trust {untrusted}{where}; if you trust "
            "them, pass trusted_types=[...] to load_model or set SHIPYARD_SKOPS_TRUSTED_TYPES"
        )
    return skops_io.load(path, trusted=trusted)


def load_model(path: str | Path, *, allow_pickle: bool = True, trusted_types: Sequence[str] = ()) -> Any:
    """The fitted estimator itself, from a model directory (`trusted_types`: see `skops_trust`)."""
    model_dir = local_model_dir(path)
    model = Model.load(model_dir)
    add_code_paths(model_dir, model.flavors.get(FLAVOR_NAME) or {})
    return _read(model_dir, model, allow_pickle, trusted_types)


class SklearnBackend:
    """The estimator's predict function, called bare."""

    def __init__(self, sk_model: Any, predict_fn: str) -> None:
        self.model = sk_model
        self._fn = getattr(sk_model, predict_fn)
        # Fitted on a DataFrame -> sklearn checks names; fitted on arrays -> a 2-D array is enough.
        self.needs_column_names = hasattr(sk_model, "feature_names_in_")
        self.batchable = True

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        return self._fn(data)


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> SklearnBackend:
    sk_model = _read(model_dir, model, options.allow_pickle, options.skops_trusted_types)
    fn = (model.flavors.get(PYFUNC_FLAVOR) or {}).get("predict_fn") or "predict"
    if not hasattr(sk_model, fn):
        raise ModelLoadError(f"{model_dir}: predict_fn {fn!r} is not a method of {type(sk_model).__name__}")
    return SklearnBackend(sk_model, fn)


class _MlflowSklearnPyfunc(MlflowPyfunc):
    """MLflow calls the method MLmodel's `predict_fn` names; Shipyard's backend already calls
    that estimator method, so every name MLflow may look up is the same predict."""

    predict_proba = predict_log_proba = predict_joint_log_proba = MlflowPyfunc.predict
    decision_function = score_samples = transform = MlflowPyfunc.predict


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config, _MlflowSklearnPyfunc)


__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "SklearnBackend",
    "load_model",
    "load_pyfunc",
    "read_estimator",
    "save_model",
    "skops_trust",
]
