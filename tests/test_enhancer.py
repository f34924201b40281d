"""DarkLighter (lib/models/enhancer): the Retinex-like update on hand-set weights, strict loading of the published
weights (shared fixture) and of our own files, clear errors for a missing or foreign file, the frozen normalised
wrapper, and the before/after picture script."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lib.models.enhancer import DarkLighter, FrozenEnhancer, load_darklighter
from lib.train.data.transforms import IMAGENET_MEAN, IMAGENET_STD

SHARED = Path(__file__).resolve().parents[1] / "../shared/data"
WEIGHTS = SHARED / "darklighter" / "Epoch193.pth"
NIGHT = SHARED / "uavdark_person11"
needs_shared = pytest.mark.skipif(not WEIGHTS.is_file() or not NIGHT.is_dir(),
                                  reason=f"shared DarkLighter weights / night frames not present at {SHARED}")


def test_eight_gain_and_noise_steps_on_hand_set_weights():
    """All features zero: the heads give r = tanh(bias7), n = tanh(bias8), so I_8 = (..((x - n) g - n) g ..) g."""
    model = DarkLighter()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.e_conv7.bias.fill_(float(np.arctanh(0.25)))  # gain 1.25 at every step
        model.e_conv8.bias.fill_(float(np.arctanh(0.01)))  # noise 0.01 at every step
    x = torch.rand(1, 3, 5, 7)
    expected = x.clone()
    for _ in range(8):
        expected = (expected - 0.01) * 1.25
    image, gains, noise = model(x)
    torch.testing.assert_close(image, expected)
    assert gains.shape == noise.shape == (1, 8, 5, 7)
    torch.testing.assert_close(gains, torch.full_like(gains, 1.25))


def test_own_weights_round_trip_and_bad_files_are_named(tmp_path):
    torch.manual_seed(0)
    model = DarkLighter()
    path = tmp_path / "mine.pth"
    torch.save(model.state_dict(), path)
    loaded = load_darklighter(path)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert sum(p.numel() for p in loaded.parameters()) == 74_768
    foreign = tmp_path / "foreign.pth"
    torch.save({"conv.weight": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match=r"foreign.pth is not a DarkLighter state dict.*e_conv1.weight"):
        load_darklighter(foreign)
    with pytest.raises(FileNotFoundError, match=r"nowhere.pth.*pretrained_models.*Epoch193"):
        load_darklighter(tmp_path / "nowhere.pth")


def test_the_wrapper_is_frozen_and_works_on_normalised_crops():
    torch.manual_seed(0)
    wrapper = FrozenEnhancer(DarkLighter())
    wrapper.train()
    assert not wrapper.training and not wrapper.enhancer.training
    assert all(not p.requires_grad for p in wrapper.parameters())
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    rgb = torch.rand(2, 3, 16, 16) * 0.2
    crops = ((rgb - mean) / std).requires_grad_(True)
    out = wrapper(crops)
    assert not out.requires_grad  # never part of a graph
    with torch.no_grad():
        expected = (wrapper.enhancer(rgb)[0].clamp(0, 1) - mean) / std
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert (out * std + mean).min() >= -1e-6 and (out * std + mean).max() <= 1 + 1e-6  # clamped


@needs_shared
def test_published_weights_load_strictly_and_brighten_a_real_night_frame():
    from lib.utils.image import imread_rgb
    model = load_darklighter(WEIGHTS)
    image = imread_rgb(NIGHT / "00001.jpg")[::4, ::4]  # 480 x 270: the same statistics, a sixteenth of the work
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        out, gains, noise = model(x)
    assert x.mean() < 0.05 and out.mean() > 3 * x.mean()  # 0.042 -> about 0.167 (mlkd_spec.md 5.1)
    assert 0.9 < float(gains.min()) and float(gains.max()) < 1.3 and float(noise.abs().max()) < 0.01
    # brighter, not washed out: the target's dark clothes stay darker than the lit road
    assert float(out.clamp(0, 1).mean()) < 0.4


@needs_shared
def test_enhance_frames_writes_the_before_after_picture(tmp_path):
    import cv2
    from tracking.enhance_frames import main
    out = main(["--input", str(NIGHT), "--weights", str(WEIGHTS), "--out", str(tmp_path / "pair.jpg"), "--num", "2",
                "--max_side", "128"])
    picture = cv2.imread(str(out))
    assert picture.shape == (2 * 72, 2 * 128, 3)  # 2 frames of 128 x 72, originals over enhanced
    top, bottom = picture[36:72].mean(), picture[108:].mean()  # below the labels
    assert bottom > 2 * top
