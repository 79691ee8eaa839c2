"""The pipeline's validation step: reads the training run's metrics back and passes or fails."""

import argparse
import sys

import shipyard

parser = argparse.ArgumentParser()
parser.add_argument("--train-run-id", required=True)
parser.add_argument("--max-loss", type=float, required=True)
args = parser.parse_args()

final_loss = shipyard.Client().get_run(args.train_run_id).data.metrics["final_loss"]
passed = final_loss <= args.max_loss
with shipyard.start_run():
    shipyard.log_metric("validated_loss", final_loss)
    shipyard.set_tag("validation", "passed" if passed else "failed")
print(f"final_loss {final_loss:.4f} {'<=' if passed else '>'} {args.max_loss}")
sys.exit(0 if passed else 1)
