"""Test-time trackers: initialise on frame 0 with a box (and an optional sentence), then track frame by frame."""
from lib.test.tracker.ostrack import OSTrackTracker, clip_box, hann_window

__all__ = ["OSTrackTracker", "clip_box", "hann_window"]
