"""Test-time tracker geometry, and the tracker running on the shared VOT 'bag' sequence."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lib.config import load_config
from lib.models import build_network
from lib.test.tracker import OSTrackTracker, clip_box, hann_window
from lib.utils.annotations import parse_boxes
from lib.utils.image import imread_rgb

BAG = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "vot_bag"


class CentreNet(torch.nn.Module):
    """Predicts the target exactly at the search centre with a fixed normalised size."""

    def __init__(self, feat: int, size_wh: tuple[float, float]):
        super().__init__()
        self.feat, self.size_wh = feat, size_wh

    def forward(self, template, search):
        score = torch.zeros(1, 1, self.feat, self.feat)
        score[0, 0, self.feat // 2, self.feat // 2] = 1.0
        size = torch.tensor(self.size_wh).view(1, 2, 1, 1).expand(1, 2, self.feat, self.feat)
        return {"score_map": score, "size_map": size, "offset_map": torch.zeros(1, 2, self.feat, self.feat)}


def tiny_cfg():
    return load_config("ostrack", "synth_tiny")


def test_hann_window_and_clip():
    w = hann_window(8)
    assert w.shape == (8, 8) and (w > 0).all() and torch.allclose(w, w.T)
    assert w[3:5, 3:5].min().item() == pytest.approx(w.max().item())  # the peak is the 2x2 centre
    np.testing.assert_allclose(clip_box(np.array([-50.0, 5, 30, 20]), 100, 200), [0, 5, 10, 20])
    np.testing.assert_allclose(clip_box(np.array([195.0, 95, 30, 20]), 100, 200), [190, 90, 10, 10])


def test_a_centre_prediction_keeps_the_box_exactly():
    cfg = tiny_cfg()
    box = np.array([40.3, 30.7, 24.0, 12.5])
    side = math.sqrt(box[2] * box[3]) * cfg.TEST.SEARCH_FACTOR
    feat = cfg.TEST.SEARCH_SIZE // cfg.MODEL.BACKBONE.PATCH_SIZE
    tracker = OSTrackTracker(CentreNet(feat, (box[2] / side, box[3] / side)), cfg)
    image = np.zeros((120, 160, 3), np.uint8)
    tracker.initialize(image, box)
    for _ in range(3):
        np.testing.assert_allclose(tracker.track(image)["box"], box, atol=1e-6)


@pytest.mark.skipif(not BAG.is_dir(), reason=f"shared VOT bag sequence not present at {BAG}")
def test_tracker_runs_on_the_vot_bag_sequence():
    torch.manual_seed(0)
    cfg = tiny_cfg()
    gt = parse_boxes((BAG / "groundtruth.txt").read_text(), "groundtruth.txt")
    frames = sorted(BAG.glob("*.jpg"))[:15]
    tracker = OSTrackTracker(build_network(cfg), cfg)
    first = imread_rgb(frames[0])
    tracker.initialize(first, gt[0])
    height, width = first.shape[:2]
    for path in frames[1:]:
        out = tracker.track(imread_rgb(path))
        x, y, w, h = out["box"]
        assert np.isfinite(out["box"]).all() and w >= 1 and h >= 1
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        assert 0 <= out["score"] <= 1
