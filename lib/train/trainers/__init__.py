"""The training engine: loop, checkpoints and logs (see trainer.py for the reproducibility contract)."""
from lib.train.trainers.checkpoint import (CheckpointError, CheckpointExistsError, latest_checkpoint,
                                           list_checkpoints, load_checkpoint)
from lib.train.trainers.logging import RunDirs
from lib.train.trainers.trainer import NonFiniteLossError, Trainer

__all__ = ["CheckpointError", "CheckpointExistsError", "NonFiniteLossError", "RunDirs", "Trainer",
           "latest_checkpoint", "list_checkpoints", "load_checkpoint"]
