"""PyTorch Lightning autolog: `Trainer.fit` records the optimizer and its hyperparameters, the
trainer's settings, early stopping, every metric the module `self.log`s at epoch end (and every
n steps when asked) with its step, and the trained model through the torch flavor.

Patches `lightning.pytorch.Trainer` and `pytorch_lightning.Trainer`, whichever are installed. A
plain torch training loop has no `fit` to patch: log its metrics with `log_metric` (docs/autolog.md).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

from shipyard.autologging.options import (
    LightningOptions,
    common_options,
    flag,
    positive_or_none,
    refuse_unsupported,
)
from shipyard.autologging.patches import REGISTRY
from shipyard.autologging.runs import AutologRun
from shipyard.autologging.safety import Failures
from shipyard.flavors.inference import infer_signature
from shipyard.flavors.torch import save_model
from shipyard.model_logging import log_model_dir

INTEGRATION = "pytorch"
PACKAGES = ("lightning.pytorch", "pytorch_lightning")
EXAMPLE_ROWS = 5


def autolog(
    log_every_n_epoch: int | None = 1,
    log_every_n_step: int | None = None,
    log_models: bool = True,
    log_datasets: bool = False,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
    checkpoint: bool = False,
    checkpoint_monitor: str | None = "val_loss",
    checkpoint_mode: str | None = "min",
    checkpoint_save_best_only: bool = True,
    checkpoint_save_weights_only: bool = False,
    checkpoint_save_freq: int | str = "epoch",
    log_model_signatures: bool = True,
) -> None:
    """Turn PyTorch Lightning autologging on (MLflow's `mlflow.pytorch.autolog` options), or off
    with `disable=True`, which puts `Trainer.fit` back as it was. The checkpoint_* options only
    matter with `checkpoint=True`, which Shipyard refuses."""
    if disable:
        REGISTRY.unpatch(INTEGRATION)
        return
    refuse_unsupported(
        "pytorch.autolog",
        disable_for_unsupported_versions=disable_for_unsupported_versions,
        checkpoint=checkpoint,
    )
    # NOTE: MLflow's pytorch autolog accepts log_datasets and records no dataset; so does Shipyard
    flag("pytorch.autolog", "log_datasets", log_datasets)
    options = LightningOptions(
        common=common_options(
            log_input_examples=False,
            log_model_signatures=log_model_signatures,
            log_models=log_models,
            exclusive=exclusive,
            silent=silent,
            registered_model_name=registered_model_name,
            extra_tags=extra_tags,
        ),
        log_every_n_epoch=positive_or_none("pytorch.autolog", "log_every_n_epoch", log_every_n_epoch),
        log_every_n_step=positive_or_none("pytorch.autolog", "log_every_n_step", log_every_n_step),
    )
    REGISTRY.set_options(INTEGRATION, options)
    for package in packages_to_patch():
        trainer = importlib.import_module(package).Trainer
        callback = importlib.import_module(f"{package}.callbacks").Callback
        REGISTRY.patch(INTEGRATION, trainer, "fit", _fit_wrapper(callback))


def packages_to_patch() -> list[str]:
    """The Lightning packages imported already; if none is, the first one installed.

    NOTE: `lightning.pytorch` and `pytorch_lightning` are two copies of the same code, each
    about a second to import: importing the one the user does not use would cost that for nothing.
    """
    imported = [package for package in PACKAGES if package in sys.modules]
    if imported:
        return imported
    for package in PACKAGES:
        try:
            if importlib.util.find_spec(package) is not None:
                return [package]
        except ModuleNotFoundError:  # `lightning` itself is missing
            continue
    return []


def _fit_wrapper(callback_base: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def patched(trainer: Any, *args: Any, **kwargs: Any) -> Any:
            options = REGISTRY.options(INTEGRATION)
            if options is None or REGISTRY.inside():
                return original(trainer, *args, **kwargs)
            with REGISTRY.outermost():
                return _fit_and_log(original, callback_base, trainer, args, kwargs, options)

        return patched

    return make


def _fit_and_log(
    original: Callable[..., Any],
    callback_base: type,
    trainer: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: LightningOptions,
) -> Any:
    failures = Failures(INTEGRATION)
    run: AutologRun | None = None
    with failures.guard("starting a run"):
        run = AutologRun.begin(INTEGRATION, options.common)
    recorder = None
    if run is not None:
        recorder = _recorder_class(callback_base)(run, options, failures)
        trainer.callbacks.append(recorder)
    try:
        result = original(trainer, *args, **kwargs)
    except BaseException as error:
        _detach(trainer, recorder)
        if run is not None:
            with failures.guard("ending the run"):
                run.end(error)
        failures.report(options.common.silent, quietly=True)
        raise
    _detach(trainer, recorder)
    if run is not None and recorder is not None:
        with failures.guard("early stopping"):
            run.log_metrics(_stopped_epochs(trainer))
        if options.common.log_models:
            with failures.guard("the model"):
                _log_module(run, trainer.lightning_module, recorder.example, options)
        with failures.guard("ending the run"):
            run.end()
    failures.report(options.common.silent)
    return result


def _detach(trainer: Any, recorder: Any) -> None:
    if recorder is not None and recorder in trainer.callbacks:
        trainer.callbacks.remove(recorder)


def _recorder_class(base: type) -> type:
    """A Lightning `Callback` subclass (of the installed package's class) that logs into a run."""

    class Recorder(base):  # type: ignore[misc]
        def __init__(self, run: AutologRun, options: LightningOptions, failures: Failures) -> None:
            super().__init__()
            self.run = run
            self.options = options
            self.failures = failures
            self.example: Any = None

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            with self.failures.guard("params"):
                self.run.log_params(_trainer_params(trainer))

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            if self.example is None and self.options.common.log_model_signatures:
                with self.failures.guard("the input example"):
                    self.example = _first_input(batch)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            every = self.options.log_every_n_step
            if every is not None and trainer.global_step % every == 0:
                with self.failures.guard("step metrics"):
                    self.run.log_metrics(_scalars(trainer.callback_metrics), step=trainer.global_step)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            # NOTE: the epoch's validation has run by now, so its metrics are in callback_metrics
            # too; logging at on_validation_epoch_end as well would log last epoch's train metrics
            # again under this epoch's step.
            every = self.options.log_every_n_epoch
            if every is not None and (trainer.current_epoch + 1) % every == 0:
                with self.failures.guard("epoch metrics"):
                    self.run.log_metrics(_scalars(trainer.callback_metrics), step=trainer.current_epoch)

    return Recorder


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """The one-number entries of Lightning's `callback_metrics` (tensors or numbers)."""
    values = {}
    for key, value in metrics.items():
        numel = getattr(value, "numel", None)
        if numel is not None and numel() != 1:
            continue
        values[key] = float(value)
    return values


def _trainer_params(trainer: Any) -> dict[str, Any]:
    """MLflow's params: epochs, the first optimizer's name and hyperparameters, plus the trainer's
    precision and devices and each early-stopping callback's settings."""
    params: dict[str, Any] = {
        "epochs": trainer.max_epochs,
        "precision": trainer.precision,
        "devices": trainer.num_devices,
        "accelerator": type(trainer.accelerator).__name__,
    }
    if trainer.optimizers:
        optimizer = trainer.optimizers[0]
        params["optimizer_name"] = type(optimizer).__name__
        group = optimizer.param_groups[0] if optimizer.param_groups else {}
        params.update({k: v for k, v in group.items() if k != "params" and not isinstance(v, (list, dict))})
    for stopper in getattr(trainer, "early_stopping_callbacks", []):
        params.update({name: getattr(stopper, name) for name in _EARLY_STOPPING_PARAMS if hasattr(stopper, name)})
    return params


_EARLY_STOPPING_PARAMS = ("monitor", "mode", "patience", "min_delta", "stopped_epoch")


def _stopped_epochs(trainer: Any) -> dict[str, float]:
    """MLflow's early-stopping metrics, once training stopped early (nothing when it did not)."""
    stoppers = getattr(trainer, "early_stopping_callbacks", [])
    if not stoppers or stoppers[0].stopped_epoch == 0:
        return {}
    stopper = stoppers[0]
    metrics = {
        "stopped_epoch": float(stopper.stopped_epoch),
        "restored_epoch": float(stopper.stopped_epoch - max(1, stopper.patience)),
    }
    if hasattr(stopper, "best_score"):
        metrics["best_score"] = float(stopper.best_score)
    if hasattr(stopper, "wait_count"):
        metrics["wait_count"] = float(stopper.wait_count)
    return metrics


def _first_input(batch: Any) -> Any:
    """The first rows of a batch's input tensor (a batch is a tensor, or a tuple/list starting with one)."""
    tensor = batch[0] if isinstance(batch, (tuple, list)) else batch
    return tensor[:EXAMPLE_ROWS].detach().cpu().clone()


def _log_module(run: AutologRun, module: Any, example: Any, options: LightningOptions) -> None:
    """Log the trained module; its signature comes from the first training rows."""
    import torch

    signature: Any = False
    if options.common.log_model_signatures and example is not None:
        was_training = module.training
        module.eval()
        with torch.no_grad():
            output = module(example.to(module.device))
        module.train(was_training)
        signature = infer_signature(example.numpy(), output.detach().cpu().numpy())
    log_model_dir(
        lambda path: save_model(module, path, signature=signature),
        "model",
        registered_model_name=options.common.registered_model_name,
        run_id=run.run_id,
    )


__all__ = ["INTEGRATION", "PACKAGES", "autolog", "packages_to_patch"]
