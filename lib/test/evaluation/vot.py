"""Any VOT-layout folder: ``<folder>/00000001.jpg...`` or ``<folder>/color/00000001.jpg...`` and
``<folder>/groundtruth.txt`` with one 8-value polygon (-> its axis-aligned box) or one x,y,w,h per line."""
from __future__ import annotations

from pathlib import Path

from lib.test.evaluation.data import Sequence, make_sequence, numbered_frames, read_boxes, read_name_list


def vot_sequence(folder: str | Path) -> Sequence:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"VOT sequence folder not found: {folder} (expected <folder>/groundtruth.txt and "
                                f"<folder>/00000001.jpg or <folder>/color/00000001.jpg)")
    boxes = read_boxes(folder / "groundtruth.txt")
    image_folder = folder / "color" if (folder / "color").is_dir() else folder
    return make_sequence(folder.name, "vot", numbered_frames(image_folder, len(boxes), 8), boxes,
                         ground_truth_file=folder / "groundtruth.txt")


def vot_dataset(folder: str | Path) -> list[Sequence]:
    """A single sequence folder, or a folder of sequence folders (a VOT stack with ``list.txt`` or sub-folders)."""
    folder = Path(folder)
    if (folder / "groundtruth.txt").is_file():
        return [vot_sequence(folder)]
    if not folder.is_dir():
        raise FileNotFoundError(f"VOT folder not found: {folder}")
    names = None
    if (folder / "list.txt").is_file():
        names = read_name_list(folder / "list.txt")
    if names is None:
        names = sorted(p.name for p in folder.iterdir() if (p / "groundtruth.txt").is_file())
    if not names:
        raise FileNotFoundError(f"no VOT sequence in {folder}: no groundtruth.txt there or in its sub-folders")
    return [vot_sequence(folder / n) for n in names]
