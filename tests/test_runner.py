"""The sequence runner: float results written atomically, finished sequences skipped, failures isolated."""
from __future__ import annotations

import cv2
import numpy as np

from lib.test.evaluation.data import make_sequence
from lib.test.evaluation.running import run_dataset


class ShiftTracker:
    """Moves the box 0.25 px right per frame; fails on a sequence named 'broken'."""

    def initialize(self, image, box, sentence=None):
        self.box = np.asarray(box, float)

    def track(self, image):
        self.box = self.box + [0.25, 0, 0, 0]
        return {"box": self.box.tolist()}


def make_seq(tmp_path, name, n=4):
    folder = tmp_path / name
    folder.mkdir()
    frames = []
    for i in range(n):
        frames.append(str(folder / f"{i:04d}.jpg"))
        cv2.imwrite(frames[-1], np.zeros((20, 30, 3), np.uint8))
    if name == "broken":
        frames[2] = str(folder / "missing.jpg")
    return make_sequence(name, "toy", frames, np.tile([1.5, 2.0, 5.0, 4.0], (n, 1)))


def test_runner_writes_floats_skips_finished_and_isolates_failures(tmp_path):
    seqs = [make_seq(tmp_path, "a"), make_seq(tmp_path, "broken")]
    out = tmp_path / "results"
    outcomes = {o.sequence: o for o in run_dataset(seqs, lambda device: ShiftTracker(), out, progress=False)}
    assert outcomes["a"].status == "done" and outcomes["broken"].status == "failed"
    boxes = np.loadtxt(out / "a.txt", delimiter=",")
    np.testing.assert_allclose(boxes[:, 0], [1.5, 1.75, 2.0, 2.25])  # not truncated to integers
    assert len(np.loadtxt(out / "a_time.txt")) == 4
    assert not (out / "broken.txt").exists() and "missing.jpg" in (out / "errors.log").read_text()
    assert not list(out.glob(".*tmp"))
    mtime = (out / "a.txt").stat().st_mtime_ns
    again = {o.sequence: o.status for o in run_dataset(seqs, lambda device: ShiftTracker(), out, progress=False)}
    assert again["a"] == "skipped" and (out / "a.txt").stat().st_mtime_ns == mtime
