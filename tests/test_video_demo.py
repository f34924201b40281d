"""tracking/video_demo.py: frame folders and video files in, annotated video / frames and a boxes file out."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tracking.video_demo import main

H, W, SIDE = 120, 160, 20
START, STEP = np.array([30.0, 40.0]), np.array([3.0, 2.0])  # the square's top-left corner, px per frame


def frame(index: int) -> np.ndarray:
    """BGR frame: a smooth random background and a sharp 20x20 block-textured square moving by STEP a frame."""
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    square = cv2.resize(np.random.default_rng(1).integers(0, 256, (4, 4, 3), dtype=np.uint8), (SIDE, SIDE),
                        interpolation=cv2.INTER_NEAREST)
    x, y = (START + index * STEP).astype(int)
    image[y:y + SIDE, x:x + SIDE] = square
    return image


def truth(n: int) -> np.ndarray:
    return np.array([[*(START + i * STEP), SIDE, SIDE] for i in range(n)])


INIT = ",".join(str(v) for v in truth(1)[0])


@pytest.fixture(autouse=True)
def output_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "output_root"
    monkeypatch.setenv("TRACKING_OUTPUT_ROOT", str(root))
    return root


@pytest.fixture
def frame_folder(tmp_path) -> Path:
    folder = tmp_path / "clip" / "img"
    folder.mkdir(parents=True)
    for i in range(10):  # natural order: 2.jpg must come before 10.jpg
        assert cv2.imwrite(str(folder / f"{i + 1}.jpg"), frame(i), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return folder


@pytest.fixture
def video_file(tmp_path) -> Path:
    path = tmp_path / "moving.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (W, H))
    assert writer.isOpened()
    for i in range(10):
        writer.write(frame(i))
    writer.release()
    return path


def read_boxes(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def video_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def test_frame_folder_to_frames(frame_folder, tmp_path, capsys):
    out = tmp_path / "annotated"
    assert main(["template_matching", "-", "--input", str(frame_folder), "--init_box", INIT, "--output", str(out),
                 "--sentence", "the square moving right", "--no_progress"]) == 0
    written = sorted(out.glob("*.jpg"))
    assert [p.name for p in written] == [f"{i:06d}.jpg" for i in range(10)]
    assert cv2.imread(str(written[0])).shape == (H, W, 3)
    boxes = read_boxes(tmp_path / "annotated_boxes.txt")
    assert boxes.shape == (10, 4)
    np.testing.assert_allclose(boxes[0], truth(1)[0])
    np.testing.assert_allclose(boxes, truth(10), atol=2.0)
    assert "10 frames" in capsys.readouterr().out


def test_frame_folder_to_default_video(frame_folder, output_root):
    assert main(["template_matching", "-", "--input", str(frame_folder), "--init_box", INIT, "--no_progress"]) == 0
    video = output_root / "demo" / "clip_template_matching.mp4"  # a folder named img is named after its parent
    frames = video_frames(video)
    assert len(frames) == 10 and frames[0].shape == (H, W, 3)
    np.testing.assert_allclose(read_boxes(video.parent / "clip_template_matching_boxes.txt"), truth(10), atol=2.0)


def test_video_to_video_with_max_frames(video_file, tmp_path):
    out = tmp_path / "out" / "demo.mp4"
    assert main(["template_matching", "-", "--input", str(video_file), "--init_box", INIT, "--output", str(out),
                 "--max_frames", "6", "--device", "cpu", "--no_progress"]) == 0
    capture = cv2.VideoCapture(str(out))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)  # the input's frame rate
    capture.release()
    assert len(video_frames(out)) == 6
    boxes = read_boxes(tmp_path / "out" / "demo_boxes.txt")
    assert boxes.shape == (6, 4)
    np.testing.assert_allclose(boxes, truth(6), atol=3.0)


def test_static_box_on_video(video_file, tmp_path):
    out = tmp_path / "static.avi"
    assert main(["static_box", "-", "--input", str(video_file), "--init_box", INIT, "--output", str(out),
                 "--no_progress"]) == 0
    assert len(video_frames(out)) == 10
    np.testing.assert_allclose(read_boxes(tmp_path / "static_boxes.txt"), np.repeat(truth(1), 10, axis=0))


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_missing_input(tmp_path, capsys):
    missing = tmp_path / "nothing_here.mp4"
    assert main(["template_matching", "-", "--input", str(missing), "--init_box", INIT]) == 2
    assert str(missing) in _error(capsys)


def test_unreadable_video(tmp_path, capsys):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    assert main(["template_matching", "-", "--input", str(fake), "--init_box", INIT]) == 2
    assert str(fake) in _error(capsys)


def test_empty_frame_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no frames")
    assert main(["template_matching", "-", "--input", str(empty), "--init_box", INIT]) == 2
    assert str(empty) in _error(capsys)


@pytest.mark.parametrize("box", ["1,2,3", "a,b,c,d", "1,2,0,4", "1,2,3,-4", "1,2,3,4,5", "nan,1,2,3"])
def test_malformed_init_box(frame_folder, capsys, box):
    assert main(["template_matching", "-", "--input", str(frame_folder), "--init_box", box]) == 2
    assert repr(box) in _error(capsys)


@pytest.mark.parametrize("box", [f"{W},10,5,5", "-20,10,20,5", f"10,{H + 1},5,5"])
def test_box_outside_the_image(frame_folder, capsys, box):
    assert main(["template_matching", "-", "--input", str(frame_folder), "--init_box", box]) == 2
    assert f"{W}x{H}" in _error(capsys)


def test_init_box_required_without_display(frame_folder, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["template_matching", "-", "--input", str(frame_folder)]) == 2
    assert "--init_box" in _error(capsys)


def test_unknown_tracker(frame_folder, capsys):
    assert main(["no_such_tracker", "x", "--input", str(frame_folder), "--init_box", INIT]) == 2
    err = _error(capsys)
    assert "no_such_tracker" in err and "template_matching" in err


def test_nothing_written_into_the_repository(frame_folder, output_root):
    assert main(["static_box", "-", "--input", str(frame_folder), "--init_box", INIT, "--max_frames", "2",
                 "--no_progress"]) == 0
    assert (output_root / "demo" / "clip_static_box.mp4").is_file()


def test_negative_init_box_coordinates_are_accepted(frame_folder, tmp_path):
    """A target cut by the left border: '--init_box -5,...' must not be taken for an option."""
    out = tmp_path / "neg"
    assert main(["static_box", "-", "--input", str(frame_folder), "--init_box", "-5,40,20,20", "--output", str(out),
                 "--max_frames", "3", "--no_progress"]) == 0
    np.testing.assert_allclose(read_boxes(tmp_path / "neg_boxes.txt"), [[-5, 40, 20, 20]] * 3)


def test_corrupt_frame_is_named(tmp_path, capsys):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "000001.jpg").write_bytes(b"\xff\xd8\xff garbage")
    assert main(["template_matching", "-", "--input", str(folder), "--init_box", INIT]) == 2
    assert str(folder / "000001.jpg") in _error(capsys)


def _nothing_written(output_root: Path, tmp_path: Path) -> None:
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("out*"))
    assert not (output_root / "demo").exists()


@pytest.mark.parametrize("box", ["30,40,0.5,0.5", "30,40,0.9,20", "-19.5,40,20,20", f"{W - 0.5},40,20,20"])
def test_sub_pixel_init_box_is_refused_before_anything_is_written(frame_folder, tmp_path, output_root, capsys, box):
    assert main(["template_matching", "-", "--input", str(frame_folder), "--init_box", box,
                 "--output", str(tmp_path / "out.mp4"), "--no_progress"]) == 2
    assert "1 px" in _error(capsys)
    _nothing_written(output_root, tmp_path)


class _StubTracker:
    """Follows the square exactly; ``fail_init`` stands for a tracker that cannot crop the given box."""

    def __init__(self, fail_init: bool = False):
        self.fail_init, self.index = fail_init, 0

    def initialize(self, image, box, sentence=None):
        if self.fail_init:
            raise ValueError("crop side 0.6 px is below the minimum 1.0 px")

    def track(self, image):
        self.index += 1
        return {"box": truth(self.index + 1)[-1].tolist(), "score": 0.9}


def test_tracker_that_cannot_start_is_a_clear_error_and_writes_nothing(frame_folder, tmp_path, output_root, capsys,
                                                                      monkeypatch):
    monkeypatch.setattr("tracking.video_demo.make_tracker", lambda *args: _StubTracker(fail_init=True))
    assert main(["ostrack", "synth_tiny", "--input", str(frame_folder), "--init_box", INIT,
                 "--output", str(tmp_path / "out.mp4"), "--no_progress"]) == 2
    err = _error(capsys)
    assert "--init_box" in err and "crop side" in err
    _nothing_written(output_root, tmp_path)


def test_ostrack_with_a_sub_pixel_box_is_a_clear_error(frame_folder, tmp_path, output_root, capsys, monkeypatch):
    import torch
    from lib.config import load_config
    from lib.models import build_network
    from lib.test.tracker import OSTrackTracker
    cfg = load_config("ostrack", "synth_tiny")
    torch.manual_seed(0)
    monkeypatch.setattr("tracking.video_demo.make_tracker",
                        lambda *args: OSTrackTracker(build_network(cfg, load_pretrained=False), cfg))
    assert main(["ostrack", "synth_tiny", "--input", str(frame_folder), "--init_box", "30,40,0.3,0.3",
                 "--output", str(tmp_path / "out.mp4"), "--no_progress"]) == 2
    assert "'30,40,0.3,0.3'" in _error(capsys)
    _nothing_written(output_root, tmp_path)


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_corrupt_frame_mid_folder_keeps_what_was_tracked(frame_folder, tmp_path, capsys, monkeypatch, suffix):
    bad = frame_folder / "7.jpg"  # the 7th frame (index 6)
    bad.write_bytes(b"")
    monkeypatch.setattr("tracking.video_demo.make_tracker", lambda *args: _StubTracker())
    out = tmp_path / f"out{suffix}"
    assert main(["ostrack", "synth_tiny", "--input", str(frame_folder), "--init_box", INIT, "--output", str(out),
                 "--no_progress"]) == 2
    err = _error(capsys)
    assert str(bad) in err and "6 frames" in err
    boxes = read_boxes(tmp_path / "out_boxes.txt")
    np.testing.assert_allclose(boxes, truth(6))
    if suffix:
        assert len(video_frames(out)) == 6  # closed properly: playable, every frame tracked so far is there
    else:
        assert len(list(out.glob("*.jpg"))) == 6
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_tracker_crash_mid_run_still_writes_the_boxes_and_closes_the_video(frame_folder, tmp_path, monkeypatch):
    class Crashing(_StubTracker):
        def track(self, image):
            if self.index == 3:
                raise RuntimeError("out of memory")
            return super().track(image)

    monkeypatch.setattr("tracking.video_demo.make_tracker", lambda *args: Crashing())
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="out of memory"):
        main(["ostrack", "synth_tiny", "--input", str(frame_folder), "--init_box", INIT, "--output", str(out),
              "--no_progress"])
    np.testing.assert_allclose(read_boxes(tmp_path / "out_boxes.txt"), truth(4))
    assert len(video_frames(out)) == 4
