"""Result files: ``<results_root>/<tracker>/<param>/<dataset>/<seq>.txt`` with one ``x,y,w,h`` row per frame
(floats, never truncated) and ``<seq>_time.txt`` with one time per frame in seconds. The box file is written
last and atomically, so its presence means the sequence is finished."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lib.paths import output_root
from lib.utils.io import atomic_write


def results_root() -> Path:
    return output_root() / "test" / "tracking_results"


def dataset_folder(dataset: str) -> str:
    """Folder name of a benchmark's results: its name, or ``vot_<folder name>`` for ``vot:<folder>``."""
    if dataset.startswith("vot:"):
        return "vot_" + Path(dataset[len("vot:"):].rstrip("/\\")).name
    return dataset.lower().replace("-", "_")


def results_dir(tracker: str, param: str, dataset: str, root: str | os.PathLike | None = None) -> Path:
    return Path(root or results_root()) / tracker / param / dataset_folder(dataset)


def result_path(folder: Path, sequence: str) -> Path:
    return Path(folder) / f"{sequence}.txt"


def write_result(folder: Path, sequence: str, boxes: np.ndarray, times: np.ndarray) -> Path:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    atomic_write(Path(folder) / f"{sequence}_time.txt", "".join(f"{t:.6f}\n" for t in times))
    return atomic_write(result_path(folder, sequence), "".join(",".join(f"{v:.4f}" for v in b) + "\n" for b in boxes))
