"""SynthUAV, the project's synthetic aerial benchmark: the WebUAV-3M layout with lower-case split folders
``<root>/{train,val,test}/`` and night twins in ``<root>/<split>_night/``. A missing split is generated on demand
by ``lib.synth.generate_split`` (so a fresh checkout can train and test without downloads)."""
from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

from lib.paths import dataset_root
from lib.train.dataset.webuav import WebUAVLayoutDataset

log = logging.getLogger(__name__)


def split_folder_name(split: str, night: bool) -> str:
    return f"{split.lower()}_night" if night else split.lower()


def _unfinished_generation_seed(folder: Path) -> int | None:
    """The seed to (re)generate ``folder`` with, or None when it is complete. A missing folder gets seed 0; a
    folder an interrupted run left with fewer than the default number of sequences (or with temporary
    folders) is completed with the seed it records, so a crash never leaves a silently smaller split."""
    from lib.synth import DEFAULT_COUNTS, GENERATION_FILE
    if not folder.is_dir():
        return 0
    record = folder / GENERATION_FILE
    if not record.is_file():
        return None  # not ours to complete: the generator's own check will name the problem if it is run
    done = [p for p in folder.iterdir() if p.name.startswith("synth_")]
    unfinished = any(p.name.startswith(".") and p.is_dir() for p in folder.iterdir())
    split = folder.name.removesuffix("_night")
    if len(done) >= DEFAULT_COUNTS.get(split, 0) and not unfinished:
        return None
    return int(json.loads(record.read_text())["seed"])


class SynthUAV(WebUAVLayoutDataset):
    """``generate=False`` turns off generation (a missing split is then an error naming the folder)."""

    name = "synth_uav"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", night: bool = False,
                 generate: bool = True):
        self.split, self.night = split.lower(), night
        root = Path(root) if root is not None else dataset_root("synth_uav", must_exist=False)
        if generate:
            self._ensure_split(root)
        super().__init__(root, dataset_folder="synth_uav")

    def _ensure_split(self, root: Path) -> None:
        """Generate the split folder when it is missing. Processes starting together (torchrun ranks) take turns
        on a lock file, so one generates and the others wait and then read the finished split."""
        folder = split_folder_name(self.split, self.night)
        if (root / "data.mdb").is_file():
            return  # an LMDB pack is read as it is (_split_folder reports a missing split)
        if (root / folder).is_dir() and not os.access(root, os.W_OK):
            return  # a read-only copy: nobody can be generating into it
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f".{folder}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            seed = _unfinished_generation_seed(root / folder)
            if seed is not None:
                from lib.synth import generate_split  # imported only when needed: it pulls in the renderer
                log.info("SynthUAV: generating split %r (night=%s) in %s", self.split, self.night, root)
                generate_split(root, self.split, seed=seed, night=self.night)

    def _split_folder(self) -> str:
        folder = split_folder_name(self.split, self.night)
        if not self.storage.isdir(folder):
            raise FileNotFoundError(f"SynthUAV split folder not found: {self.storage.describe(folder)} "
                                    f"(generate it with: python tracking/make_synthetic.py --split {self.split})")
        return folder
