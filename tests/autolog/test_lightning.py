"""PyTorch Lightning autolog on a real `Trainer.fit`: params, per-epoch metrics with steps, early
stopping, and a model that loads and predicts through pyfunc."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping
from torch.utils.data import DataLoader, TensorDataset

import shipyard
import shipyard.pytorch
from shipyard.autologging import REGISTRY
from shipyard.autologging.lightning import INTEGRATION
from shipyard.entities import Run

pytestmark = [
    # NOTE: lightning 2.6 calls a torch 2.13 API that torch deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
    # Lightning's advice to use more DataLoader workers, pointless for 64 rows.
    pytest.mark.filterwarnings("ignore:The '.*_dataloader' does not have many workers"),
]


class Regressor(L.LightningModule):
    def __init__(self, lr: float = 0.01) -> None:
        super().__init__()
        self.net = torch.nn.Linear(4, 1)
        self.lr = lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # type: ignore[no-any-return]

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.5)


def _data() -> DataLoader[tuple[torch.Tensor, ...]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)


def _trainer(epochs: int, **kwargs: object) -> L.Trainer:
    return L.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,  # type: ignore[arg-type]
    )


def test_fit_logs_epoch_metrics_with_steps_params_and_the_model(
    tracking: shipyard.Client, last_run: Callable[[], Run]
) -> None:
    shipyard.pytorch.autolog()
    torch.manual_seed(0)
    module = Regressor(lr=0.05)
    trainer = _trainer(3)
    trainer.fit(module, _data(), _data())
    run = last_run()
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "pytorch"
    params = run.data.params
    assert params["epochs"] == "3"
    assert params["optimizer_name"] == "SGD"
    assert params["lr"] == "0.05" and params["momentum"] == "0.5"
    assert params["precision"] == "32-true" and params["devices"] == "1"
    for key in ("train_loss_epoch", "val_loss"):
        history = tracking.get_metric_history(run.info.run_id, key)
        assert [m.step for m in history] == [0, 1, 2], key
    final = float(trainer.callback_metrics["val_loss"])
    assert run.data.metrics["val_loss"] == pytest.approx(final)
    assert not any(m.step > 2 for m in tracking.get_metric_history(run.info.run_id, "train_loss_step"))
    loaded = shipyard.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.asarray(loaded.predict(x)), expected, rtol=1e-5)
    assert trainer.callbacks == [c for c in trainer.callbacks if type(c).__name__ != "Recorder"]


def test_every_n_steps_logs_with_the_global_step(tracking: shipyard.Client, last_run: Callable[[], Run]) -> None:
    shipyard.pytorch.autolog(log_every_n_step=2, log_models=False)
    _trainer(2).fit(Regressor(), _data(), _data())
    run = last_run()
    steps = [m.step for m in tracking.get_metric_history(run.info.run_id, "train_loss_step")]
    # every 2nd of 8 global steps, plus MLflow's epoch-end values of all metrics (step = epoch)
    assert steps == [0, 1, 2, 4, 6, 8]


def test_early_stopping_settings_and_the_stopped_epoch(tracking: shipyard.Client, last_run: Callable[[], Run]) -> None:
    shipyard.autolog(log_models=False)
    stopper = EarlyStopping("val_loss", patience=1, min_delta=1e9, mode="min")
    _trainer(10, callbacks=[stopper]).fit(Regressor(), _data(), _data())
    run = last_run()
    assert run.data.params["monitor"] == "val_loss"
    assert run.data.params["patience"] == "1"
    assert stopper.stopped_epoch > 0
    assert run.data.metrics["stopped_epoch"] == stopper.stopped_epoch
    assert run.data.metrics["restored_epoch"] == stopper.stopped_epoch - 1


def test_disable_restores_trainer_fit(tracking: shipyard.Client) -> None:
    import pytorch_lightning

    originals = {L.Trainer: vars(L.Trainer)["fit"], pytorch_lightning.Trainer: vars(pytorch_lightning.Trainer)["fit"]}
    shipyard.autolog()
    assert {p.owner for p in REGISTRY.patches(INTEGRATION)} == set(originals)
    assert L.Trainer.fit is not originals[L.Trainer]
    shipyard.pytorch.autolog(disable=True)
    assert all(vars(owner)["fit"] is fit for owner, fit in originals.items())


def test_a_failing_training_step_ends_the_run_failed(tracking: shipyard.Client, last_run: Callable[[], Run]) -> None:
    class Broken(Regressor):
        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> torch.Tensor:
            raise RuntimeError("the user's bug")

    shipyard.pytorch.autolog()
    with pytest.raises(RuntimeError, match="the user's bug"):
        _trainer(1).fit(Broken(), _data(), _data())
    assert last_run().info.status == "FAILED"


def test_log_datasets_is_accepted_and_records_nothing_as_in_mlflow(
    tracking: shipyard.Client, last_run: Callable[[], Run]
) -> None:
    shipyard.pytorch.autolog(log_datasets=True, log_models=False)
    _trainer(1).fit(Regressor(), _data(), _data())
    run = last_run()
    assert run.inputs.dataset_inputs == []
    assert "val_loss" in run.data.metrics
