"""Every place that torch.loads a user's file (training checkpoints, pretrained weights, the test-side tracker)
names the file and says what is wrong with it, and never advises unsafe loading (weights_only=False)."""
from __future__ import annotations

import pytest
import torch

from lib.models.backbones import OneStreamViT, PretrainedLoadError, load_pretrained_vit
from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint, save_checkpoint


@pytest.fixture
def bad_files(tmp_path):
    """name -> (path, what the message must say)."""
    good = save_checkpoint(tmp_path / "good.pth", {"format": CHECKPOINT_FORMAT, "net": {"w": torch.zeros(5000)}})
    files = {
        "html": (b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title>", "starts with the text '<!DOCTYPE html"),
        "empty": (b"", "empty (0 bytes"),
        "truncated": (good.read_bytes()[:4000], "truncated or corrupt"),
        "pickled_module": (None, "holds objects of class torch.nn.modules.linear.Linear"),
    }
    out = {}
    for name, (data, says) in files.items():
        path = tmp_path / f"{name}.pth"
        if data is None:
            torch.save(torch.nn.Linear(2, 2), path)  # a whole module: loading it would run code from the file
        else:
            path.write_bytes(data)
        out[name] = (path, says)
    return out


def test_a_training_checkpoint_that_is_not_one_is_named_and_explained(bad_files):
    for path, says in bad_files.values():
        with pytest.raises(CheckpointError) as error:
            load_checkpoint(path)
        message = str(error.value)
        assert message.startswith(f"{path} is not a") and "checkpoint" in message and says in message
        assert "weights_only" not in message


def test_a_pretrained_file_that_is_not_one_is_named_and_explained(bad_files):
    backbone = OneStreamViT(template_size=16, search_size=32, patch_size=16, embed_dim=32, depth=1, num_heads=2)
    for path, says in bad_files.values():
        with pytest.raises(PretrainedLoadError) as error:
            load_pretrained_vit(backbone, path)
        message = str(error.value)
        assert message.startswith(f"{path} is not a") and "pretrained weights file" in message and says in message
        assert "weights_only" not in message


def test_the_same_state_saved_twice_gives_the_same_bytes(tmp_path):
    """Result folders are keyed on the checkpoint's digest: re-exporting the same weights must not change it."""
    import torch

    from lib.train.trainers.checkpoint import save_checkpoint
    from lib.utils.io import file_digest
    state = {"net": {"w": torch.arange(6.0).reshape(2, 3)}, "epoch": 3}
    first, second = save_checkpoint(tmp_path / "a.pth", state), save_checkpoint(tmp_path / "b" / "a.pth", state)
    assert file_digest(first) == file_digest(second)
