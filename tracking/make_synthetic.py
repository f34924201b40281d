"""Generate the SynthUAV benchmark (procedural aerial tracking sequences in the WebUAV-3M layout).

    python tracking/make_synthetic.py --split test                # default count, day
    python tracking/make_synthetic.py --split train --num 200 --seed 0 [--night]
    python tracking/make_synthetic.py --split all --montage docs/synth_montage.png

The output root is the 'synth_uav' dataset root (<data_root>/synth_uav unless TRACKING_DATA_SYNTH_UAV says
otherwise). Complete sequences are skipped, so an interrupted run can simply be restarted. Sequences are never
deleted: a --num smaller than what a split folder already holds leaves that folder as it is (and says so); for a
smaller split, delete the folder or use another --data_root.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from lib import paths
from lib.synth import DEFAULT_COUNTS, SPLITS, GenerationMismatchError, generate_split, make_montage, split_dir
from lib.synth.writer import read_progress


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=[*SPLITS, "all"],
                        help="split to write; 'all' = train, val and test, each by day and by night")
    parser.add_argument("--num", type=int, default=None,
                        help=f"sequences per split (default: {DEFAULT_COUNTS})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--night", action="store_true", help="write the night twin <split>_night instead")
    parser.add_argument("--data_root", default=None, help="data root (else TRACKING_DATA_ROOT, else <project>/data)")
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--montage", default=None, metavar="PNG",
                        help="also save first frames with boxes and sentences of the written split(s)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def _count(folder: Path, names: list[str]) -> tuple[int, int]:
    """(frames, absent frames) of the named sequences, from their absent.txt."""
    frames = absent = 0
    for name in names:
        flags = (folder / name / "absent.txt").read_text().split()
        frames += len(flags)
        absent += sum(flag == "1" for flag in flags)
    return frames, absent


def _bigger_than_asked(folder: Path, num: int) -> str | None:
    """A note when the split folder is (or is meant to be) bigger than ``num`` sequences, which it keeps."""
    state = read_progress(folder)
    if state is None or state["num"] <= num:
        return None
    status = "complete" if state["complete"] else f"not complete yet (rerun with --num {state['num']} to finish it)"
    return (f"{'':>12}  --num {num} is below the {state['num']} sequences of {folder}: left as they are, {status}; "
            f"sequences are never deleted (delete the folder or use another --data_root for a smaller split)")


def _montage_splits(root: Path, written: list[str]) -> list[str]:
    """The test split (else the first written one) with its day/night twin, as far as they are on disk."""
    base = "test" if any(w.startswith("test") for w in written) else written[0].removesuffix("_night")
    return [s for s in (base, base + "_night") if (root / s).is_dir()]


def main(argv=None) -> None:
    args = parse_args(argv)
    paths.apply_cli_roots(args.data_root)
    root = paths.dataset_root("synth_uav", must_exist=False)
    jobs = [(s, n) for s in SPLITS for n in (False, True)] if args.split == "all" else [(args.split, args.night)]
    start = time.perf_counter()
    total_seqs = total_frames = total_absent = 0
    written = []
    for split, night in jobs:
        try:
            names = generate_split(root, split, num=args.num, seed=args.seed, night=night, workers=args.workers,
                                   progress=not args.no_progress)
        except GenerationMismatchError as err:  # a user error, not a crash: no traceback
            raise SystemExit(f"make_synthetic: {err}") from err
        folder = split_dir(root, split, night)
        frames, absent = _count(folder, names)
        print(f"{folder.name:>12}: {len(names)} sequences, {frames} frames, {absent} absent frames")
        note = _bigger_than_asked(folder, args.num if args.num is not None else DEFAULT_COUNTS[split])
        if note:
            print(note)
        total_seqs, total_frames, total_absent = total_seqs + len(names), total_frames + frames, total_absent + absent
        written.append(folder.name)
    seconds = time.perf_counter() - start
    print(f"SynthUAV: {total_seqs} sequences, {total_frames} frames, {total_absent} absent frames, "
          f"{seconds:.1f} s, root {root}")
    if args.montage:
        out = make_montage(root, args.montage, splits=_montage_splits(root, written))
        print(f"montage: {out}")


if __name__ == "__main__":
    main()
