"""Run a tracker over sequences in a process pool, one sequence per task.

Finished sequences (their result file exists) are skipped, so a rerun resumes. A sequence that fails does not
stop the others: its traceback goes to ``<results dir>/errors.log`` and the caller gets it in the returned list.
GPUs, when present, are shared round-robin by worker index; otherwise every worker uses the CPU.
"""
from __future__ import annotations

import multiprocessing as mp
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from lib.test.evaluation.results import result_path, write_result
from lib.utils.image import imread_rgb

TrackerFactory = Callable[[str], object]  # device -> tracker with initialize(image, box, sentence) / track(image)


@dataclass
class Outcome:
    sequence: str
    status: str            # 'done', 'skipped' or 'failed'
    frames: int = 0
    seconds: float = 0.0
    error: str = ""


def track_sequence(tracker, sequence) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) and per-frame seconds (initialise + track, image decoding excluded) for one sequence."""
    boxes = np.zeros((len(sequence.frames), 4))
    times = np.zeros(len(sequence.frames))
    image = imread_rgb(sequence.frames[0])
    start = time.perf_counter()
    tracker.initialize(image, sequence.init_box, sequence.language)
    times[0] = time.perf_counter() - start
    boxes[0] = sequence.init_box
    for i, frame in enumerate(sequence.frames[1:], start=1):
        image = imread_rgb(frame)
        start = time.perf_counter()
        boxes[i] = tracker.track(image)["box"]
        times[i] = time.perf_counter() - start
    return boxes, times


_worker: dict = {}


def _init_worker(factory: TrackerFactory, num_gpus: int, threads_per_worker: int, counter) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    torch.set_num_threads(threads_per_worker)
    device = f"cuda:{index % num_gpus}" if num_gpus > 0 else "cpu"
    _worker["tracker"] = factory(device)


def _run_one(task) -> Outcome:
    sequence, folder = task
    try:
        boxes, times = track_sequence(_worker["tracker"], sequence)
        write_result(folder, sequence.name, boxes, times)
        return Outcome(sequence.name, "done", len(times), float(times.sum()))
    except Exception:  # one broken sequence must not stop the others; the traceback is kept, not swallowed
        return Outcome(sequence.name, "failed", error=traceback.format_exc())


def run_dataset(sequences, factory: TrackerFactory, folder: Path, threads: int = 1, num_gpus: int = 0,
                progress: bool = True) -> list[Outcome]:
    """Track every sequence without a result file; returns one Outcome per sequence (failed ones last logged)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = [Outcome(s.name, "skipped") for s in sequences if result_path(folder, s.name).exists()]
    todo = [(s, folder) for s in sequences if not result_path(folder, s.name).exists()]
    threads = max(1, min(threads, len(todo))) if todo else 1
    threads_per_worker = max(1, (mp.cpu_count() if num_gpus == 0 else threads) // threads)
    bar = tqdm(total=len(todo), desc=folder.name, unit="seq", disable=not progress)
    if threads == 1:
        _init_worker(factory, num_gpus, threads_per_worker, mp.Value("i", 0))
        results = map(_run_one, todo)
        for outcome in results:
            outcomes.append(outcome)
            bar.update()
    else:
        counter = mp.get_context("spawn").Value("i", 0)
        with mp.get_context("spawn").Pool(threads, initializer=_init_worker,
                                          initargs=(factory, num_gpus, threads_per_worker, counter)) as pool:
            for outcome in pool.imap_unordered(_run_one, todo):
                outcomes.append(outcome)
                bar.update()
    bar.close()
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        with open(folder / "errors.log", "a") as log:
            for o in failed:
                log.write(f"=== {o.sequence} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n{o.error}\n")
    return outcomes
