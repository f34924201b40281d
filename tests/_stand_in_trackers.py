"""A stand-in tracker whose worker process dies mid-sequence, as one killed by the out-of-memory killer would.

Not a test module: tests/test_test_script.py runs ``python tests/_stand_in_trackers.py KILL_X WAIT_FOR <test.py
arguments>``, which is tracking/test.py with every tracker replaced by :class:`DyingTracker`. The spawned workers
unpickle the factory by this module's name, so it lives in a plain module rather than in a test file.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "tracking" / "test.py"


class DyingTracker:
    """Repeats the first box; on the sequence whose first box starts at x = ``kill_x`` it SIGKILLs its own
    process at the first tracked frame, once ``wait_for`` exists (so another sequence has finished by then)."""

    def __init__(self, kill_x: float, wait_for: str):
        self.kill_x, self.wait_for = kill_x, Path(wait_for)

    def initialize(self, image, box, sentence=None):
        self.box = [float(v) for v in box]

    def track(self, image):
        if self.box[0] == self.kill_x:
            deadline = time.monotonic() + 120
            while not self.wait_for.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGKILL)
        return {"box": self.box}


def build_dying_tracker(tracker, param, checkpoint=None, device="cpu", halting=None, enhancer=None,
                        backend="pytorch", onnx=None, kill_x=0.0, wait_for=""):
    """Stands in for ``lib.test.tracker.build.build_tracker``."""
    return DyingTracker(kill_x, wait_for)


def run_test_script(kill_x: float, wait_for: str, argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("test_script_module", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.build_tracker = functools.partial(build_dying_tracker, kill_x=kill_x, wait_for=wait_for)
    return script.main(argv)


if __name__ == "__main__":
    import _stand_in_trackers  # the workers unpickle the factory by this name (not as __main__)
    sys.exit(_stand_in_trackers.run_test_script(float(sys.argv[1]), sys.argv[2], sys.argv[3:]))
