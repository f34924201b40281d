"""Reference baselines: the static box and local NCC template matching (lib/test/tracker/baselines.py)."""
from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest

from lib.test.tracker.baselines import BASELINES, StaticBoxTracker, TemplateMatchingTracker, baseline_factory

H, W = 240, 320


def background(seed: int = 0) -> np.ndarray:
    """Smooth random colour field: texture everywhere, but nothing that looks like the target's sharp blocks."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)


def target_patch(h: int = 20, w: int = 24, seed: int = 1) -> np.ndarray:
    """A sharp, high-contrast block texture: a clear NCC peak."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)


def paste(image: np.ndarray, patch: np.ndarray, x: int, y: int) -> np.ndarray:
    """``patch`` with its top-left corner at (x, y); whatever falls outside the image is cut off."""
    out = image.copy()
    ph, pw = patch.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + pw, W), min(y + ph, H)
    out[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]
    return out


def assert_inside(box) -> None:
    x, y, w, h = box
    assert np.all(np.isfinite(box)), box
    assert w > 0 and h > 0, box
    assert x >= 0 and y >= 0 and x + w <= W + 1e-6 and y + h <= H + 1e-6, box


def test_static_box_returns_the_init_box_exactly():
    tracker = StaticBoxTracker(device="cpu")
    box = [10.25, 20.5, 30.75, 15.125]
    tracker.initialize(background(0), box)
    for seed in range(1, 4):
        out = tracker.track(background(seed))
        assert out["box"] == box
        assert np.isfinite(out["score"])


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_track_before_initialize_and_bad_boxes_are_errors(name):
    tracker = BASELINES[name]("cpu")
    with pytest.raises(RuntimeError):
        tracker.track(background())
    with pytest.raises(ValueError):
        tracker.initialize(background(), [1, 2, 0, 5])
    with pytest.raises(ValueError):
        tracker.initialize(background(), [1, 2, float("nan"), 5])


def test_template_matching_recovers_a_known_translation_within_one_pixel():
    bg, patch = background(), target_patch()
    x, y = 140, 100
    tracker = TemplateMatchingTracker()
    tracker.initialize(paste(bg, patch, x, y), [x, y, 24, 20])
    for step in range(1, 8):
        x, y = x + 3, y - 2
        out = tracker.track(paste(bg, patch, x, y))
        np.testing.assert_allclose(out["box"], [x, y, 24, 20], atol=1.0)
        assert out["score"] > 0.9


def test_template_matching_follows_a_scale_change():
    bg, base = background(), target_patch(h=30, w=36)
    cx, cy = 160.0, 120.0
    tracker = TemplateMatchingTracker()
    tracker.initialize(paste(bg, base, int(cx - 18), int(cy - 15)), [cx - 18, cy - 15, 36, 30])
    scales = list(np.linspace(1.0, 1.25, 11)[1:]) + [1.25] * 8  # 2.3 % per frame, then steady
    for s in scales:
        w, h = int(round(36 * s)), int(round(30 * s))
        patch = cv2.resize(base, (w, h), interpolation=cv2.INTER_NEAREST)
        out = tracker.track(paste(bg, patch, int(round(cx - w / 2)), int(round(cy - h / 2))))
    est_w, est_h = out["box"][2], out["box"][3]
    assert abs(est_w / (36 * 1.25) - 1) < 0.08, est_w
    assert abs(est_h / (30 * 1.25) - 1) < 0.08, est_h
    assert est_w > 36 * 1.12  # it really grew (not staying at the first size, which is 20 % off)
    centre = np.array(out["box"][:2]) + np.array(out["box"][2:]) / 2
    assert np.abs(centre - [cx, cy]).max() < 2.0


def test_template_matching_box_stays_inside_when_the_target_leaves_through_the_border():
    bg, patch = background(), target_patch()
    x, y = 260, 200
    tracker = TemplateMatchingTracker()
    tracker.initialize(paste(bg, patch, x, y), [x, y, 24, 20])
    for step in range(1, 21):  # down-right, through the corner and out
        x, y = x + 3, y + 2
        box = tracker.track(paste(bg, patch, x, y))["box"]
        assert_inside(box)
        if step <= 15:  # while at least half of it is visible the box is the visible part (as annotations are)
            visible = [x, y, min(x + 24, W) - x, min(y + 20, H) - y]
            np.testing.assert_allclose(box, visible, atol=1.5, err_msg=f"step {step}")


def test_template_matching_at_the_top_left_corner_with_a_box_touching_the_border():
    bg, patch = background(), target_patch()
    tracker = TemplateMatchingTracker()
    tracker.initialize(paste(bg, patch, 0, 0), [0, 0, 24, 20])
    for k in range(1, 5):
        out = tracker.track(paste(bg, patch, k, k))
        assert_inside(out["box"])
        np.testing.assert_allclose(out["box"], [k, k, 24, 20], atol=1.0)


@pytest.mark.parametrize("image_kind", ["textured", "flat"])
def test_template_matching_tiny_boxes_do_not_crash(image_kind):
    frame = background() if image_kind == "textured" else np.full((H, W, 3), 128, np.uint8)
    for box in ([100, 80, 3, 3], [0, 0, 3, 3], [W - 3, H - 3, 3, 3], [50, 50, 1, 40], [10, 10, 0.5, 0.5]):
        tracker = TemplateMatchingTracker()
        tracker.initialize(frame, box)
        for _ in range(4):
            out = tracker.track(frame)
            assert_inside(out["box"])
            assert np.isfinite(out["score"])


def test_template_matching_tiny_target_is_followed():
    bg = background()
    patch = np.zeros((4, 4, 3), np.uint8)
    patch[1:3, 1:3] = 255  # a 4x4 dark square with a white core
    x, y = 100, 80
    tracker = TemplateMatchingTracker()
    tracker.initialize(paste(bg, patch, x, y), [x, y, 4, 4])
    for _ in range(6):
        x, y = x + 1, y + 1
        out = tracker.track(paste(bg, patch, x, y))
    np.testing.assert_allclose(out["box"][:2], [x, y], atol=1.0)


def test_grayscale_input_is_accepted():
    bg, patch = background(), target_patch()
    tracker = TemplateMatchingTracker()
    gray = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)  # noqa: E731
    tracker.initialize(gray(paste(bg, patch, 100, 100)), [100, 100, 24, 20])
    out = tracker.track(gray(paste(bg, patch, 104, 98)))
    np.testing.assert_allclose(out["box"], [104, 98, 24, 20], atol=1.0)


def test_factories_are_picklable_and_take_a_device():
    for name in BASELINES:
        factory = pickle.loads(pickle.dumps(baseline_factory(name)))
        tracker = factory("cuda:0")  # the device is ignored: both run on the CPU
        tracker.initialize(background(), [10, 10, 20, 20])
        assert_inside(tracker.track(background())["box"])
    tuned = pickle.loads(pickle.dumps(baseline_factory("template_matching", search_factor=3.0)))("cpu")
    assert tuned.search_factor == 3.0
    with pytest.raises(KeyError, match="static_box"):
        baseline_factory("nope")
