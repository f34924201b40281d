"""A trained tracker on a benchmark under both backends, and how far its scores move under float rounding alone.

    python tracking/backend_evidence.py                      # the quick-start model (avltrack/synth_tiny), synth_uav
    python tracking/backend_evidence.py --tracker ostrack --param synth_tiny --seeds 0 1 2 --noise 1e-7

1. ``tracking/test.py TRACKER PARAM --backend pytorch`` and ``--backend onnxruntime`` (results in the usual folders,
   ``<param>`` and ``<param>-backend_onnxruntime``; finished ones are reused);
2. the PyTorch tracker again, once per seed, with uniform noise of +-``--noise`` added to its score, size and offset
   maps every frame: about the difference between the two backends' maps (``tracking/export_onnx.py`` prints it),
   so these runs show what float rounding alone does to the scores. Their results go to
   ``<out>/noise_<noise>_seed<k>/``, never to the folders of ``test.py``;
3. one table (the quick start's pytracking protocol): every run's AUC, precision and normalised precision, the
   onnxruntime - PyTorch difference against the spread of the perturbed runs, how long the two backends' boxes
   agree (frames within 0.5 px; the frame where they first part by more than 0.01 px, median over sequences), and
   each backend's mean time per frame from ``test.py``'s ``_time.txt`` files (the whole tracker: crop, network,
   decoding).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

from lib import paths
from lib.test.analysis.report import evaluate_trackers
from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.results import result_path, results_dir
from lib.test.evaluation.running import run_dataset
from lib.test.tracker.build import build_tracker
from lib.utils.bench import run_step

MAPS = ("score_map", "size_map", "offset_map")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracker", default="avltrack")
    parser.add_argument("--param", default="synth_tiny")
    parser.add_argument("--dataset", default="synth_uav")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="perturbed runs")
    parser.add_argument("--noise", type=float, default=1e-7, help="+- noise on the maps (default 1e-7)")
    parser.add_argument("--threads", type=int, default=2, help="test.py worker processes")
    parser.add_argument("--out", type=Path, help="perturbed runs' results (default <output root>/backend_evidence)")
    parser.add_argument("--data_root", help="dataset root")
    parser.add_argument("--save_dir", help="output root (the trained checkpoint and test.py results)")
    return parser.parse_args(argv)


class PerturbedMaps:
    """A tracker's network with uniform noise of +-``noise`` on its output maps (seeded)."""

    def __init__(self, runner, noise: float, seed: int):
        self.runner, self.noise = runner, noise
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, *args, **kwargs) -> dict:
        out = dict(self.runner(*args, **kwargs))
        for name in MAPS:
            noise = (torch.rand(out[name].shape, generator=self.generator) - 0.5) * (2 * self.noise)
            out[name] = out[name] + noise.to(out[name].device)
        return out


def box_agreement(sequences, folder_a: Path, folder_b: Path) -> tuple[float, float]:
    """(share of frames whose boxes differ by at most 0.5 px, median over sequences of the first frame where they
    differ by more than 0.01 px; the sequence's length when never)."""
    close, frames, parting = 0, 0, []
    for sequence in sequences:
        a, b = (np.loadtxt(result_path(f, sequence.name), delimiter=",", ndmin=2) for f in (folder_a, folder_b))
        gap = np.abs(a - b).max(axis=1)
        close, frames = close + int((gap <= 0.5).sum()), frames + len(gap)
        parted = np.flatnonzero(gap > 0.01)
        parting.append(int(parted[0]) if len(parted) else len(gap))
    return close / frames, statistics.median(parting)


def mean_frame_ms(sequences, folder: Path) -> float:
    times = np.concatenate([np.loadtxt(Path(folder) / f"{s.name}_time.txt", ndmin=1)[1:] for s in sequences])
    return float(times.mean() * 1e3)  # frame 0 is the initialisation


def main(argv=None) -> int:
    args = parse_args(argv)
    paths.apply_cli_roots(args.data_root, args.save_dir)
    roots = [f"--{name}={value}" for name, value in (("data_root", args.data_root), ("save_dir", args.save_dir))
             if value]
    sequences = get_dataset(args.dataset)
    folders = {}
    for backend in ("pytorch", "onnxruntime"):
        run_step([sys.executable, paths.PROJECT_ROOT / "tracking" / "test.py", args.tracker, args.param, "--dataset",
                  args.dataset, "--backend", backend, "--threads", args.threads, "--no_progress", *roots])
        param = args.param if backend == "pytorch" else f"{args.param}-backend_onnxruntime"
        folders[backend] = results_dir(args.tracker, param, args.dataset)
    out = args.out or paths.output_root() / "backend_evidence"
    torch.set_num_threads(2)
    for seed in args.seeds:
        label = f"pytorch, maps +-{args.noise:g}, seed {seed}"
        folder = folders[label] = out / f"noise_{args.noise:g}_seed{seed}" / args.tracker / args.param / args.dataset
        tracker = build_tracker(args.tracker, args.param)
        tracker.use_network(PerturbedMaps(tracker.runner, args.noise, seed))
        print(f"tracking: {label}", file=sys.stderr, flush=True)
        run_dataset(sequences, lambda device="cpu": tracker, folder, threads=1, progress=False, tracker=tracker)

    scores = evaluate_trackers(sequences, folders)
    print(f"{args.tracker}/{args.param} on {args.dataset} ({len(sequences)} sequences), pytracking protocol\n")
    print("| run | AUC | precision | norm. precision |\n|---|---|---|---|")
    for label, row in scores.items():
        print(f"| {label} | {row['auc']:.4f} | {row['precision']:.4f} | {row['norm_precision']:.4f} |")
    perturbed = [scores[label]["auc"] for label in scores if label.startswith("pytorch, maps")]
    delta = scores["onnxruntime"]["auc"] - scores["pytorch"]["auc"]
    spread = statistics.stdev(perturbed) if len(perturbed) > 1 else 0.0
    print(f"\nonnxruntime - pytorch: AUC {delta:+.4f}; PyTorch with its maps perturbed by +-{args.noise:g}: AUC "
          f"{statistics.mean(perturbed):.4f} +- {spread:.4f} (range {min(perturbed):.4f}..{max(perturbed):.4f}, "
          f"{len(perturbed)} seeds)")
    share, parting = box_agreement(sequences, folders["pytorch"], folders["onnxruntime"])
    print(f"boxes of the two backends: {share:.1%} of frames within 0.5 px; they first part by more than 0.01 px at "
          f"frame {parting:g} (median over sequences)")
    print(f"mean time per frame (test.py, whole tracker, {args.threads} workers): PyTorch "
          f"{mean_frame_ms(sequences, folders['pytorch']):.2f} ms, onnxruntime "
          f"{mean_frame_ms(sequences, folders['onnxruntime']):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
