"""Result files: ``<results_root>/<tracker>/<param>/<dataset>/<seq>.txt`` with one ``x,y,w,h`` row per frame
(floats, never truncated) and ``<seq>_time.txt`` with one time per frame in seconds. The box file is written
last and atomically, so its presence means the sequence is finished. A sequence name must be a plain file name:
one that would put a file outside the folder ('..', absolute, with a separator) is an error naming it."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from lib.paths import check_plain_name, output_root
from lib.utils.io import atomic_write, remove_stale_temp_files


def results_root() -> Path:
    return output_root() / "test" / "tracking_results"


def dataset_folder(dataset: str) -> str:
    """Folder name of a benchmark's results: its name, or ``vot_<folder name>`` for ``vot:<folder>``."""
    if dataset.startswith("vot:"):
        return "vot_" + Path(dataset[len("vot:"):].rstrip("/\\")).name
    return dataset.lower().replace("-", "_")


def results_dir(tracker: str, param: str, dataset: str, root: str | os.PathLike | None = None) -> Path:
    return Path(root or results_root()) / tracker / param / dataset_folder(dataset)


def sequence_file(folder: Path, sequence: str, suffix: str) -> Path:
    """``<folder>/<sequence><suffix>``; a sequence name that would put the file elsewhere is an error naming it."""
    return Path(folder) / f"{check_plain_name(sequence, f'results folder {folder}')}{suffix}"


def result_path(folder: Path, sequence: str) -> Path:
    return sequence_file(folder, sequence, ".txt")


def time_path(folder: Path, sequence: str) -> Path:
    return sequence_file(folder, sequence, "_time.txt")


def write_result(folder: Path, sequence: str, boxes: np.ndarray, times: np.ndarray) -> Path:
    atomic_write(time_path(folder, sequence), "".join(f"{t:.6f}\n" for t in times))
    return atomic_write(result_path(folder, sequence), boxes_text(boxes))


def boxes_text(boxes) -> str:
    """One ``x,y,w,h`` row per box, floats with 4 decimals (never truncated to integers)."""
    return "".join(",".join(f"{v:.4f}" for v in b) + "\n" for b in np.asarray(boxes, dtype=np.float64).reshape(-1, 4))


RUN_FILE = "run.json"


class MixedResultsError(ValueError):
    """A results folder holds results of another model or other test settings than the one about to run."""


def has_results(folder: Path) -> bool:
    """Whether ``folder`` holds any result file (``<seq>.txt`` or ``<seq>_time.txt``)."""
    return Path(folder).is_dir() and any(p.is_file() for p in Path(folder).glob("*.txt"))


def claim_results_folder(folder: Path, identity: dict, replace_other: bool = False) -> None:
    """Results in one folder come from one model: the first run records what made them (``run.json``); a later run
    with other weights or test settings is refused, since skipping 'finished' sequences would mix the two.
    ``replace_other=True`` (for a caller that owns the folder) deletes the other model's results instead. A folder
    without result files is free whatever its ``run.json`` says. Leftover temp files of writes that a killed run
    interrupted are removed here (never those of a running process)."""
    path = Path(folder) / RUN_FILE
    identity = json.loads(json.dumps(identity))  # compare as stored (tuples become lists)
    remove_stale_temp_files(folder)
    recorded = json.loads(path.read_text()) if path.is_file() else identity
    for made in (recorded, identity):
        made.setdefault("language", "given")  # folders made before test.py --language existed were 'given'
    if recorded != identity and has_results(folder):  # without results (a run that failed at start) it is free
        if not replace_other:
            changed = sorted(k for k in set(recorded) | set(identity) if recorded.get(k) != identity.get(k))
            raise MixedResultsError(f"{folder} holds results made with another {', '.join(changed)} than this run's "
                                    f"(see {path}); move or delete that folder, or write elsewhere "
                                    f"with --results_root")
        print(f"  {folder}: results of another model, removed to track again")
        shutil.rmtree(folder)
    atomic_write(path, json.dumps(identity, indent=1, sort_keys=True) + "\n")
