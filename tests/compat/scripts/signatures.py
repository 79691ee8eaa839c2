"""Signatures: infer_signature, hand-written Schema/ColSpec/TensorSpec, input examples, and the
schema enforcement pyfunc's predict applies (missing and extra columns, safe and unsafe casts)."""

import json
import sys
import warnings

import numpy as np
import pandas as pd
from compat_report import Report
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

if sys.argv[1] == "shipyard":
    import shipyard as mlflow
else:
    import mlflow

report = Report()
X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = ["sl", "sw", "pl", "pw"]
model = LogisticRegression(max_iter=500).fit(X, y)

inferred = mlflow.models.infer_signature(X, model.predict(X))
report["inferred"] = inferred.to_dict()
report["inferred.input_names"] = inferred.inputs.input_names()
report["inferred.has_input_names"] = inferred.inputs.has_input_names()
report["inferred.is_tensor_spec"] = inferred.outputs.is_tensor_spec()
with_params = mlflow.models.infer_signature(X, model.predict(X), params={"threshold": 0.5, "mode": "fast"})
report["with_params"] = with_params.to_dict()

Schema, ColSpec, TensorSpec = mlflow.types.schema.Schema, mlflow.types.schema.ColSpec, mlflow.types.schema.TensorSpec
by_hand = mlflow.models.ModelSignature(
    inputs=Schema([ColSpec("double", name) for name in X.columns]),
    outputs=Schema([ColSpec("long")]),
)
report["by_hand"] = by_hand.to_dict()
report["by_hand_equals_inferred_inputs"] = by_hand.inputs == inferred.inputs
tensor = mlflow.models.ModelSignature(
    inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 4))]), outputs=Schema([TensorSpec(np.dtype(np.int64), (-1,))])
)
report["tensor"] = tensor.to_dict()
report["from_dict_roundtrip"] = mlflow.models.ModelSignature.from_dict(inferred.to_dict()) == inferred

path = report.root / "model"
mlflow.sklearn.save_model(model, str(path), signature=inferred, input_example=X.iloc[:3])
report["files"] = sorted(
    name for name in ("MLmodel", "input_example.json", "serving_input_example.json") if (path / name).exists()
)
saved = mlflow.models.Model.load(str(path))
report["saved.signature"] = saved.signature.to_dict()
report["saved.input_example"] = json.loads((path / "input_example.json").read_text())
report["saved.serving_input_example"] = json.loads((path / "serving_input_example.json").read_text())
report["saved.flavors"] = sorted(saved.flavors)
report["saved.input_example_info"] = saved.saved_input_example_info
example = saved.load_input_example(str(path))
report["saved.load_input_example"] = {
    "type": type(example).__name__,
    "split": example.to_dict(orient="split"),
    "dtypes": [str(d) for d in example.dtypes],
}
report["saved.load_input_example_params"] = saved.load_input_example_params(str(path))
tensor_path = report.root / "tensor_model"
tensor_X = X.to_numpy(dtype=np.float32)
mlflow.sklearn.save_model(model, str(tensor_path), signature=tensor, input_example=tensor_X[:2])
tensor_example = mlflow.models.Model.load(str(tensor_path)).load_input_example(str(tensor_path))
report["tensor.load_input_example"] = {
    "type": type(tensor_example).__name__,
    "dtype": str(tensor_example.dtype),
    "values": tensor_example.tolist(),
}

loaded = mlflow.pyfunc.load_model(str(path))
report["loaded.signature"] = loaded.metadata.signature.to_dict()
report["loaded.input_schema"] = loaded.metadata.get_input_schema().to_dict()
report["loaded.output_schema"] = loaded.metadata.get_output_schema().to_dict()
report["loaded.params_schema"] = loaded.metadata.get_params_schema()
try:
    loaded.unwrap_python_model()
    report["loaded.unwrap_python_model"] = "returned"
except mlflow.exceptions.MlflowException:
    report["loaded.unwrap_python_model"] = "MlflowException"
expected = model.predict(X.iloc[:5]).tolist()


def attempt(label, data):
    """The predictions' equality with the model's own, or the error class (MLflow's root error)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            report[label] = {"same": np.asarray(loaded.predict(data)).tolist() == expected}
        except mlflow.exceptions.MlflowException as error:
            report[label] = {"error": "MlflowException", "names_column": any(c in str(error) for c in X.columns)}


attempt("enforce.exact", X.iloc[:5])
attempt("enforce.reordered", X.iloc[:5][["pw", "pl", "sw", "sl"]])
attempt("enforce.extra_column", X.iloc[:5].assign(extra=1.0))
attempt("enforce.missing_column", X.iloc[:5].drop(columns=["pw"]))
attempt("enforce.int32_to_double", X.iloc[:5].astype("int32"))
attempt("enforce.string_column", X.iloc[:5].astype({"sl": str}))
attempt("enforce.dict_of_lists", {name: X[name].iloc[:5].tolist() for name in X.columns})
attempt("enforce.records", X.iloc[:5].to_dict(orient="records"))
report["int32_to_double.values"] = (
    np.asarray(loaded.predict(pd.DataFrame({c: np.array([1, 2], dtype="int32") for c in X.columns}))).tolist()
    == model.predict(pd.DataFrame({c: [1.0, 2.0] for c in X.columns})).tolist()
)
report.write()
