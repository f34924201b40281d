"""How fast results score: a synthetic benchmark the size of the WebUAV-3M test set (780 sequences x 700 frames).

    python tracking/bench_analysis.py [--sequences 780] [--frames 700]

Writes random ground truth and noisy comma-separated result files into a temporary folder, then times
``report.evaluate_trackers`` per protocol: cold (parse + score + write the cache), cached, and without a cache.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lib.test.analysis.report import evaluate_trackers
from lib.test.evaluation.data import make_sequence
from lib.test.evaluation.results import boxes_text


def make_benchmark(root: Path, sequences: int, frames: int, seed: int = 0) -> tuple[list, Path]:
    """Random-walk boxes with ~3% absent frames, and a result folder of noisy predictions."""
    rng = np.random.default_rng(seed)
    results = root / "results"
    results.mkdir(parents=True)
    seqs = []
    for k in range(sequences):
        centre = 200 + np.cumsum(rng.normal(0, 2, (frames, 2)), axis=0)
        gt = np.hstack([centre, np.tile(rng.uniform(10, 80, 2), (frames, 1))])
        gt[rng.random(frames) < 0.03] = 0
        seqs.append(make_sequence(f"seq_{k:04d}", "bench", [], gt, check_frames=False))
        pred = np.nan_to_num(seqs[-1].ground_truth) + rng.normal(0, 3, (frames, 4)) * [1, 1, 0.2, 0.2]
        pred[:, 2:] = np.abs(pred[:, 2:]) + 1
        (results / f"{seqs[-1].name}.txt").write_text(boxes_text(pred))
    return seqs, results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=780)
    parser.add_argument("--frames", type=int, default=700)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seqs, folder = make_benchmark(root, args.sequences, args.frames)
        print(f"{args.sequences} sequences x {args.frames} frames")
        for protocol in ("pytracking", "webuav"):
            for label, use_cache in (("cold", True), ("cached", True), ("no cache", False)):
                start = time.perf_counter()
                scores = evaluate_trackers(seqs, {"bench": folder}, protocol, cache_dir=root / "cache",
                                           use_cache=use_cache)
                print(f"{protocol:>10} {label:>8}: {time.perf_counter() - start:5.2f} s  "
                      f"(AUC {scores['bench']['auc']:.3f})")


if __name__ == "__main__":
    main()
