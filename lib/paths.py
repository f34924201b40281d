"""One resolver for every dataset root and output folder.

Precedence, for the data root and for the output root alike: command-line option (entry points export it as
the environment variable below, so worker processes and torchrun ranks see the same value), then the
environment variable, then a default inside the project. Each dataset lives in a default sub-folder of the
data root, which ``TRACKING_DATA_<KEY>`` overrides (KEY = folder name upper-cased, ``-`` -> ``_``).
Nothing is written to disk: there is no generated ``local.py``.
"""
from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# default folder name under the data root -> layout shown when the folder is missing
DATASET_LAYOUTS = {
    "got10k": "got10k/{train,val,test}/GOT-10k_Train_000001/{00000001.jpg,groundtruth.txt,absence.label,"
              "cover.label,meta_info.ini} + got10k/<split>/list.txt",
    "lasot": "lasot/<class>/<class>-<n>/{img/00000001.jpg,groundtruth.txt,full_occlusion.txt,out_of_view.txt,nlp.txt}",
    "trackingnet": "trackingnet/TRAIN_0/{frames/<video>/0.jpg,anno/<video>.txt}",
    "coco": "coco/{images/train2017/*.jpg,annotations/instances_train2017.json}",
    "refcocog": "refcocog/{refcocog/refs(google).p,refcocog/instances.json} (the refer toolkit's data/ folder) + the "
                "COCO 2014 train images refcocog/{images/mscoco/images/train2014,images/train2014,train2014}/"
                "COCO_train2014_<12-digit id>.jpg (a link to a COCO download will do)",
    "tnl2k": "tnl2k/<seq>/{imgs/*.jpg|png,groundtruth.txt,language.txt}",
    "WebUAV-3M": "WebUAV-3M/{Train,Val,Test}/<seq>/{img/000001.jpg,groundtruth_rect.txt,absent.txt,"
                 "attributes.txt,language.txt}",
    "otb99_lang": "otb99_lang/<seq>/{img/0001.jpg,groundtruth_rect.txt} + otb99_lang/OTB_query_{train,test}/<seq>.txt",
    "NAT2021": "NAT2021/<split>/{data_seq/<seq>/*.jpg,anno/<seq>.txt}",
    "DarkTrack2021": "DarkTrack2021/{data_seq/<seq>/*.jpg,anno/<seq>.txt}",
    "UAVDark135": "UAVDark135/{data_seq/<seq>/*.jpg,anno/<seq>.txt}",
    "DTB70": "DTB70/<seq>/{img/00001.jpg,groundtruth_rect.txt}",
    "DTB70-NLP": "DTB70-NLP/<seq>/language.txt",
    "UAV123": "UAV123/{anno/UAV123/<seq>.txt,data_seq/UAV123/<video>/000001.jpg}",
    "UAV123_10fps": "UAV123_10fps/{anno/UAV123_10fps/<seq>.txt,data_seq/UAV123_10fps/<video>/000001.jpg}",
    "UAV20L": "UAV20L/{anno/UAV20L/<seq>.txt,data_seq/UAV123/<video>/000001.jpg}",
    "UAV20L-NLP": "UAV20L-NLP/<seq>/language.txt",
    "UAVDT": "UAVDT/{data_seq/<seq>/img000001.jpg,anno/<seq>_gt.txt}",
    "UAVDT-NLP": "UAVDT-NLP/<seq>/language.txt",
    "VisDrone2019-SOT-test-dev": "VisDrone2019-SOT-test-dev/{sequences/<seq>/img0000001.jpg,annotations/<seq>.txt}",
    "VisDrone-NLP": "VisDrone-NLP/<seq>/language.txt",
    "synth_uav": "synth_uav/{train,val,test,train_night,val_night,test_night}/<seq>/{img/000001.jpg,"
                 "groundtruth_rect.txt,absent.txt,attributes.txt,language.txt} "
                 "(generate it with: python tracking/make_synthetic.py --split test)",
}


def dataset_key(name: str) -> str:
    """'DTB70-NLP' -> 'dtb70_nlp' (the key used in environment variable names and registries)."""
    return name.lower().replace("-", "_")


_FOLDER_BY_KEY = {dataset_key(folder): folder for folder in DATASET_LAYOUTS}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset root is missing; the message says where we looked and how to fix it."""


def data_root() -> Path:
    """``--data_root`` (exported as TRACKING_DATA_ROOT), else TRACKING_DATA_ROOT, else <project>/data."""
    return Path(os.environ.get("TRACKING_DATA_ROOT") or PROJECT_ROOT / "data")


def output_root() -> Path:
    """``--save_dir`` (exported as TRACKING_OUTPUT_ROOT), else TRACKING_OUTPUT_ROOT, else <project>/output."""
    return Path(os.environ.get("TRACKING_OUTPUT_ROOT") or PROJECT_ROOT / "output")


def apply_cli_roots(data_root_arg: str | None = None, save_dir_arg: str | None = None) -> None:
    """Entry points call this with their ``--data_root`` / ``--save_dir`` options; children inherit them."""
    if data_root_arg:
        os.environ["TRACKING_DATA_ROOT"] = str(Path(data_root_arg).resolve())
    if save_dir_arg:
        os.environ["TRACKING_OUTPUT_ROOT"] = str(Path(save_dir_arg).resolve())


def env_var(name: str) -> str:
    return "TRACKING_DATA_" + dataset_key(name).upper()


def dataset_root(name: str, must_exist: bool = True) -> Path:
    """Root folder of dataset ``name`` (a folder name such as 'DTB70-NLP' or its key 'dtb70_nlp')."""
    key = dataset_key(name)
    if key not in _FOLDER_BY_KEY:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASET_LAYOUTS))}")
    folder = _FOLDER_BY_KEY[key]
    override = os.environ.get(env_var(folder))
    root = Path(override) if override else data_root() / folder
    if must_exist and not root.is_dir():
        how = (f"{env_var(folder)} points there: fix it to the folder that holds the data" if override else
               f"put the data there, set {env_var(folder)} to its folder, or point --data_root / TRACKING_DATA_ROOT "
               f"at a folder that holds '{folder}/'")
        raise DatasetNotFoundError(
            f"dataset {folder!r} not found at {root}: {how}. Expected layout: {DATASET_LAYOUTS[folder]}")
    return root


def resolve_root(name: str, root: str | os.PathLike | None) -> Path:
    """An explicit ``root=`` argument wins; otherwise the resolver decides. Either way it must exist."""
    if root is None:
        return dataset_root(name)
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"dataset {name!r} not found at {root} (given as root=). Expected layout: "
            f"{DATASET_LAYOUTS.get(_FOLDER_BY_KEY.get(dataset_key(name), name), '?')}")
    return root


def plain_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an entry directly inside a folder, or None if it can.

    Sequence names come from list files anyone can edit and become folders under a dataset root and file names in
    a results folder: an absolute path, '..' or a path separator would read or write outside them.
    """
    if name in ("", ".", ".."):
        return "empty, '.' or '..'"
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return "an absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "a path through '..'"
    if "/" in name or "\\" in name:
        return "a path (it has a separator '/' or '\\')"
    return None


def check_plain_name(name: str, where: str, what: str = "sequence name") -> str:
    """``name``, or a ValueError naming ``where`` (file and line, or whatever gave the name) and the entry."""
    problem = plain_name_problem(name)
    if problem is not None:
        raise ValueError(f"{where}: {what} {name!r} must be a plain name, not {problem}: it would point outside "
                         f"its folder")
    return name
