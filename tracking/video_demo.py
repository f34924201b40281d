"""Track one target through a video file or a folder of frames and write an annotated video (or frames).

    python tracking/video_demo.py ostrack synth_tiny --input clip.mp4 --init_box 120,80,40,30
    python tracking/video_demo.py ostrack synth_tiny --input clip.mp4 --init_box 120,80,40,30 --backend onnxruntime
    python tracking/video_demo.py template_matching default --input data/synth_uav/test/synth_test_0000/img \\
        --init_box 269.4,18.1,14.8,21.6 --output demo_frames/

TRACKER is a trained tracker family (PARAM = its config; the checkpoint is the one tracking/train.py left, or
--checkpoint) or a baseline that needs no model: static_box, template_matching (PARAM ignored, e.g. default).
Output: an annotated .mp4/.avi when --output ends so, otherwise annotated frames 000000.jpg, 000001.jpg, ... in the
--output folder; default <output root>/demo/<input name>_<tracker>.mp4. The boxes (x,y,w,h per frame, frame 0 =
the given box) go to <output stem>_boxes.txt beside it. Bad inputs are one-line errors with exit status 2.

The init box is checked before anything is written: it must be at least 1x1 px, with at least 1x1 px of it inside
the first frame, and the tracker must accept it. A failure after that (a corrupt frame mid-folder, a tracker error)
still writes the boxes of the frames tracked so far (atomically) and closes the video, so it plays; then the demo
exits non-zero (2 with a one-line message for a bad frame, a traceback for anything unexpected).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from lib.paths import apply_cli_roots, output_root
from lib.test.evaluation.data import list_images
from lib.test.evaluation.results import boxes_text
from lib.test.tracker.baselines import BASELINES
from lib.utils.image import imread_rgb
from lib.utils.io import atomic_write

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm", ".wmv")
OUTPUT_VIDEO_SUFFIXES = (".mp4", ".avi")
DEFAULT_FPS = 30.0
MIN_BOX_SIDE = 1.0  # px; a sub-pixel target has nothing to track (and crops around it degenerate)
GENERIC_FRAME_FOLDERS = ("img", "imgs", "image", "images", "frames", "data")  # named after their parent instead


class DemoError(Exception):
    """A user error (bad path, box, ...): reported as one line with exit status 2, without a traceback."""


def _read_image(path: str) -> np.ndarray:
    try:
        return imread_rgb(path)
    except OSError as error:  # missing or corrupt: a user error, named
        raise DemoError(str(error)) from None


class FrameSource:
    """RGB frames of a video file or of an image folder (natural order), with a frame rate and a length hint."""

    def __init__(self, path: Path):
        self.path = path
        self.capture: cv2.VideoCapture | None = None
        self.images: list[str] = []
        if not path.exists():
            raise DemoError(f"input not found: {path}")
        if path.is_dir():
            self.images = list_images(path)
            if not self.images:
                raise DemoError(f"no images (.jpg, .png, ...) in frame folder: {path}")
            self.fps = DEFAULT_FPS
            self.length: int | None = len(self.images)
            self.first = _read_image(self.images[0])
        else:
            self.capture = cv2.VideoCapture(str(path))
            ok, frame = self.capture.read() if self.capture.isOpened() else (False, None)
            if not ok or frame is None:
                self.capture.release()
                raise DemoError(f"cannot read video (not a video, or an unsupported codec): {path}")
            fps = self.capture.get(cv2.CAP_PROP_FPS)
            self.fps = fps if math.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS
            count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
            self.length = count if count > 0 else None  # containers may not know; only used for the progress bar
            self.first = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def later_frames(self) -> Iterator[np.ndarray]:
        """The frames after the first (already read as ``self.first``), as RGB uint8."""
        if self.capture is not None:
            while True:
                ok, frame = self.capture.read()
                if not ok:
                    break
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        else:
            for image in self.images[1:]:
                yield _read_image(image)

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()

    def stem(self) -> str:
        """A name for default outputs: the video's stem, or the folder's (its parent's for 'img', 'frames', ...)."""
        path = self.path.resolve()
        if path.is_dir() and path.name.lower() in GENERIC_FRAME_FOLDERS and path.parent.name:
            return path.parent.name
        return path.stem if path.is_file() else path.name


class FrameSink:
    """Annotated BGR frames to a video file (mp4v) or to numbered JPEGs in a folder."""

    def __init__(self, path: Path, fps: float, frame_hw: tuple[int, int]):
        self.path = path
        self.size = (frame_hw[1], frame_hw[0])
        self.count = 0
        self.writer: cv2.VideoWriter | None = None
        if path.suffix.lower() in OUTPUT_VIDEO_SUFFIXES:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, self.size)
            if not self.writer.isOpened():
                raise DemoError(f"cannot open a video writer for: {path}")
        else:
            if path.exists() and not path.is_dir():
                raise DemoError(f"output exists and is not a folder (use .mp4/.avi for a video): {path}")
            path.mkdir(parents=True, exist_ok=True)

    def write(self, frame_bgr: np.ndarray) -> None:
        if (frame_bgr.shape[1], frame_bgr.shape[0]) != self.size:  # a folder of mixed sizes: the video has one
            frame_bgr = cv2.resize(frame_bgr, self.size, interpolation=cv2.INTER_AREA)
        if self.writer is not None:
            self.writer.write(frame_bgr)
        elif not cv2.imwrite(str(self.path / f"{self.count:06d}.jpg"), frame_bgr):
            raise DemoError(f"cannot write frames into: {self.path}")
        self.count += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def parse_box(text: str) -> np.ndarray:
    """'x,y,w,h' (commas and/or spaces) -> float array; w and h must be at least ``MIN_BOX_SIDE`` px."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        box = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        box = np.array([])
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise DemoError(f"malformed --init_box {text!r}: expected x,y,w,h (4 numbers, w and h > 0), e.g. 10,20,40,30")
    if box[2] < MIN_BOX_SIDE or box[3] < MIN_BOX_SIDE:
        raise DemoError(f"--init_box {text!r} is {box[2]:g}x{box[3]:g} px: a target must be at least "
                        f"{MIN_BOX_SIDE:g}x{MIN_BOX_SIDE:g} px (the values are pixels, not fractions of the frame)")
    return box


def check_box_in_image(box: np.ndarray, height: int, width: int) -> None:
    """At least ``MIN_BOX_SIDE`` px of the box, each way, must be inside the first frame."""
    x, y, w, h = box
    inside_w, inside_h = min(x + w, width) - max(x, 0.0), min(y + h, height) - max(y, 0.0)
    if inside_w < MIN_BOX_SIDE or inside_h < MIN_BOX_SIDE:
        where = "is outside" if inside_w <= 0 or inside_h <= 0 else f"has less than {MIN_BOX_SIDE:g} px inside"
        raise DemoError(f"--init_box {x:g},{y:g},{w:g},{h:g} {where} the first frame ({width}x{height} px)")


def select_box(first_rgb: np.ndarray) -> np.ndarray:
    """Interactive ROI selection when a display is available; on a headless machine --init_box is required."""
    if not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
        raise DemoError("--init_box x,y,w,h is required (no display to select the target on)")
    try:
        x, y, w, h = cv2.selectROI("select the target, then ENTER", cv2.cvtColor(first_rgb, cv2.COLOR_RGB2BGR))
        cv2.destroyAllWindows()
    except cv2.error:
        raise DemoError("--init_box x,y,w,h is required (this OpenCV build cannot open a window)") from None
    if w <= 0 or h <= 0:
        raise DemoError("no target selected; pass --init_box x,y,w,h")
    return np.array([x, y, w, h], dtype=np.float64)


def make_tracker(name: str, param: str, checkpoint: str | None, device: str | None, backend: str = "pytorch",
                 onnx: str | None = None):
    """Baselines are built here (no torch import, fast start); trained trackers through ``build_tracker``."""
    if name in BASELINES:
        if backend != "pytorch" or onnx:
            raise DemoError(f"--backend {backend}: {name} is a baseline without a network; only trained trackers "
                            f"export")
        return BASELINES[name](device=device or "cpu")
    import torch
    from lib.test.tracker.build import build_tracker
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise DemoError("--device cuda, but CUDA is not available here; use --device cpu")
    try:
        return build_tracker(name, param, checkpoint, device, backend=backend, onnx=onnx)
    except KeyError as error:  # its message lists the trackers and the baselines
        raise DemoError(str(error.args[0])) from None
    except (FileNotFoundError, ValueError) as error:
        raise DemoError(str(error)) from None


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, color=(255, 255, 255)) -> None:
    """Text with a dark outline: readable on any background."""
    thick = max(1, int(round(scale * 2)))
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


def annotate(frame_rgb: np.ndarray, box: Sequence[float], index: int, score: float | None, ms: float,
             sentence: str | None) -> np.ndarray:
    """BGR frame with the box, the frame index, score and time (bottom-left) and the sentence (top)."""
    out = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    height, width = out.shape[:2]
    scale = max(0.35, min(width, height) / 700)
    line = int(round(30 * scale)) + 4
    x, y, w, h = box
    thick = max(1, int(round(min(width, height) / 300)))
    cv2.rectangle(out, (int(round(x)), int(round(y))), (int(round(x + w)) - 1, int(round(y + h)) - 1),
                  (0, 255, 0), thick, cv2.LINE_AA)
    if sentence:
        chars = max(10, int(width / (18 * scale)))  # HERSHEY_SIMPLEX is about 18 px a character at scale 1
        lines = textwrap.wrap(sentence, chars)[:3]
        overlay = out.copy()
        cv2.rectangle(overlay, (0, 0), (width, line * len(lines) + 6), (0, 0, 0), -1)
        out = cv2.addWeighted(overlay, 0.45, out, 0.55, 0)
        for k, text in enumerate(lines):
            _text(out, text, (4, line * (k + 1) - 4), scale)
    status = f"#{index}  " + ("init" if score is None else f"score {score:.2f}") + f"  {ms:.1f} ms"
    _text(out, status, (4, height - 6), scale, (0, 255, 255))
    return out


def default_output(source: FrameSource, tracker: str) -> Path:
    return output_root() / "demo" / f"{source.stem()}_{tracker}.mp4"


def boxes_path(output: Path) -> Path:
    """<output stem>_boxes.txt beside the video, or beside the frame folder."""
    stem = output.stem if output.suffix.lower() in OUTPUT_VIDEO_SUFFIXES else output.name
    return output.parent / f"{stem}_boxes.txt"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker", help=f"tracker family (e.g. ostrack) or a baseline: {', '.join(sorted(BASELINES))}")
    parser.add_argument("param", help="config name of the trained tracker (any word, e.g. default, for a baseline)")
    parser.add_argument("--input", required=True, help="a video file or a folder of frames")
    parser.add_argument("--init_box", help="x,y,w,h of the target in the first frame (pixels)")
    parser.add_argument("--sentence", help="the target's description (language trackers use it; shown on top)")
    parser.add_argument("--checkpoint", help="checkpoint path (default: epoch TEST.EPOCH of this config under the "
                                             "output root)")
    parser.add_argument("--output", help="an .mp4/.avi file, or a folder for annotated frames "
                                         "(default: <output root>/demo/<input name>_<tracker>.mp4)")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: CUDA when available, else CPU")
    parser.add_argument("--backend", choices=("pytorch", "onnxruntime"), default="pytorch",
                        help="what runs each frame's network (onnxruntime: the exported ONNX file, CPU)")
    parser.add_argument("--onnx", help="--backend onnxruntime: the exported file (default: next to the checkpoint, "
                                       "exported when missing or stale)")
    parser.add_argument("--max_frames", type=int, help="stop after this many frames (frame 0 included)")
    parser.add_argument("--save_dir", help="output root (else TRACKING_OUTPUT_ROOT, else <project>/output)")
    parser.add_argument("--no_progress", action="store_true", help="no tqdm bar")
    return parser


def start_tracker(tracker, first: np.ndarray, box: np.ndarray, sentence: str | None) -> float:
    """Initialise on the first frame (before any output exists); returns the seconds it took."""
    start = time.perf_counter()
    try:
        tracker.initialize(first, box.copy(), sentence)
    except ValueError as error:  # e.g. a crop the box makes degenerate: the box is the user's input
        x, y, w, h = box
        raise DemoError(f"the tracker cannot start from --init_box {x:g},{y:g},{w:g},{h:g}: {error}") from None
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> int:
    if args.max_frames is not None and args.max_frames < 1:
        raise DemoError(f"--max_frames must be >= 1, got {args.max_frames}")
    box = parse_box(args.init_box) if args.init_box is not None else None  # before any slow work
    source = FrameSource(Path(args.input))
    try:
        height, width = source.first.shape[:2]
        if box is None:
            box = select_box(source.first)
        check_box_in_image(box, height, width)
        tracker = make_tracker(args.tracker, args.param, args.checkpoint, args.device, args.backend, args.onnx)
        output = Path(args.output) if args.output else default_output(source, args.tracker)
        times = [start_tracker(tracker, source.first, box, args.sentence)]
        boxes = [box.tolist()]
        total = source.length if args.max_frames is None else min(source.length or args.max_frames, args.max_frames)
        # from here on, whatever stops the run, the frames tracked so far stay: video closed, boxes written
        sink = FrameSink(output, source.fps, (height, width))
        try:
            with tqdm(total=total, desc=f"{args.tracker} {source.stem()}", unit="frame",
                      disable=args.no_progress) as bar:
                sink.write(annotate(source.first, boxes[0], 0, None, 1000 * times[0], args.sentence))
                bar.update()
                for index, frame in enumerate(source.later_frames(), start=1):
                    if args.max_frames is not None and index >= args.max_frames:
                        break
                    start = time.perf_counter()
                    result = tracker.track(frame)
                    times.append(time.perf_counter() - start)
                    boxes.append([float(v) for v in result["box"]])
                    sink.write(annotate(frame, boxes[-1], index, float(result.get("score", float("nan"))),
                                        1000 * times[-1], args.sentence))
                    bar.update()
        except DemoError as error:  # a bad frame mid-run: say what was kept
            raise DemoError(f"{error}; stopped there: the first {len(boxes)} frames are in {output}, their boxes in "
                            f"{boxes_path(output)}") from None
        finally:
            sink.close()
            atomic_write(boxes_path(output), boxes_text(boxes))
    finally:
        source.close()
    tracked = np.array(times[1:]) if len(times) > 1 else np.array([np.nan])
    fps = 1.0 / tracked.mean() if np.isfinite(tracked.mean()) and tracked.mean() > 0 else float("nan")
    print(f"{args.tracker}: {len(boxes)} frames, {1000 * tracked.mean():.2f} ms/frame ({fps:.1f} FPS) tracking only"
          f" -> {output} (boxes: {boxes_path(output)})")
    return 0


def _attach_negative_box(argv: Sequence[str]) -> list[str]:
    """``--init_box -5,10,20,20`` -> ``--init_box=-5,10,20,20``: argparse would take the value for an option."""
    args, out = list(argv), []
    while args:
        arg = args.pop(0)
        if arg == "--init_box" and args and args[0].startswith("-") and args[0][1:2] in tuple("0123456789."):
            arg = f"--init_box={args.pop(0)}"
        out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_attach_negative_box(sys.argv[1:] if argv is None else argv))
    apply_cli_roots(save_dir_arg=args.save_dir)
    try:
        return run(args)
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
