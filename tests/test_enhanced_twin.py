"""MLKD's enhanced-frame cache (lib/train/dataset/enhanced_twin.py) and the teacher crops cut from it: the cache
holds DarkLighter's output of every frame, is built once and completed after an interruption, follows changed
annotations, and the processing cuts the teacher's crop with the student's geometry, flip included, without the
brightness jitter."""
from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest
import torch
from conftest import make_data_seq

from lib.models.enhancer import DarkLighter, FrozenEnhancer
from lib.train.data import PairAugmentation, TrackingProcessing
from lib.train.dataset.data_seq import UAVDark135
from lib.train.dataset.enhanced_twin import EnhancedTwin


@pytest.fixture
def night(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_DATA_ROOT", str(tmp_path / "data"))
    make_data_seq(tmp_path / "UAVDark135", n=3)
    torch.manual_seed(0)
    weights = tmp_path / "darklighter.pth"
    torch.save(DarkLighter().state_dict(), weights)
    return UAVDark135(root=tmp_path / "UAVDark135"), weights


def enhanced_directly(frame: np.ndarray, weights) -> np.ndarray:
    rgb = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255
    return FrozenEnhancer.from_file(weights).enhance_rgb(rgb)[0].permute(1, 2, 0).numpy() * 255


def test_cached_twins_are_the_enhanced_frames(night):
    dataset, weights = night
    twin = EnhancedTwin(dataset, weights, "UAVDARK135", progress=False)
    frames, anno, meta = twin.get_frames(1, [0, 2])
    assert len(meta["teacher_frames"]) == 2 and twin.get_num_sequences() == dataset.get_num_sequences()
    for frame, enhanced in zip(frames, meta["teacher_frames"]):
        expected = enhanced_directly(frame, weights)
        assert enhanced.shape == frame.shape
        assert np.abs(enhanced.astype(np.float64) - expected).mean() < 3.0  # JPEG quality 95
        assert np.abs(enhanced.astype(np.float64) - frame).mean() > 3.0   # and not the raw frame


def test_built_once_completed_after_loss_and_keyed_on_annotations(night, monkeypatch, tmp_path):
    dataset, weights = night
    EnhancedTwin(dataset, weights, "UAVDARK135", progress=False)
    lost = EnhancedTwin(dataset, weights, "UAVDARK135", progress=False).frame_path(0, 1)
    kept = lost.with_name("000000.jpg")
    before = kept.stat().st_mtime_ns
    lost.unlink()  # as if the first build had been interrupted there
    calls = []
    original = FrozenEnhancer.enhance_rgb
    monkeypatch.setattr(FrozenEnhancer, "enhance_rgb", lambda self, x: calls.append(1) or original(self, x))
    twin = EnhancedTwin(dataset, weights, "UAVDARK135", progress=False)
    assert len(calls) == 1 and lost.is_file() and kept.stat().st_mtime_ns == before
    # new boxes for a sequence (a regenerated split): its frames are enhanced again in a folder of their own
    anno = tmp_path / "UAVDark135" / "anno" / "car1.txt"
    anno.write_text(anno.read_text().replace("1", "2", 1))
    moved = EnhancedTwin(UAVDark135(root=tmp_path / "UAVDark135"), weights, "UAVDARK135", progress=False)
    assert moved.sequence_folder(0) != twin.sequence_folder(0) and moved.sequence_folder(1) == twin.sequence_folder(1)
    assert len(calls) == 1 + 3


def test_a_dataloader_worker_gets_a_working_copy(night):
    dataset, weights = night
    twin = pickle.loads(pickle.dumps(EnhancedTwin(dataset, weights, "UAVDARK135", progress=False)))
    _, _, meta = twin.get_frames(0, [1])
    assert twin.get_sequence_name(0) == dataset.get_sequence_name(0) and meta["teacher_frames"][0].ndim == 3


def test_a_missing_or_stale_twin_is_named(night):
    dataset, weights = night
    twin = EnhancedTwin(dataset, weights, "UAVDARK135", progress=False)
    path = twin.frame_path(0, 2)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="000002.jpg"):
        twin.get_frames(0, [2])
    small = np.zeros((4, 4, 3), np.uint8)
    path.write_bytes(cv2.imencode(".jpg", small)[1].tobytes())
    with pytest.raises(ValueError, match="stale cache"):
        twin.get_frames(0, [2])


@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_teacher_crops_share_the_student_geometry_without_the_brightness_jitter(flip):
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(2)]
    box = torch.tensor((60.0, 40.0, 30.0, 20.0))
    pair = {"template_images": images[:1], "template_anno": [box], "search_images": images[1:],
            "search_anno": [box], "language": None,
            "template_teacher_images": images[:1], "search_teacher_images": images[1:]}  # twins = the frames
    out = {}
    for jitter in (0.0, 0.5):
        augmentation = PairAugmentation(grayscale_prob=0.0, flip_prob=flip, brightness_jitter=jitter)
        processing = TrackingProcessing(output_sz={"template": 64, "search": 128}, augmentation=augmentation)
        out[jitter] = processing(pair, np.random.default_rng(11))
    for mode in ("template", "search"):
        torch.testing.assert_close(out[0.5][f"{mode}_teacher_images"], out[0.0][f"{mode}_images"])
        assert not torch.allclose(out[0.5][f"{mode}_teacher_images"], out[0.5][f"{mode}_images"])
