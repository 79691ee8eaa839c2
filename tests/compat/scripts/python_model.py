"""Custom python models: a PythonModel with load_context and artifacts, params, model_config,
save_model / log_model / load_model (from a path and from runs:/)."""

import json
import sys
import warnings
from pathlib import Path

import pandas as pd
from compat_report import Report

if sys.argv[1] == "shipyard":
    import shipyard as mlflow
else:
    import mlflow

# NOTE: MLflow 3 suggests type hints on predict (a UserWarning); this model follows MLflow 2's docs.
warnings.simplefilter("ignore", UserWarning)
report = Report()
mlflow.set_tracking_uri(report.tracking_uri)
mlflow.set_experiment("python-models")


class Affine(mlflow.pyfunc.PythonModel):
    """y = scale * x + offset, scale read from an artifact at load time, offset a param."""

    def load_context(self, context):
        self.scale = json.loads(Path(context.artifacts["weights"]).read_text())["scale"]
        self.config = dict(context.model_config or {})
        self.artifact_keys = sorted(context.artifacts)

    def predict(self, context, model_input, params=None):
        offset = (params or {}).get("offset", 0.0)
        factor = self.config.get("factor", 1.0)
        return pd.DataFrame({"y": model_input["x"] * self.scale * factor + offset})


weights = report.root / "weights.json"
weights.write_text(json.dumps({"scale": 3.0}))
data = pd.DataFrame({"x": [1.0, 2.0, 4.0]})
signature = mlflow.models.infer_signature(data, pd.DataFrame({"y": [0.0, 0.0, 0.0]}), params={"offset": 0.0})
report["signature"] = signature.to_dict()

path = report.root / "affine"
mlflow.pyfunc.save_model(
    str(path), python_model=Affine(), artifacts={"weights": str(weights)}, signature=signature, input_example=data
)
loaded = mlflow.pyfunc.load_model(str(path))
report["saved.flavors"] = sorted(mlflow.models.Model.load(str(path)).flavors)
report["saved.predict"] = loaded.predict(data)["y"].tolist()
report["saved.predict.params"] = loaded.predict(data, params={"offset": 10.0})["y"].tolist()
unwrapped = loaded.unwrap_python_model()
report["saved.unwrap_python_model"] = {
    "class": type(unwrapped).__name__,
    "scale": unwrapped.scale,
    "artifact_keys": unwrapped.artifact_keys,
    "predict": unwrapped.predict(None, data, params={"offset": 1.0})["y"].tolist(),
}
report["saved.params_schema"] = loaded.metadata.get_params_schema().to_dict()
report["saved.output_schema"] = loaded.metadata.get_output_schema().to_dict()
report["saved.load_input_example"] = mlflow.models.Model.load(str(path)).load_input_example(str(path))["x"].tolist()
with_params = report.root / "affine-params"
mlflow.pyfunc.save_model(
    str(with_params),
    python_model=Affine(),
    artifacts={"weights": str(weights)},
    signature=signature,
    input_example=(data, {"offset": 1.0}),
)
params_model = mlflow.models.Model.load(str(with_params))
report["params_example.info"] = params_model.saved_input_example_info
report["params_example.params"] = params_model.load_input_example_params(str(with_params))
report["params_example.data"] = params_model.load_input_example(str(with_params))["x"].tolist()
report["params_example.serving"] = json.loads((with_params / "serving_input_example.json").read_text())

with mlflow.start_run() as run:
    info = mlflow.pyfunc.log_model(
        name="affine",
        python_model=Affine(),
        artifacts={"weights": str(weights)},
        signature=signature,
        model_config={"factor": 2.0},
    )
report["log_model.signature"] = info.signature.to_dict()
report["log_model.flavors"] = sorted(info.flavors)
logged = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/affine")
report["logged.predict"] = logged.predict(data)["y"].tolist()
report["logged.predict.params"] = logged.predict(data, params={"offset": -1.0})["y"].tolist()
report["logged.model_info_uri"] = mlflow.pyfunc.load_model(info.model_uri).predict(data)["y"].tolist()
overridden = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/affine", model_config={"factor": 5.0})
report["model_config.override"] = overridden.predict(data)["y"].tolist()
report.write()
