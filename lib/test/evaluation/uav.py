"""UAV benchmarks: DTB70(-NLP), UAV123, UAV123@10fps, UAV20L(-NLP), UAVDT(-NLP), VisDrone2019-SOT-test-dev(-NLP),
the night sets UAVDark135, NAT2021, NAT2021-L, DarkTrack2021, and GOT-10k val/test.

Frame paths come from the ground-truth length and each benchmark's naming pattern; for the night sets, whose
image names are not fixed by the release, the image folder is listed when present (pattern otherwise).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lib.paths import DatasetNotFoundError, dataset_root
from lib.test.evaluation.data import (Sequence, frames_or_pattern, list_images, list_stems, list_subfolders,
                                      make_sequence, numbered_frames, read_boxes, read_name_list,
                                      read_optional_flags, read_sentence)
from lib.paths import check_plain_name
from lib.utils.holdout import holdout_part

SUBSEQUENCE_TABLE = Path(__file__).with_name("uav123_subsequences.txt")


def _with_language(sequences: list[Sequence], nlp_folder: str, dataset: str) -> list[Sequence]:
    """Keeps the sequences that have ``<NLP root>/<seq>/language.txt`` and attaches the sentence."""
    nlp_root = dataset_root(nlp_folder)
    out = []
    for seq in sequences:
        sentence = read_sentence(nlp_root / seq.name / "language.txt")
        if sentence is None:
            continue
        seq.language, seq.dataset = sentence, dataset
        out.append(seq)
    if not out:
        raise DatasetNotFoundError(f"{dataset}: no <seq>/language.txt in {nlp_root} matches a sequence")
    return out


# -- DTB70 ----------------------------------------------------------------------------------------------------------

def dtb70(dataset: str = "dtb70") -> list[Sequence]:
    root = dataset_root("DTB70")
    out = []
    for name in list_subfolders(root):
        gt = root / name / "groundtruth_rect.txt"
        if gt.is_file():
            boxes = read_boxes(gt)
            out.append(make_sequence(name, dataset, numbered_frames(root / name / "img", len(boxes), 5), boxes,
                                     ground_truth_file=gt))
    return out


def dtb70_nlp() -> list[Sequence]:
    return _with_language(dtb70(), "DTB70-NLP", "dtb70_nlp")


# -- UAV123 family --------------------------------------------------------------------------------------------------

def read_subsequence_table(path: Path = SUBSEQUENCE_TABLE) -> dict[str, tuple[str, int]]:
    """``<sequence> <video> <first frame>`` per line ('#' comments) -> {sequence: (video, first frame)}."""
    table = {}
    for line_no, line in enumerate(Path(path).read_text().splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 3 or not fields[2].isdigit():
            raise ValueError(f"{path}, line {line_no}: expected '<sequence> <video> <first frame>': {line!r}")
        table[fields[0]] = (check_plain_name(fields[1], f"{path}, line {line_no}"), int(fields[2]))
    return table


def _uav123_like(root_folder: str, subset: str, image_subset: str, dataset: str, fps10: bool = False,
                 use_table: bool = True) -> list[Sequence]:
    """``<root>/anno/<subset>/<seq>.txt`` + ``<root>/data_seq/<image_subset>/<video>/000001.jpg``. A
    ``uav123_subsequences.txt`` in the root replaces the built-in sub-sequence table (same format)."""
    root = dataset_root(root_folder)
    table = {}
    if use_table:
        custom = root / "uav123_subsequences.txt"
        table = read_subsequence_table(custom if custom.is_file() else SUBSEQUENCE_TABLE)
    out = []
    for name in list_stems(root / "anno" / subset, ".txt"):
        gt = root / "anno" / subset / f"{name}.txt"
        boxes = read_boxes(gt)
        video, first = table.get(name, (name, 1))
        if fps10:
            first = (first - 1) // 3 + 1  # the 10 fps videos keep every third frame
        frames = numbered_frames(root / "data_seq" / image_subset / video, len(boxes), 6, first=first)
        out.append(make_sequence(name, dataset, frames, boxes, ground_truth_file=gt))
    return out


def uav123() -> list[Sequence]:
    return _uav123_like("UAV123", "UAV123", "UAV123", "uav123")


def uav123_10fps() -> list[Sequence]:
    return _uav123_like("UAV123_10fps", "UAV123_10fps", "UAV123_10fps", "uav123_10fps", fps10=True)


def uav20l(dataset: str = "uav20l") -> list[Sequence]:
    """UAV20L sequences are whole UAV123 videos: frames 1..N of ``data_seq/UAV123/<seq>/``. The official release
    keeps ``anno/UAV20L/`` inside the UAV123 folder, so that root is used when no separate UAV20L root exists."""
    try:
        dataset_root("UAV20L")
        folder = "UAV20L"
    except DatasetNotFoundError:
        folder = "UAV123"
        if not (dataset_root("UAV123") / "anno" / "UAV20L").is_dir():
            raise DatasetNotFoundError(f"UAV20L not found: neither {dataset_root('UAV20L', must_exist=False)} nor "
                                       f"{dataset_root('UAV123') / 'anno' / 'UAV20L'} exists (the official release "
                                       f"has anno/UAV20L/ inside the UAV123 folder)") from None
    return _uav123_like(folder, "UAV20L", "UAV123", dataset, use_table=False)


def uav20l_nlp() -> list[Sequence]:
    return _with_language(uav20l(), "UAV20L-NLP", "uav20l_nlp")


# -- UAVDT, VisDrone ------------------------------------------------------------------------------------------------

def _anno_folder_set(root: Path, anno: str, suffix: str, images: str, digits: int, prefix: str,
                     dataset: str) -> list[Sequence]:
    out = []
    for name in list_stems(root / anno, suffix):
        gt = root / anno / f"{name}{suffix}"
        boxes = read_boxes(gt)
        frames = numbered_frames(root / images / name, len(boxes), digits, prefix=prefix)
        out.append(make_sequence(name, dataset, frames, boxes, ground_truth_file=gt))
    return out


def uavdt(dataset: str = "uavdt") -> list[Sequence]:
    return _anno_folder_set(dataset_root("UAVDT"), "anno", "_gt.txt", "data_seq", 6, "img", dataset)


def uavdt_nlp() -> list[Sequence]:
    return _with_language(uavdt(), "UAVDT-NLP", "uavdt_nlp")


def visdrone(dataset: str = "visdrone") -> list[Sequence]:
    return _anno_folder_set(dataset_root("VisDrone2019-SOT-test-dev"), "annotations", ".txt", "sequences", 7,
                            "img", dataset)


def visdrone_nlp() -> list[Sequence]:
    return _with_language(visdrone(), "VisDrone-NLP", "visdrone_nlp")


# -- night sets (data_seq/<seq>/*.jpg + anno/<seq>.txt) -------------------------------------------------------------

def _night_set(root: Path, dataset: str, digits: int, part: str = "all") -> list[Sequence]:
    out = []
    for name in holdout_part(list_stems(root / "anno", ".txt"), part):
        gt = root / "anno" / f"{name}.txt"
        boxes = read_boxes(gt)
        frames = frames_or_pattern(root / "data_seq" / name, len(boxes), digits)
        out.append(make_sequence(name, dataset, frames, boxes, ground_truth_file=gt))
    return out


def _split_folder(root: Path, candidates: tuple[str, ...], dataset: str) -> Path:
    by_lower = {p.name.lower(): p for p in root.iterdir() if p.is_dir()} if root.is_dir() else {}
    for c in candidates:
        if c.lower() in by_lower:
            return by_lower[c.lower()]
    raise DatasetNotFoundError(f"{dataset}: none of the split folders {', '.join(candidates)} found in {root} "
                               f"(expected <split>/{{data_seq/<seq>/*.jpg,anno/<seq>.txt}})")


def uavdark135() -> list[Sequence]:
    return _night_set(dataset_root("UAVDark135"), "uavdark135", 5)


def darktrack2021(part: str = "all") -> list[Sequence]:
    """``part`` 'val': the hold-out the paper-style MLKD configs leave out of training (``lib.utils.holdout``)."""
    return _night_set(dataset_root("DarkTrack2021"), "darktrack2021" if part == "all" else f"darktrack2021_{part}",
                      6, part)


def nat2021(long_term: bool = False) -> list[Sequence]:
    root = dataset_root("NAT2021")
    if long_term:
        folder = _split_folder(root, ("test_L", "L", "NAT2021-L", "NAT2021-L-test", "NAT2021_L_test"), "nat2021_l")
    else:
        folder = _split_folder(root, ("test", "NAT2021-test", "NAT2021_test"), "nat2021")
    return _night_set(folder, "nat2021_l" if long_term else "nat2021", 6)


# -- GOT-10k --------------------------------------------------------------------------------------------------------

def _got10k_names(split_root: Path) -> list[str]:
    listed = split_root / "list.txt"
    if listed.is_file():
        return read_name_list(listed)
    return [n for n in list_subfolders(split_root) if (split_root / n / "groundtruth.txt").is_file()]


def got10k_val() -> list[Sequence]:
    root = dataset_root("got10k") / "val"
    out = []
    for name in _got10k_names(root):
        boxes = read_boxes(root / name / "groundtruth.txt")
        absent = read_optional_flags(root / name / "absence.label", len(boxes))
        out.append(make_sequence(name, "got10k_val", numbered_frames(root / name, len(boxes), 8), boxes, absent,
                                 ground_truth_file=root / name / "groundtruth.txt"))
    return out


def got10k_test() -> list[Sequence]:
    """Only the first box is public: the other frames' ground truth is NaN (not visible). The frame count comes
    from the image folder (the only place it is recorded)."""
    root = dataset_root("got10k") / "test"
    out = []
    for name in _got10k_names(root):
        first = read_boxes(root / name / "groundtruth.txt")[:1]
        frames = list_images(root / name)
        if not frames:
            raise FileNotFoundError(f"got10k_test sequence {name!r}: no images in {root / name} (the test split's "
                                    f"frame count is known only from its images)")
        boxes = np.full((len(frames), 4), np.nan)
        boxes[0] = first[0]
        out.append(make_sequence(name, "got10k_test", frames, boxes,
                                 ground_truth_file=root / name / "groundtruth.txt"))  # its first line is row 0
    return out
