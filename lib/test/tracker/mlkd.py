"""An MLKD checkpoint at test time: one of its students (``TEST.STUDENT``), tracking as the one-stream tracker
does, with no enhancer and no teacher. MLKD-Track is the student chosen on a validation split."""
from __future__ import annotations

import torch

from lib.test.tracker.ostrack import OSTrackTracker


class MLKDStudentTracker(OSTrackTracker):
    def __init__(self, net: torch.nn.Module, cfg, device: str | torch.device = "cpu"):
        k = int(cfg.TEST.STUDENT)
        if not 0 <= k < len(net.students):
            raise ValueError(f"TEST.STUDENT {k}: this checkpoint has students 0..{len(net.students) - 1}")
        super().__init__(net.students[k], cfg, device)
