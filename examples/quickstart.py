"""Quickstart: train an iris classifier, save it as a model directory, load it back and predict.

Run from anywhere: `python examples/quickstart.py` (writes ./shipyard-example/iris).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard

MODEL_DIR = Path("shipyard-example") / "iris"


def main() -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)

    shutil.rmtree(MODEL_DIR, ignore_errors=True)  # the example starts fresh on every run
    shipyard.sklearn.save_model(model, MODEL_DIR, input_example=X.head(3))
    print(f"saved {MODEL_DIR} (see {MODEL_DIR / 'serving_input_example.json'} for a request body)")

    loaded = shipyard.pyfunc.load_model(MODEL_DIR)
    print("signature inputs:", loaded.signature.inputs.input_names())
    print("predictions:", loaded.predict(X.sample(5, random_state=0)).tolist())


if __name__ == "__main__":
    main()
