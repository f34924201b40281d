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


def _unfinished_generation(folder: Path) -> dict | None:
    """Arguments for ``generate_split`` that (re)generate ``folder``, or None when it is complete. A missing folder
    gets the defaults; a folder an interrupted run left unfinished is completed with the seed and count that run
    recorded, so a crash never leaves a silently smaller split (and a deliberate --num is kept)."""
    from lib.synth import GENERATION_FILE, PROGRESS_FILE
    if not folder.is_dir():
        return {}
    record, progress = folder / GENERATION_FILE, folder / PROGRESS_FILE
    if not record.is_file() or not progress.is_file():
        return None  # not ours to complete: the generator's own check names the problem if it is run
    state = json.loads(progress.read_text())
    if state["complete"]:
        return None
    return {"seed": int(json.loads(record.read_text())["seed"]), "num": int(state["num"])}


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
            todo = _unfinished_generation(root / folder)
            if todo is not None:
                from lib.synth import generate_split  # imported only when needed: it pulls in the renderer
                log.info("SynthUAV: generating split %r (night=%s) in %s", self.split, self.night, root)
                generate_split(root, self.split, night=self.night, **todo)

    def _split_folder(self) -> str:
        folder = split_folder_name(self.split, self.night)
        if not self.storage.isdir(folder):
            raise FileNotFoundError(f"SynthUAV split folder not found: {self.storage.describe(folder)} "
                                    f"(generate it with: python tracking/make_synthetic.py --split {self.split})")
        return folder
