"""Run a tracker over a benchmark with a pool of worker processes and write one result file per sequence.

    python tracking/test.py ostrack synth_tiny --dataset synth_uav --threads 2
    python tracking/test.py ostrack vitb_256_mae_ce_32x4_ep300 --dataset dtb70_nlp --threads 8 --num_gpus 4
    python tracking/test.py ostrack synth_tiny --dataset lasot --shard 0/4      # this machine: every 4th sequence
    python tracking/test.py template_matching default --dataset vot:/data/vot2020/bag  # a baseline, no checkpoint
    python tracking/test.py avltrack synth_tiny --language shuffled   # each sequence gets another one's sentence
    python tracking/test.py avltrack synth_tiny_halting --halting off  # a halting model at full depth
    python tracking/test.py ostrack synth_tiny --dataset synth_uav_night --enhancer darklighter/Epoch193.pth
    python tracking/test.py ostrack synth_tiny --backend onnxruntime   # the network exported to ONNX, run by ORT

Results: ``<output root>/test/tracking_results/<tracker>/<param>/<dataset>/<seq>.txt`` (x,y,w,h floats per frame,
written atomically) and ``<seq>_time.txt`` (seconds per frame); ``--language shuffled|none`` writes to
``<param>-lang_shuffled`` / ``<param>-lang_none`` instead (``lib/test/evaluation/language_modes.py``), and
``--halting off`` to ``<param>-halting_off`` (both: ``<param>-lang_none-halting_off``; ``variants.py``), and
``--enhancer W`` (DarkLighter in front: MLKD's teacher) to ``<param>-enh_<W's stem>``, ``--backend onnxruntime``
to ``<param>-backend_onnxruntime``. Finished sequences are skipped, so a rerun resumes.
A failing sequence does not stop the others; its traceback goes to ``errors.log`` in the results folder.

The tracker is built once in this process before anything else runs, so a checkpoint that is not one, or that
does not fit the config, is one error line naming both, whatever ``--threads``; the results folder is claimed
(``run.json``) only after that. If a worker process dies (e.g. killed by the out-of-memory killer), the pool stops:
the sequences it was tracking are reported lost, finished results are kept and a rerun tracks the rest.

Exit status: 0 when every sequence has a result, 1 when some failed or were lost with a worker, 2 on a usage error
(unknown tracker, config, dataset or sequence, a sequence name that would leave the results folder, a missing
checkpoint or one that does not load into the config, a results folder made by other weights or test settings,
a missing or stale ``--onnx`` file).
"""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Sequence as SequenceType

import numpy as np
import torch

from lib.paths import apply_cli_roots
from lib.test.evaluation.datasets import get_dataset, select_by_name
from lib.test.evaluation.language_modes import LANGUAGE_MODES, apply_language_mode
from lib.test.evaluation.results import claim_results_folder, result_path, results_dir, write_result
from lib.test.evaluation.running import run_dataset, track_sequence, worker_device
from lib.test.evaluation.variants import results_param
from lib.test.tracker.build import (BACKENDS, build_tracker, resolve_checkpoint, test_halting, tracker_identity,
                                    tracker_names)
