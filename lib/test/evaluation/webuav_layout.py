"""The WebUAV-3M layout (WebUAV-3M test split, SynthUAV test and test_night):

``<split folder>/<seq>/{img/000001.jpg, groundtruth_rect.txt, absent.txt, attributes.txt, language.txt}``.
Absent frames: ``absent.txt`` (one 0/1 per frame) when present; the 0,0,0,0 boxes of absent frames are invalid
boxes anyway (zero size), so they are never visible either way.
"""
from __future__ import annotations

from pathlib import Path

from lib.paths import DatasetNotFoundError, dataset_root
from lib.synth_on_demand import ensure_split, split_folder_name
from lib.test.evaluation.data import (Sequence, list_subfolders, make_sequence, named_attributes, numbered_frames,
                                      read_boxes, read_optional_flags, read_sentence)

WEBUAV_ATTRIBUTES = ("Low_resolution", "Partial_occlusion", "Full_occlusion", "Out_of_view", "Fast_motion",
                     "Camera_motion", "Viewpoint_change", "Rotation", "Deformation", "Background_clutters",
                     "Scale_variation", "Aspect_ratio_variation", "Illumination_variation", "Motion_blur",
                     "complexity", "size", "length")


def load_webuav_sequence(folder: Path, dataset: str) -> Sequence:
    boxes = read_boxes(folder / "groundtruth_rect.txt")
    absent = read_optional_flags(folder / "absent.txt", len(boxes))
    return make_sequence(folder.name, dataset, numbered_frames(folder / "img", len(boxes), 6), boxes, absent,
                         language=read_sentence(folder / "language.txt"),
                         attributes=named_attributes(folder / "attributes.txt", WEBUAV_ATTRIBUTES),
                         ground_truth_file=folder / "groundtruth_rect.txt")


def load_webuav_split(split_folder: Path, dataset: str) -> list[Sequence]:
    if not split_folder.is_dir():
        raise DatasetNotFoundError(f"{dataset}: split folder not found: {split_folder}")
    return [load_webuav_sequence(split_folder / name, dataset) for name in list_subfolders(split_folder)
            if (split_folder / name / "groundtruth_rect.txt").is_file()]


def _find_case_insensitive(root: Path, name: str) -> Path:
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and child.name.lower() == name.lower():
                return child
    return root / name


def synth_uav(night: bool = False, split: str = "test") -> list[Sequence]:
    """The test split (night: test_night), or with ``split='val'`` the validation split, for choosing among models
    (MLKD-Track's student) without touching the test split. One that an interrupted generation left short is
    completed first, as the training reader does (``lib.synth_on_demand``); a missing one is an error saying how to
    make it."""
    root = dataset_root("synth_uav")
    folder = root / split_folder_name(split, night)
    ensure_split(root, split, night, generate_missing=False)
    if not folder.is_dir():
        raise DatasetNotFoundError(f"SynthUAV split folder not found: {folder} (generate it with: "
                                   f"python tracking/make_synthetic.py --split {split}{' --night' if night else ''})")
    name = "synth_uav" + ("_val" if split == "val" else "") + ("_night" if night else "")
    return load_webuav_split(folder, name)


def webuav3m() -> list[Sequence]:
    return load_webuav_split(_find_case_insensitive(dataset_root("WebUAV-3M"), "Test"), "webuav3m")
