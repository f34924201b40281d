"""Training that starts from a trained tracker (MODEL.INIT_FROM) and training on enhanced frames (DATA.ENHANCER):
what fine-tuning MLKD's teacher on enhanced night data needs (MLKD's teacher was a day tracker fine-tuned so)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_data_seq, save_tiny_tracker

from lib.config import ConfigError, load_config
from lib.models import build_network
from lib.models.enhancer import DarkLighter
from lib.train.dataset.data_seq import UAVDark135
from lib.train.dataset.enhanced_twin import EnhancedTwin
from lib.train.run_training import init_from

TINY = ("MODEL:\n  BACKBONE: {EMBED_DIM: 32, DEPTH: 2, NUM_HEADS: 2}\n  HEAD: {NUM_CHANNELS: 16}\n"
        "DATA:\n  SEARCH: {SIZE: 64}\n  TEMPLATE: {SIZE: 32}\nTEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64, EPOCH: 1}\n")


def test_init_from_a_checkpoint_file_or_a_trained_config(tmp_path, monkeypatch):
    from lib.test.tracker.build import default_checkpoint
    config, checkpoint, trained = save_tiny_tracker(tmp_path, TINY, "day")
    monkeypatch.setenv("TRACKING_OUTPUT_ROOT", str(tmp_path / "out"))
    found = default_checkpoint("ostrack", str(config), 1)  # where 'ostrack/<config>' finds its epoch TEST.EPOCH
    found.parent.mkdir(parents=True)
    found.write_bytes(checkpoint.read_bytes())
    for source in (str(checkpoint), f"ostrack/{config}"):
        torch.manual_seed(1)
        net = build_network(load_config("ostrack", str(config)), load_pretrained=False)
        init_from(net, source, "ostrack", str(config))
        for name, value in net.state_dict().items():
            assert torch.equal(value, trained.state_dict()[name]), (source, name)
    with pytest.raises(ConfigError, match="neither a checkpoint file"):
        init_from(net, str(tmp_path / "missing.pth"), "ostrack", str(config))


def test_enhanced_frames_can_stand_in_for_the_frames(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_DATA_ROOT", str(tmp_path / "data"))
    make_data_seq(tmp_path / "UAVDark135", n=2)
    weights = tmp_path / "darklighter.pth"
    torch.save(DarkLighter().state_dict(), weights)
    dataset = UAVDark135(root=tmp_path / "UAVDark135")
    twin = EnhancedTwin(dataset, weights, "UAVDARK135", progress=False)
    enhanced = EnhancedTwin(dataset, weights, "UAVDARK135", progress=False, as_frames=True)
    _, _, meta = twin.get_frames(0, [0, 1])
    frames, _, plain_meta = enhanced.get_frames(0, [0, 1])
    assert all(np.array_equal(a, b) for a, b in zip(frames, meta["teacher_frames"]))
    assert "teacher_frames" not in plain_meta


def test_an_mlkd_pool_refuses_a_whole_tracker_start_and_enhanced_student_frames(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("MODEL: {INIT_FROM: ostrack/synth_tiny}\nDATA: {ENHANCER: darklighter/Epoch193.pth}\n")
    with pytest.raises(ConfigError) as err:
        load_config("mlkd", str(path))
    assert "MODEL.INIT_FROM" in str(err.value) and "DATA.ENHANCER" in str(err.value)
