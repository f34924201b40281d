"""Run a tracker over sequences in a process pool, one sequence per task.

Finished sequences (their result file exists) are skipped, so a rerun resumes. A sequence that fails does not
stop the others: its traceback goes to ``<results dir>/errors.log`` and the caller gets it in the returned list.
GPUs, when present, are shared round-robin by worker index; otherwise every worker uses the CPU.

The pool is ``concurrent.futures.ProcessPoolExecutor`` (spawn), which reports a worker that dies (killed by the
OOM killer, a crash in native code) as a broken pool; ``multiprocessing.Pool`` would wait for it forever. When
that happens the sequences being tracked are 'lost' and the ones not yet started are 'not_started'; finished
result files stay, and a rerun tracks the rest. A worker that cannot build its tracker fails each sequence it is
given with that error, instead of being respawned without end.
"""
from __future__ import annotations

import multiprocessing as mp
import time
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from lib.test.evaluation.results import result_path, write_result
from lib.utils.image import imread_rgb

TrackerFactory = Callable[[str], object]  # device -> tracker with initialize(image, box, sentence) / track(image)
WORKER_DIED = ("lost: a worker process died (killed, e.g. by the out-of-memory killer, or crashed) while this "
               "sequence was being tracked or queued, and the pool stopped every worker")


@dataclass
class Outcome:
    sequence: str
    status: str            # 'done', 'skipped', 'failed', or after a worker died 'lost' / 'not_started'
    frames: int = 0
    seconds: float = 0.0
    error: str = ""


def check_init_box(sequence) -> None:
    """The tracker starts from the first frame's ground truth: it must be a finite box with w, h > 0."""
    box = sequence.init_box  # NaN when the row was invalid or flagged absent
    if np.all(np.isfinite(box)) and box[2] > 0 and box[3] > 0:
        return
    row = ",".join(f"{v:g}" for v in sequence.file_ground_truth[0])
    flagged = sequence.absent is not None and bool(sequence.absent[0])
    reason = "the target is flagged absent there" if flagged else "it needs finite x, y and w, h > 0"
    where = sequence.ground_truth_file or "its ground-truth file (not recorded by the dataset reader)"
    raise ValueError(f"sequence {sequence.dataset}/{sequence.name}: cannot initialise the tracker on the first "
                     f"frame's box {row} ({where}, line 1): {reason}")


def track_sequence(tracker, sequence) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) and per-frame seconds (initialise + track, image decoding excluded) for one sequence."""
    check_init_box(sequence)
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


def worker_device(index: int, num_gpus: int) -> str:
    return f"cuda:{index % num_gpus}" if num_gpus > 0 else "cpu"


_worker: dict = {}


def _init_worker(factory: TrackerFactory, num_gpus: int, threads_per_worker: int, counter) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    torch.set_num_threads(threads_per_worker)
    try:
        _worker["tracker"] = factory(worker_device(index, num_gpus))
    except Exception:  # an initializer that raises breaks the pool; each task reports this instead
        _worker["build_error"] = traceback.format_exc()


def _run_one(task) -> Outcome:
    sequence, folder = task
    if "build_error" in _worker:
        return Outcome(sequence.name, "failed", error="this worker could not build its tracker:\n"
                                                       + _worker["build_error"])
    try:
        boxes, times = track_sequence(_worker["tracker"], sequence)
        write_result(folder, sequence.name, boxes, times)
        return Outcome(sequence.name, "done", len(times), float(times.sum()))
    except Exception:  # one broken sequence must not stop the others; the traceback is kept, not swallowed
        return Outcome(sequence.name, "failed", error=traceback.format_exc())


def _run_pool(todo: list, threads: int, initargs: tuple, report: Callable[[Outcome], None]) -> None:
    """Track ``todo`` with ``threads`` spawned workers, one task in flight per worker, so that if a worker dies the
    sequences then in flight are known: those are lost (the pool stops every worker) and the rest never start."""
    queue, running = deque(todo), {}
    with ProcessPoolExecutor(threads, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=initargs) as pool:
        def submit_next() -> bool:
            """Submit the next task, if any; False when the pool is broken (the task stays queued)."""
            if queue:
                try:
                    future = pool.submit(_run_one, queue[0])
                except BrokenProcessPool:
                    return False
                running[future] = queue.popleft()[0].name
            return True

        alive = all(submit_next() for _ in range(threads))
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                try:
                    report(future.result())
                except BrokenProcessPool:
                    alive = False
                    report(Outcome(name, "lost", error=WORKER_DIED))
                alive = alive and submit_next()
    for sequence, _ in queue:
        report(Outcome(sequence.name, "not_started", error="not started: the worker pool had stopped"))


def run_dataset(sequences, factory: TrackerFactory, folder: Path, threads: int = 1, num_gpus: int = 0,
                progress: bool = True, tracker=None) -> list[Outcome]:
    """Track every sequence without a result file; returns one Outcome per sequence (failed ones logged).

    ``tracker``: one already built by ``factory`` (e.g. to check the checkpoint before the folder is claimed);
    used when the sequences run in this process (``threads == 1``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = [Outcome(s.name, "skipped") for s in sequences if result_path(folder, s.name).exists()]
    todo = [(s, folder) for s in sequences if not result_path(folder, s.name).exists()]
    threads = max(1, min(threads, len(todo))) if todo else 1
    threads_per_worker = max(1, (mp.cpu_count() if num_gpus == 0 else threads) // threads)
    bar = tqdm(total=len(todo), desc=folder.name, unit="seq", disable=not progress)

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        bar.update()

    if threads == 1:
        torch.set_num_threads(threads_per_worker)
        _worker.clear()
        _worker["tracker"] = tracker if tracker is not None else factory(worker_device(0, num_gpus))
        for task in todo:
            report(_run_one(task))
    else:
        counter = mp.get_context("spawn").Value("i", 0)
        _run_pool(todo, threads, (factory, num_gpus, threads_per_worker, counter), report)
    bar.close()
    unfinished = [o for o in outcomes if o.status in ("failed", "lost", "not_started")]
    if unfinished:
        with open(folder / "errors.log", "a") as log:
            for o in unfinished:
                log.write(f"=== {o.sequence}: {o.status} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n{o.error}\n")
    return outcomes
