"""A pipeline of project runs: train with two alphas, read each step's metrics back with the
client, validate the best one. Run from the repository root:

    python examples/pipeline.py [TRACKING_URI]

Each `shipyard.projects.run` is one tracked run with its params; `env_manager="local"` uses this
interpreter (which has shipyard); leave it out to build the MLproject's python_env with uv.
"""

from __future__ import annotations

import sys
from pathlib import Path

import shipyard
from shipyard.projects import ExecutionError

PROJECT = str(Path(__file__).resolve().parent / "pipeline")


def main(tracking_uri: str | None = None) -> dict[str, str]:
    if tracking_uri:
        shipyard.set_tracking_uri(tracking_uri)
    client = shipyard.Client()
    losses = {}
    for alpha in (0.05, 0.5):
        step = shipyard.projects.run(PROJECT, "main", parameters={"alpha": alpha, "epochs": 10}, env_manager="local")
        losses[step.run_id] = client.get_run(step.run_id).data.metrics["final_loss"]
    best = min(losses, key=losses.__getitem__)
    print(f"best training run {best}: final_loss {losses[best]:.4f}")
    try:
        check = shipyard.projects.run(PROJECT, "validate", parameters={"train_run_id": best}, env_manager="local")
        verdict = "passed"
    except ExecutionError as failed:
        check, verdict = None, f"failed (run {failed.run_id})"
    print(f"validation {verdict}")
    return {"best": best, "validation": verdict, "validate_run": check.run_id if check else ""}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