from lib.train.run_training import config_name_of


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker", help=f"tracker family or baseline ({', '.join(tracker_names())})")
    parser.add_argument("param", help="experiments/<tracker>/<param>.yaml name, or a yaml path (any word, e.g. "
                                      "default, for a baseline)")
    parser.add_argument("--dataset", default="synth_uav", help="benchmark name, or vot:<folder> (default synth_uav)")
    parser.add_argument("--sequence", nargs="+", help="only these sequences (names)")
    parser.add_argument("--language", choices=LANGUAGE_MODES, default="given",
                        help="sentences given to the tracker: each sequence's own (default), another sequence's "
                             "(shuffled: a fixed derangement) or none; ablations write to <param>-lang_<mode>/")
    parser.add_argument("--halting", choices=("on", "off"), default=None,
                        help="models with token halting (MODEL.HALTING.ENABLED): halt (on) or run every token "
                             "through every block (off); default TEST.HALTING of the config; off writes to "
                             "<param>-halting_off/")
    parser.add_argument("--enhancer",
                        help="low-light enhancer weights (DarkLighter, e.g. darklighter/Epoch193.pth under "
                             "pretrained_models/) run on every crop first: MLKD's teacher as a tracker; writes to "
                             "<param>-enh_<weights stem>/")
    parser.add_argument("--backend", choices=BACKENDS, default="pytorch",
                        help="what runs each frame's network: PyTorch (default) or onnxruntime (the same crops, "
                             "window and decoding; writes to <param>-backend_onnxruntime/)")
    parser.add_argument("--onnx", help="--backend onnxruntime: the exported file (tracking/export_onnx.py; refused "
                                       "if exported from other weights or settings); default <checkpoint>.onnx, "
                                       "exported when missing or stale")
    parser.add_argument("--threads", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--num_gpus", type=int, default=None,
                        help="GPUs shared round-robin by the workers (default: all visible; 0 = CPU)")
    parser.add_argument("--shard", help="I/N: run only sequences I, I+N, I+2N, ... (0 <= I < N), to split a "
                                        "benchmark across machines")
    parser.add_argument("--checkpoint", help="weights to load (default: epoch TEST.EPOCH of tracking/train.py)")
    parser.add_argument("--debug", action="store_true",
                        help="one process, print every frame's box and score, stop at the first error")
    parser.add_argument("--results_root", help="results root (default <output root>/test/tracking_results)")
    parser.add_argument("--data_root", help="dataset root")
    parser.add_argument("--save_dir", help="output root (checkpoints are looked up and results written under it)")
    parser.add_argument("--no_progress", action="store_true", help="no tqdm bar")
    return parser


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like I/N (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {text}: need N >= 1 and 0 <= I < N")
    return index, count


def select_sequences(sequences: list, names: SequenceType[str] | None, shard: str | None) -> list:
    sequences = select_by_name(sequences, names)
    if shard:
        index, count = parse_shard(shard)
        sequences = sequences[index::count]  # interleaved, so long and short sequences spread over the shards
    return sequences


class _PrintingTracker:
    """--debug: prints every frame's box and score as it is tracked."""

    def __init__(self, tracker):
        self.tracker, self.frame = tracker, 0

    def initialize(self, image, box, sentence=None):
        self.frame = 0
        print(f"  frame 0: init {np.round(box, 1).tolist()}  sentence: {sentence!r}")
        return self.tracker.initialize(image, box, sentence)

    def track(self, image):
        self.frame += 1
        out = self.tracker.track(image)
        print(f"  frame {self.frame}: {np.round(out['box'], 1).tolist()}  score {out.get('score', float('nan')):.3f}")
        return out


def run_debug(sequences, tracker, folder) -> int:
    tracker = _PrintingTracker(tracker)
    for sequence in sequences:
        print(f"{sequence.dataset}/{sequence.name} ({len(sequence)} frames)")
        boxes, times = track_sequence(tracker, sequence)
        write_result(folder, sequence.name, boxes, times)
    return 0


def report(outcomes: list, label: str, folder) -> int:
    """Prints the summary and what did not finish; returns the exit status (0 all done, 1 some not)."""
    by_status = {status: [o for o in outcomes if o.status == status]
                 for status in ("done", "skipped", "failed", "lost", "not_started")}
    done = by_status["done"]
    frames, seconds = sum(o.frames for o in done), sum(o.seconds for o in done)
    speed = f", {frames / seconds:.1f} FPS per worker" if seconds > 0 else ""
    unfinished = len(by_status["lost"]) + len(by_status["not_started"])
    lost = f", {unfinished} lost or not started" if unfinished else ""
    print(f"{label}: {len(done)} tracked, {len(by_status['skipped'])} already done, {len(by_status['failed'])} "
          f"failed{lost}{speed} -> {folder}")
    if by_status["failed"]:
        print(f"failed sequences (tracebacks in {folder / 'errors.log'}):", file=sys.stderr)
        for o in by_status["failed"]:
            last_line = o.error.strip().splitlines()[-1] if o.error.strip() else "?"
            print(f"  {o.sequence}: {last_line}", file=sys.stderr)
    if by_status["lost"]:
        lost, not_started = (", ".join(o.sequence for o in by_status[k]) for k in ("lost", "not_started"))
        print(f"error: a worker process died (killed, e.g. by the out-of-memory killer, or crashed) and the pool "
              f"stopped. Lost while being tracked: {lost}. Not started: {not_started or 'none'}. Finished results "
              f"are kept; run the same command again to track the rest (with fewer --threads if memory is short).",
              file=sys.stderr)
    return 0 if len(done) + len(by_status["skipped"]) == len(outcomes) else 1


def main(argv: SequenceType[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    apply_cli_roots(args.data_root, args.save_dir)
    num_gpus = torch.cuda.device_count() if args.num_gpus is None else args.num_gpus
    in_process = args.debug or args.threads == 1
    try:
        if args.threads < 1:
            raise ValueError("--threads must be >= 1")
        checkpoint = resolve_checkpoint(args.tracker, args.param, args.checkpoint)
        halting = None if args.halting is None else args.halting == "on"
        halts = test_halting(args.tracker, args.param, halting)  # None: no halting (and --halting refused)
        sequences = apply_language_mode(get_dataset(args.dataset), args.language)  # on all: shards must agree
        sequences = select_sequences(sequences, args.sequence, args.shard)
        param_folder = results_param(config_name_of(args.param), language=args.language,
                                     halting="off" if halts is False else "on",
                                     enhancer=Path(args.enhancer).stem if args.enhancer else "none",
                                     backend=args.backend)
        folder = results_dir(args.tracker, param_folder, args.dataset, args.results_root)
        for sequence in sequences:
            result_path(folder, sequence.name)  # a name that would write outside the folder is refused up front
        factory = functools.partial(build_tracker, args.tracker, args.param, str(checkpoint) if checkpoint else None,
                                    halting=halting, enhancer=args.enhancer, backend=args.backend, onnx=args.onnx)
        # built here, before any worker and before the folder is claimed: a checkpoint that does not load into the
        # config is one usage error, whatever --threads (the workers build their own copy)
        tracker = factory(worker_device(0, num_gpus) if in_process else "cpu")
        claim_results_folder(folder, tracker_identity(args.tracker, args.param, checkpoint, args.language, halting,
                                                      args.enhancer, args.backend))
    except (KeyError, ValueError, FileNotFoundError) as error:  # config and mixed-results errors are ValueErrors
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    if args.debug:
        return run_debug(sequences, tracker, folder)
    if not in_process:
        tracker = None  # the workers build their own copies; free this one
    outcomes = run_dataset(sequences, factory, folder, threads=args.threads, num_gpus=num_gpus,
                           progress=not args.no_progress, tracker=tracker)
    return report(outcomes, f"{args.tracker}/{param_folder} on {args.dataset}", folder)


if __name__ == "__main__":
    sys.exit(main())
