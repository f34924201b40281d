"""Shared fixtures.

``train_dataset_writers``: functions that write tiny datasets in their real on-disk layouts (a few 32x24 JPEGs,
fractional boxes), used by tests/test_train_datasets.py and tests/test_lmdb.py.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

# -- tiny dataset writers (for train_dataset_writers) ---------------------------------------------------------------


def write_jpeg(path: Path, seed: int, size: tuple[int, int] = (24, 32)) -> None:
    """A smooth random 32x24 image (blocky noise upsampled: JPEG keeps it close, frames differ)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.resize(small, size[::-1], interpolation=cv2.INTER_LINEAR))


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def fractional_boxes(n: int, shift: float = 0.0) -> np.ndarray:
    """Different, exactly representable (in float32) boxes per frame."""
    i = np.arange(n, dtype=np.float64)[:, None]
    return np.hstack([1.5 + i + shift, 2.25 + 0.5 * i, 10.75 + i, 8.5 + 0.25 * i])


def boxes_text(boxes: np.ndarray, sep: str = ",") -> str:
    return "".join(sep.join(repr(float(v)) for v in row) + "\n" for row in boxes)


def flags_text(flags, per_line: bool = True) -> str:
    values = [str(int(f)) for f in flags]
    return "\n".join(values) + "\n" if per_line else ",".join(values)


def make_got10k(root: Path, split: str = "train", names=("GOT-10k_Train_000001", "GOT-10k_Train_000002"), n: int = 4,
                labels: bool = True, meta: bool = True, list_txt: bool = True) -> dict:
    """GOT-10k split with absence.label/cover.label; returns {name: (boxes, absent)}."""
    expected = {}
    for k, name in enumerate(names):
        seq = root / split / name
        for f in range(n):
            write_jpeg(seq / f"{f + 1:08d}.jpg", seed=100 * k + f)
        boxes = fractional_boxes(n, shift=k)
        write_text(seq / "groundtruth.txt", boxes_text(boxes))
        absent = np.zeros(n, bool)
        if labels:
            absence = np.zeros(n, bool)
            absence[1] = True
            cover = np.full(n, 8)
            cover[min(2, n - 1)] = 0  # fully covered: not visible either
            write_text(seq / "absence.label", flags_text(absence))
            write_text(seq / "cover.label", flags_text(cover))
            absent = absence | (cover == 0)
        if meta:
            write_text(seq / "meta_info.ini", "[METAINFO]\nurl: https://example.org/v\nbegin: 00:00:01\n"
                                              f"object_class: ferret{k}\nmotion_class: walking\n"
                                              "major_class: musteline mammal\nroot_class: animal\n"
                                              "resolution: (1280, 720)\n")
        expected[name] = (boxes, absent)
    if list_txt:
        write_text(root / split / "list.txt", "".join(f"{name}\n" for name in names))
    return expected


def make_lasot(root: Path, seqs=(("bird", 2), ("bird", 5), ("car", 1)), n: int = 4, images: bool = True) -> dict:
    """LaSOT sequences with full_occlusion/out_of_view (one comma line each); returns {name: (boxes, absent, nlp)}."""
    expected = {}
    for k, (cls, number) in enumerate(seqs):
        name = f"{cls}-{number}"
        seq = root / cls / name
        if images:
            for f in range(n):
                write_jpeg(seq / "img" / f"{f + 1:08d}.jpg", seed=10 * k + f)
        boxes = fractional_boxes(n, shift=k)
        write_text(seq / "groundtruth.txt", boxes_text(boxes))
        occlusion, out_of_view = np.zeros(n, bool), np.zeros(n, bool)
        occlusion[1], out_of_view[n - 1] = True, True
        write_text(seq / "full_occlusion.txt", flags_text(occlusion, per_line=False))
        write_text(seq / "out_of_view.txt", flags_text(out_of_view, per_line=False))
        sentence = f"a small {cls} number {number} flying left"
        write_text(seq / "nlp.txt", f"  {sentence}  \n")
        expected[name] = (boxes, occlusion | out_of_view, sentence)
    return expected


def make_data_seq(base: Path, names=("car1", "person11"), n: int = 3, separators=(" ", ",")) -> dict:
    """``data_seq/<seq>/<5-digit>.jpg + anno/<seq>.txt`` under ``base``; returns {name: boxes}."""
    expected = {}
    for k, name in enumerate(names):
        for f in range(n):
            write_jpeg(base / "data_seq" / name / f"{f + 1:05d}.jpg", seed=50 + 10 * k + f)
        write_text(base / "data_seq" / name / "Thumbs.db", "not an image")
        write_text(base / "data_seq" / name / "._00001.jpg", "macOS metadata, not an image")
        boxes = fractional_boxes(n, shift=2 * k)
        write_text(base / "anno" / f"{name}.txt", boxes_text(boxes, sep=separators[k % len(separators)]))
        expected[name] = boxes
    return expected


def make_webuav(split_dir: Path, names=("uav_car_001", "uav_boat_002"), n: int = 4,
                absent_file: bool = True) -> dict:
    """WebUAV layout sequences (absent frame 1 has box 0,0,0,0); returns {name: (boxes, absent, sentence, attrs)}."""
    expected = {}
    for k, name in enumerate(names):
        seq = split_dir / name
        for f in range(n):
            write_jpeg(seq / "img" / f"{f + 1:06d}.jpg", seed=200 + 10 * k + f)
        boxes = fractional_boxes(n, shift=k)
        boxes[1] = 0
        absent = np.zeros(n, bool)
        absent[1] = True
        write_text(seq / "groundtruth_rect.txt", boxes_text(boxes))
        if absent_file:
            write_text(seq / "absent.txt", flags_text(absent))
        attributes = np.arange(17) % 2
        write_text(seq / "attributes.txt", ",".join(map(str, attributes)) + "\n")
        sentence = f"the white target of {name} moving along the road"
        write_text(seq / "language.txt", sentence + "\n")
        expected[name] = (boxes, absent, sentence, attributes)
    return expected


@pytest.fixture
def train_dataset_writers():
    return SimpleNamespace(write_jpeg=write_jpeg, write_text=write_text, fractional_boxes=fractional_boxes,
                           boxes_text=boxes_text, flags_text=flags_text, make_got10k=make_got10k,
                           make_lasot=make_lasot, make_data_seq=make_data_seq, make_webuav=make_webuav)


# -- tiny trained trackers and gloo ranks (MLKD, AVLTrack tests) ----------------------------------------------------
def save_tiny_tracker(folder: Path, yaml_text: str, name: str, family: str = "ostrack", seed: int = 0):
    """(config yaml, checkpoint, network) of a random-weight tracker of ``family`` written as ``folder/name.yaml``
    and ``folder/name.pth`` in the training checkpoint format."""
    import torch
    from lib.config import load_config
    from lib.models import build_network
    from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
    config = folder / f"{name}.yaml"
    config.write_text(yaml_text)
    torch.manual_seed(seed)
    net = build_network(load_config(family, str(config)), load_pretrained=False)
    checkpoint = save_checkpoint(folder / f"{name}.pth", {"format": CHECKPOINT_FORMAT, "net": net.state_dict()})
    return config, checkpoint, net


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def join_gloo(rank: int, port: int, world_size: int = 2) -> None:
    """Make this spawned process rank ``rank`` of a CPU (gloo) group on localhost."""
    import os
    import torch
    from lib.train.admin.distributed import init_distributed
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world_size), "LOCAL_RANK": str(rank)})
    init_distributed(torch.device("cpu"), timeout_minutes=1.0)
