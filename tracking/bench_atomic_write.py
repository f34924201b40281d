"""What durable atomic writes cost: the same result files and checkpoints written with and without the two fsyncs
(``lib.utils.io.atomic_path``: data before the rename, folder after it), in a folder on the disk being measured.

    python tracking/bench_atomic_write.py [--dir DIR] [--sequences 200] [--frames 500] [--checkpoint_mb 15 370]

Writes go to a fresh sub-folder of ``--dir`` (default: the output root), removed at the end. Result files are
what ``tracking/test.py`` writes per sequence (boxes + times); checkpoints are one float32 tensor of the size asked
(15 MB ~ a synth_tiny training checkpoint, 370 MB ~ ViT-B weights). The machine is shared: run it twice.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lib.paths import output_root
from lib.test.evaluation.results import boxes_text
from lib.utils.io import atomic_path, atomic_write


def time_result_files(folder: Path, sequences: int, frames: int, fsync: bool) -> float:
    """Seconds per sequence (its box file and its time file)."""
    rng = np.random.default_rng(0)
    boxes, times = boxes_text(rng.uniform(0, 500, (frames, 4))), "".join(f"{t:.6f}\n" for t in rng.random(frames))
    start = time.perf_counter()
    for i in range(sequences):
        atomic_write(folder / f"seq{i:04d}_time.txt", times, fsync=fsync)
        atomic_write(folder / f"seq{i:04d}.txt", boxes, fsync=fsync)
    return (time.perf_counter() - start) / sequences


def time_checkpoint(folder: Path, megabytes: int, fsync: bool, repeats: int) -> float:
    """Median seconds to save one checkpoint of that size."""
    state = {"net": {"weight": torch.rand(megabytes * 2**20 // 4)}}
    seconds = []
    for i in range(repeats):
        start = time.perf_counter()
        with atomic_path(folder / f"ep{i:04d}.pth", fsync=fsync) as tmp:
            torch.save(state, tmp)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", help="where to write (default: the output root); its disk is what is measured")
    parser.add_argument("--sequences", type=int, default=200, help="result files per run (default 200)")
    parser.add_argument("--frames", type=int, default=500, help="frames per result file (default 500)")
    parser.add_argument("--checkpoint_mb", type=int, nargs="+", default=[15, 370], help="checkpoint sizes (MB)")
    parser.add_argument("--repeats", type=int, default=3, help="checkpoint saves per setting (median; default 3)")
    args = parser.parse_args(argv)
    base = Path(args.dir) if args.dir else output_root()
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench_atomic_write_", dir=base))
    try:
        print(f"writing in {root}")
        print("| file | without fsync | with fsync | fsync cost |\n|---|---|---|---|")
        rows = [(f"result files of one sequence ({args.frames} frames, 2 files)",
                 lambda sub, fsync: time_result_files(sub, args.sequences, args.frames, fsync))]
        rows += [(f"checkpoint, {mb} MB", lambda sub, fsync, mb=mb: time_checkpoint(sub, mb, fsync, args.repeats))
                 for mb in args.checkpoint_mb]
        for label, measure in rows:
            seconds = {}
            for run, fsync in enumerate((False, True, False, True)):  # interleaved: both see the same machine load
                sub = root / f"run{run}"
                sub.mkdir()
                seconds.setdefault(fsync, []).append(measure(sub, fsync))
                shutil.rmtree(sub)
            off, on = min(seconds[False]), min(seconds[True])
            print(f"| {label} | {off * 1e3:.2f} ms | {on * 1e3:.2f} ms | {(on - off) * 1e3:+.2f} ms |", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
