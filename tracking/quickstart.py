"""The README's main job, on the built-in SynthUAV benchmark: no download, CPU only.

Today it makes the benchmark (train, val and test splits, by day and by night) when missing and prints a
summary of what a tracker will be trained and tested on. Training, testing and the report join this command
as they land (see the README's status table).

    python tracking/quickstart.py [--data_root DIR]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from lib import paths
from lib.synth import SPLITS
from lib.train.dataset import SynthUAV

ATTRIBUTE_NAMES = ("low resolution", "partial occlusion", "full occlusion", "out of view", "fast motion",
                   "camera motion", "viewpoint change", "rotation", "deformation", "background clutter",
                   "scale variation", "aspect ratio variation", "illumination variation", "motion blur")


def summarize(dataset: SynthUAV) -> dict:
    """Sequence, frame and absence counts, sentence length and attribute frequencies of one split."""
    seqs = [dataset.sequence(i) for i in range(dataset.get_num_sequences())]
    frames = sum(len(s.frames) for s in seqs)
    absent = sum(int(s.absent.sum()) for s in seqs)
    attributes = np.stack([s.extra["attributes"][:len(ATTRIBUTE_NAMES)] for s in seqs])
    return {"sequences": len(seqs), "frames": frames, "absent_frames": absent,
            "mean_words": float(np.mean([len(s.language.split()) for s in seqs])),
            "attributes": {n: int(c) for n, c in zip(ATTRIBUTE_NAMES, attributes.sum(axis=0)) if c},
            "example": f"{seqs[0].name}: \"{seqs[0].language}\""}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_root", default=None, help="data root (else TRACKING_DATA_ROOT, else <project>/data)")
    args = parser.parse_args(argv)
    paths.apply_cli_roots(args.data_root)
    start = time.perf_counter()
    report = {}
    for split in SPLITS:
        for night in (False, True):
            dataset = SynthUAV(split=split, night=night)  # generated on first use
            report[f"{split}{'_night' if night else ''}"] = summary = summarize(dataset)
            print(f"{split + ('_night' if night else ''):>12}: {summary['sequences']:4d} sequences, "
                  f"{summary['frames']:6d} frames, {summary['absent_frames']:5d} absent, "
                  f"{summary['mean_words']:.1f} words/sentence   e.g. {summary['example']}")
    test = report["test"]["attributes"]
    print("test attributes (sequences): " + ", ".join(f"{k} {v}" for k, v in test.items()))
    print(f"SynthUAV ready at {paths.dataset_root('synth_uav')} in {time.perf_counter() - start:.1f} s")
    print(json.dumps({"synth_uav": {k: {kk: v[kk] for kk in ("sequences", "frames", "absent_frames")}
                                    for k, v in report.items()}, "seconds": round(time.perf_counter() - start, 1)}))


if __name__ == "__main__":
    main()
