"""SynthUAV, the project's synthetic aerial benchmark: the WebUAV-3M layout with lower-case split folders
``<root>/{train,val,test}/`` and night twins in ``<root>/<split>_night/``. A missing split is generated on demand
by ``lib.synth.generate_split`` (so a fresh checkout can train and test without downloads), and one an interrupted
generation left short is completed (``lib.synth_on_demand``)."""
from __future__ import annotations

import os
from pathlib import Path

from lib.paths import dataset_root
from lib.synth_on_demand import ensure_split, split_folder_name
from lib.train.dataset.webuav import WebUAVLayoutDataset


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
        """Generate the split folder when it is missing, complete it when an interrupted run left it short
        (``lib.synth_on_demand``, shared with the test-side reader)."""
        if (root / "data.mdb").is_file():
            return  # an LMDB pack is read as it is (_split_folder reports a missing split)
        ensure_split(root, self.split, self.night)

    def _split_folder(self) -> str:
        folder = split_folder_name(self.split, self.night)
        if not self.storage.isdir(folder):
            raise FileNotFoundError(f"SynthUAV split folder not found: {self.storage.describe(folder)} "
                                    f"(generate it with: python tracking/make_synthetic.py --split {self.split})")
        return folder
