"""Config names (as written in experiment yaml files) -> dataset readers.

``build_dataset('GOT10K_val', root=...)``: keyword arguments override the entry's defaults (split, root, ...).
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from lib.paths import resolve_root
from lib.train.dataset.base_video_dataset import BaseVideoDataset
from lib.train.dataset.coco_seq import MSCOCOSeq
from lib.train.dataset.data_seq import NAT2021, DarkTrack2021, UAVDark135
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.lasot import Lasot
from lib.train.dataset.otb99_lang import OTB99Lang
from lib.train.dataset.reading import list_subfolders
from lib.train.dataset.refcocog import RefCOCOg
from lib.train.dataset.storage import open_storage
from lib.train.dataset.synth_uav import SynthUAV
from lib.train.dataset.tnl2k import TNL2k
from lib.train.dataset.trackingnet import TrackingNet
from lib.train.dataset.webuav import WebUAV3M


def _tnl2k_train(root=None, split: str | None = "default", **kwargs) -> TNL2k:
    """The training subset: its split folder when the root has one, else the root itself (the layout
    documented in lib/paths.py, ``tnl2k/<seq>/``, is the training download on its own)."""
    if split == "default":
        storage = open_storage(resolve_root("tnl2k", root))
        has_split = any(n.lower() in ("train", "tnl2k_train_subset") for n in list_subfolders(storage))
        split = "train" if has_split else None
    return TNL2k(root=root, split=split, **kwargs)


DATASETS: dict[str, Callable[..., BaseVideoDataset]] = {
    "LASOT": partial(Lasot, split="train"),
    "GOT10K_train": partial(Got10k, split="train"),
    "GOT10K_val": partial(Got10k, split="val"),
    "TRACKINGNET": TrackingNet,
    "COCO17": partial(MSCOCOSeq, split="train", version="2017"),
    "REFCOCOG": partial(RefCOCOg, split="train"),
    "TNL2K_train": _tnl2k_train,
    "WEBUAV3M_train": partial(WebUAV3M, split="train"),
    "WEBUAV3M_val": partial(WebUAV3M, split="val"),
    "OTB99_LANG_train": partial(OTB99Lang, split="train"),
    "NAT2021_test": partial(NAT2021, split="test"),
    "DARKTRACK2021": DarkTrack2021,
    "DARKTRACK2021_train": partial(DarkTrack2021, part="train"),  # all but the hold-out (lib/utils/holdout.py)
    "DARKTRACK2021_val": partial(DarkTrack2021, part="val"),      # the hold-out, read as darktrack2021_val in tests
    "UAVDARK135": UAVDark135,
    "SYNTH_UAV_train": partial(SynthUAV, split="train"),
    "SYNTH_UAV_val": partial(SynthUAV, split="val"),
    "SYNTH_UAV_train_night": partial(SynthUAV, split="train", night=True),
    "SYNTH_UAV_val_night": partial(SynthUAV, split="val", night=True),
}


def dataset_names() -> list[str]:
    return list(DATASETS)


def build_dataset(name: str, **kwargs) -> BaseVideoDataset:
    """The reader registered under ``name``; an unknown name is a KeyError listing the valid ones."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    return DATASETS[name](**kwargs)
