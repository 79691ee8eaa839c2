"""`shipyard models predict -m URI -i FILE -t json|csv [-o FILE]`: one prediction, offline.

The input file is an `/invocations` body, parsed by the scoring protocol's own parser
(`runtime/scoring.py`); the model is resolved and loaded as `shipyard serve` does; the output is
the server's answer, `{"predictions": ...}`. `--env-manager uv|virtualenv|conda` runs the same
command in the model's own environment (`commands/model_environment.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shipyard.commands.environments import check_serving_environment, serving_environment_options
from shipyard.commands.errors import reported_errors
from shipyard.exceptions import ShipyardError
from shipyard.flavors.pyfunc import load_model
from shipyard.runtime.model import resolve_model
from shipyard.runtime.scoring import (
    CSV_TYPES,
    JSON_TYPES,
    parse_invocation,
    predictions_body,
    schema_input,
    unschematized_input,
)
from shipyard.settings import cli_settings

CONTENT_TYPES = {"json": JSON_TYPES[0], "csv": CSV_TYPES[0]}


def _predict_in_model_environment(ctx: click.Context, model_uri: str, manager: str) -> None:
    """Resolve the model here, then `shipyard models predict ... --env-manager local` in its
    environment (stdin, when it is the input, passes through)."""
    from shipyard.commands.model_environment import local_arguments, model_environment, run_inside

    with reported_errors():
        settings = cli_settings()
        identity = resolve_model(model_uri, name=None, settings=settings)
        environment = model_environment(Path(identity.local_path), manager, settings)
    run_inside(environment, ["models", "predict", *local_arguments(ctx, {"model_uri": identity.local_path})])


@click.command("predict")
@click.option(
    "-m", "--model-uri", required=True, help="Model directory, file://, models:/name/<version|stage|@alias> or runs:/"
)
@click.option(
    "-i",
    "--input-path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="An /invocations body: JSON (dataframe_split, dataframe_records, instances, inputs) or CSV [default: stdin]",
)
@click.option("-o", "--output-path", type=click.Path(dir_okay=False), default=None, help="JSON file [default: stdout]")
@click.option(
    "-t",
    "--content-type",
    type=click.Choice(sorted(CONTENT_TYPES), case_sensitive=False),
    default="json",
    show_default=True,
    help="The input's format.",
)
@serving_environment_options
@click.pass_context
def predict(
    ctx: click.Context,
    model_uri: str,
    input_path: str | None,
    output_path: str | None,
    content_type: str,
    env_manager: str | None,
    no_conda: bool,
    install_mlflow: bool,
    enable_mlserver: bool,
) -> None:
    """Predict on an input file with a model; write `{"predictions": ...}` as JSON."""
    check_serving_environment(env_manager, no_conda, install_mlflow, enable_mlserver)
    if env_manager is not None and env_manager.lower() != "local":
        _predict_in_model_environment(ctx, model_uri, env_manager)
    body = Path(input_path).read_bytes() if input_path is not None else sys.stdin.buffer.read()
    with reported_errors():
        request = parse_invocation(body, CONTENT_TYPES[content_type.lower()])
        settings = cli_settings()
        identity = resolve_model(model_uri, name=None, settings=settings)
        model = load_model(identity.local_path, allow_pickle=settings.allow_pickle)
        try:
            schema = model.input_schema
            # NOTE: the body becomes the model's input as `serve` makes it (a CSV read by the
            # signature's types; DataFrames for a model without a signature, as MLflow's).
            data = unschematized_input(request) if schema is None else schema_input(request, schema)
            output = model.predict(data, request.params)
        except ShipyardError:
            raise
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # as `serve` answers 400
            raise click.ClickException(f"BAD_REQUEST: the input does not match the model: {exc}") from None
        except Exception as exc:  # the model's own failure: a message, never a traceback
            raise click.ClickException(f"INTERNAL_ERROR: the model raised {type(exc).__name__}: {exc}") from None
    answer = predictions_body(output)
    if output_path is None:
        click.echo(answer.decode())
    else:
        Path(output_path).write_bytes(answer)


__all__ = ["predict"]
