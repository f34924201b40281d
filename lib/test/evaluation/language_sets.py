"""Language-annotated benchmarks: LaSOT (test split), TNL2K (test), OTB99-lang (test)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lib.paths import dataset_root
from lib.test.evaluation.data import (Sequence, frames_or_pattern, list_subfolders, make_sequence,
                                      named_attributes, numbered_frames, read_boxes, read_name_list,
                                      read_optional_flags, read_sentence)

# LaSOT att.txt order (14 binary flags)
LASOT_ATTRIBUTES = ("Illumination_variation", "Partial_occlusion", "Deformation", "Motion_blur", "Camera_motion",
                    "Rotation", "Background_clutter", "Viewpoint_change", "Scale_variation", "Full_occlusion",
                    "Fast_motion", "Out_of_view", "Low_resolution", "Aspect_ratio_change")


# -- LaSOT ----------------------------------------------------------------------------------------------------------

def _lasot_sequence_folders(root: Path) -> list[Path]:
    """``<root>/<class>/<class>-<n>/`` (the release layout) or flat ``<root>/<seq>/``. A ``testing_set.txt`` in
    the root (one sequence name per line, the official test list) restricts the set; otherwise every sequence."""
    found = {}
    for name in list_subfolders(root):
        sub = root / name
        if (sub / "groundtruth.txt").is_file():
            found[name] = sub
        else:
            for seq in list_subfolders(sub):
                if (sub / seq / "groundtruth.txt").is_file():
                    found[seq] = sub / seq
    test_list = root / "testing_set.txt"
    if test_list.is_file():
        wanted = read_name_list(test_list)
        missing = [n for n in wanted if n not in found]
        if missing:
            raise FileNotFoundError(f"LaSOT sequences listed in {test_list} but not found under {root}: "
                                    f"{', '.join(missing[:10])}")
        return [found[n] for n in wanted]
    return [found[n] for n in sorted(found)]


def load_lasot_sequence(folder: Path, dataset: str = "lasot") -> Sequence:
    boxes = read_boxes(folder / "groundtruth.txt")
    n = len(boxes)
    absent = read_optional_flags(folder / "absent.txt", n)
    if absent is None:
        absent = np.zeros(n, dtype=bool)
        for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
            flags = read_optional_flags(folder / flag_file, n)
            if flags is not None:
                absent |= flags
    return make_sequence(folder.name, dataset, numbered_frames(folder / "img", n, 8), boxes, absent,
                         language=read_sentence(folder / "nlp.txt"),
                         attributes=named_attributes(folder / "att.txt", LASOT_ATTRIBUTES),
                         ground_truth_file=folder / "groundtruth.txt")


def lasot() -> list[Sequence]:
    return [load_lasot_sequence(f) for f in _lasot_sequence_folders(dataset_root("lasot"))]


# -- TNL2K ----------------------------------------------------------------------------------------------------------

def load_tnl2k_sequence(folder: Path) -> Sequence:
    """Image names vary in TNL2K (jpg or png, various padding): listed when ``imgs/`` exists, else 00001.jpg..."""
    boxes = read_boxes(folder / "groundtruth.txt")
    return make_sequence(folder.name, "tnl2k", frames_or_pattern(folder / "imgs", len(boxes), 5), boxes,
                         language=read_sentence(folder / "language.txt"), ground_truth_file=folder / "groundtruth.txt")


def tnl2k() -> list[Sequence]:
    root = dataset_root("tnl2k")
    return [load_tnl2k_sequence(root / n) for n in list_subfolders(root) if (root / n / "groundtruth.txt").is_file()]


# -- OTB99-lang -----------------------------------------------------------------------------------------------------

# OTB sequences whose annotation starts later than frame 1 (OTB toolkit's sequence table) and odd paddings
OTB_START_FRAME = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}
OTB_DIGITS = {"Board": 5}


def load_otb_sequence(folder: Path, dataset: str, sentence_file: Path | None = None) -> Sequence:
    """``<seq>/groundtruth_rect.txt`` + ``<seq>/img/0001.jpg``; a two-target video's ``<video>-<k>`` (Jogging-1,
    Skating2-2, ...) reads ``<video>/groundtruth_rect.<k>.txt`` and the shared ``<video>/img/``."""
    name = folder.name
    video, gt_file = folder, folder / "groundtruth_rect.txt"
    base, _, target = name.rpartition("-")
    if not folder.is_dir() and base and target.isdigit() and (folder.parent / base).is_dir():
        video, gt_file = folder.parent / base, folder.parent / base / f"groundtruth_rect.{target}.txt"
    boxes = read_boxes(gt_file)
    frames = numbered_frames(video / "img", len(boxes), OTB_DIGITS.get(video.name, 4),
                             first=OTB_START_FRAME.get(video.name, 1))
    language = read_sentence(sentence_file) if sentence_file is not None else None
    if language is None:
        language = read_sentence(folder / "nlp.txt") or read_sentence(folder / "img" / "nlp.txt")
    return make_sequence(name, dataset, frames, boxes, language=language, ground_truth_file=gt_file)


def otb99_lang() -> list[Sequence]:
    """Test split = the sequences with a sentence in ``OTB_query_test/`` (all with a GT when that folder is absent)."""
    root = dataset_root("otb99_lang")
    query = root / "OTB_query_test"
    if query.is_dir():
        names = sorted(p.stem for p in query.glob("*.txt"))
        return [load_otb_sequence(root / n, "otb99_lang", query / f"{n}.txt") for n in names]
    return [load_otb_sequence(root / n, "otb99_lang") for n in list_subfolders(root)
            if (root / n / "groundtruth_rect.txt").is_file()]
