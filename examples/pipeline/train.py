"""The pipeline's training step: a stand-in model whose loss falls with `alpha` per epoch.

`shipyard run` created the run and named it in SHIPYARD_RUN_ID / MLFLOW_RUN_ID, so `start_run()`
joins it; the launcher already logged alpha and epochs as params."""

import argparse
import math

import shipyard

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, required=True)
parser.add_argument("--epochs", type=int, required=True)
args = parser.parse_args()

with shipyard.start_run() as run:
    for epoch in range(args.epochs):
        shipyard.log_metric("loss", math.exp(-args.alpha * (epoch + 1)), step=epoch)
    shipyard.log_metric("final_loss", math.exp(-args.alpha * args.epochs))
    print(f"trained in run {run.info.run_id}")
