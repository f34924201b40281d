"""The real tiny tracker trains end to end through tracking/train.py, in one process and on 2 gloo ranks
(rank equality of the weights is checked on a toy network in test_train_ddp.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lib.paths import PROJECT_ROOT
from lib.synth import FRAME_W, generate_split
from lib.test.evaluation.webuav_layout import load_webuav_split


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 3-sequence SynthUAV and a synth_tiny variant small enough for a test (16 pairs per epoch)."""
    root = tmp_path_factory.mktemp("e2e")
    generate_split(root / "synth_uav", "train", num=3, seed=0, workers=1, progress=False)
    generate_split(root / "synth_uav", "val", num=2, seed=0, workers=1, progress=False)
    generate_split(root / "synth_uav", "test", num=1, seed=0, workers=1, progress=False)
    cfg = yaml.safe_load((PROJECT_ROOT / "experiments/ostrack/synth_tiny.yaml").read_text())
    cfg["DATA"]["TRAIN"]["SAMPLE_PER_EPOCH"] = 16
    cfg["DATA"]["VAL"]["SAMPLE_PER_EPOCH"] = 8
    cfg["TRAIN"].update({"BATCH_SIZE": 4, "NUM_WORKER": 0, "EPOCH": 1, "VAL_EPOCH_INTERVAL": 1})
    config = root / "tiny_test.yaml"
    config.write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, TRACKING_DATA_SYNTH_UAV=str(root / "synth_uav"), OMP_NUM_THREADS="1")
    return root, config, env


def train(args, env, timeout=240):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "tracking/train.py"), "--script", "ostrack", *args,
                           "--no_progress"], env=env, capture_output=True, text=True, timeout=timeout)


def test_tiny_config_trains_one_epoch_and_saves_a_loadable_checkpoint(tiny_run):
    root, config, env = tiny_run
    result = train(["--config", str(config), "--save_dir", str(root / "single")], env)
    assert result.returncode == 0, result.stdout + result.stderr
    run = root / "single" / "checkpoints" / "ostrack" / "tiny_test"
    ckpt = torch.load(run / "ep0001.pth", weights_only=True)
    assert ckpt["epoch"] == 1 and (run / "config.yaml").is_file()
    assert all(torch.isfinite(v).all() for v in ckpt["net"].values() if v.is_floating_point())
    log = (root / "single" / "logs" / "ostrack" / "tiny_test.log").read_text()
    assert "finished" in log and "val:" in log

    # the trained checkpoint is found by tracking/test.py under the same --save_dir (epoch TEST.EPOCH)
    cfg = yaml.safe_load(config.read_text())
    cfg["TEST"]["EPOCH"] = 1
    config.write_text(yaml.safe_dump(cfg))
    test = subprocess.run([sys.executable, str(PROJECT_ROOT / "tracking/test.py"), "ostrack", str(config),
                           "--dataset", "synth_uav", "--save_dir", str(root / "single"), "--no_progress"],
                          env=env, capture_output=True, text=True, timeout=240)
    assert test.returncode == 0, test.stdout + test.stderr
    seq, = load_webuav_split(root / "synth_uav" / "test", "synth_uav")
    boxes = np.loadtxt(root / "single/test/tracking_results/ostrack/tiny_test/synth_uav" / f"{seq.name}.txt",
                       delimiter=",")
    assert boxes.shape == (len(seq.frames), 4) and np.isfinite(boxes).all()
    np.testing.assert_allclose(boxes[0], seq.ground_truth[0], atol=1e-4)
    assert (boxes[1:, 2:] >= 1).all() and (boxes[1:, 0] + boxes[1:, 2] <= FRAME_W + 1e-6).all()


def test_tiny_config_trains_on_two_gloo_ranks(tiny_run):
    root, config, env = tiny_run
    result = train(["--config", str(config), "--save_dir", str(root / "ddp"), "--mode", "multiple",
                    "--nproc_per_node", "2"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    run = root / "ddp" / "checkpoints" / "ostrack" / "tiny_test"
    ckpt = torch.load(run / "ep0001.pth", weights_only=True)
    assert ckpt["world_size"] == 2
    # a second fresh run into the same folder must refuse rather than silently continue or overwrite
    again = train(["--config", str(config), "--save_dir", str(root / "ddp")], env)
    assert again.returncode == 2 and "--resume" in (again.stdout + again.stderr)
