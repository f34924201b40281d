"""How long the user's commands take on benchmark-size data, dataset loading included.

    python tracking/bench_analysis.py                                  # WebUAV-3M size, --protocol webuav
    python tracking/bench_analysis.py --protocol webuav pytracking --repeats 5
    python tracking/bench_analysis.py --code . /tmp/old               # this checkout beside an older one
    python tracking/bench_analysis.py --startup                        # + tracking/test.py start-up, LaSOT size

Analysis: writes a test set in the WebUAV-3M layout (``Test/<seq>/{groundtruth_rect.txt, absent.txt,
attributes.txt, language.txt}``, 780 sequences, ~554k frames, ~3% absent frames as ``0,0,0,0`` rows; no images,
which scoring never reads) and the result files of 3 trackers, then times, alternating within each repetition and
keeping the best of ``--repeats``:

* ``numpy``: a plain numpy script (written beside the data) that reads the same GT, absence and result files and
  computes each tracker's WebUAV-3M scores (AUC, Pre, nPre, cAUC, mAcc) one sequence at a time, as the toolkit
  does;
* ``cold``: ``python tracking/analysis_results.py --dataset webuav3m --protocol P --trackers ...`` with an empty
  score cache (a fresh ``--save_dir``): imports, dataset loading, parsing, scoring, writing the cache;
* ``warm``: the same command again with that cache in place.

Every command is a subprocess, timed from launch to exit. The operating system's file cache is warm for all of
them (the files were just written). A first, untimed run of each command (``--format json``) checks that its scores
equal the numpy script's (all five under ``webuav``, the AUC otherwise) and fills the warm cache; the timed runs
print the default table.

Start-up (``--startup``): a set in the LaSOT layout (``<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt,
out_of_view.txt, nlp.txt}`` + ``testing_set.txt``, 280 sequences, ~690k frames, no images) and
``python tracking/test.py template_matching default --dataset lasot --threads 2``, stopped where the sequences are
handed to the process pool (``run_dataset``): the time from launch to that point (imports, dataset building,
sequence selection, results-folder claim), plus the time and bytes to pickle every ``(sequence, folder)`` task
the way the pool sends them to its spawned workers.

``--code DIR ...`` times the commands of other checkouts of this project side by side (each runs with
``PYTHONPATH=DIR``, so its own ``lib`` is imported), e.g. an older commit made with
``git worktree add /tmp/old <commit>``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lib.paths import PROJECT_ROOT
from lib.test.evaluation.results import boxes_text, dataset_folder
from lib.utils.bench import child_env, timed

NUMPY_SCRIPT = '''"""Plain numpy scoring of a WebUAV-layout split with the WebUAV-3M toolkit's five scores, one
sequence at a time as the toolkit does: per tracker, the mean over sequences of AUC, Pre, nPre, cAUC and mAcc. Row 0 is the GT
(not for mAcc); absent frames (flag or 0,0,0,0 row) are scored against the box 0,0,0,0."""
import json
import os
import sys

import numpy as np

split, folders = sys.argv[1], sys.argv[2:]
eps = np.finfo(np.float64).eps
success_t, precision_t, norm_t = np.linspace(0.0, 1.0, 21), np.arange(51.0), np.arange(51) / 100.0
names = sorted(n for n in os.listdir(split) if os.path.isfile(os.path.join(split, n, "groundtruth_rect.txt")))
truth = []
for name in names:
    gt = np.loadtxt(os.path.join(split, name, "groundtruth_rect.txt"), delimiter=",", ndmin=2)
    absent = np.loadtxt(os.path.join(split, name, "absent.txt"), ndmin=1).astype(bool) | (gt == 0).all(axis=1)
    gt[absent] = 0.0
    truth.append((gt, absent))


def inter_union(p, g):
    iw = np.minimum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2]) - np.maximum(p[:, 0], g[:, 0])
    ih = np.minimum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3]) - np.maximum(p[:, 1], g[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    return inter, p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter


scores = {}
with np.errstate(divide="ignore", invalid="ignore"):
    for folder in folders:
        rows = []
        for name, (gt, absent) in zip(names, truth):
            raw = np.loadtxt(os.path.join(folder, name + ".txt"), delimiter=",", ndmin=2)
            p = raw.copy()
            p[0] = gt[0]
            inter, union = inter_union(p, gt)
            iou = inter / (union + eps)
            centre = lambda b: b[:, :2] + (b[:, 2:] - 1) / 2
            err = np.linalg.norm(centre(p) - centre(gt), axis=1)
            norm_err = np.linalg.norm((centre(p) - centre(gt)) / (gt[:, 2:] + 1e-16), axis=1)
            rho2 = ((p[:, :2] + p[:, 2:] / 2 - gt[:, :2] - gt[:, 2:] / 2) ** 2).sum(axis=1)
            c2 = ((np.maximum(p[:, :2] + p[:, 2:], gt[:, :2] + gt[:, 2:]) - np.minimum(p[:, :2], gt[:, :2])) ** 2).sum(1)
            v = 4 / np.pi ** 2 * (np.arctan(gt[:, 2] / gt[:, 3]) - np.arctan(p[:, 2] / p[:, 3])) ** 2
            ciou = iou - rho2 / c2 - v / (1 - iou + v + eps) * v
            raw_inter, raw_union = inter_union(raw, gt)
            accuracy = np.where(absent, np.isnan(raw).all(axis=1), np.nan_to_num(np.clip(raw_inter / raw_union, 0, 1)))
            rows.append([(np.clip(iou, 0, 1)[:, None] > success_t).mean(), (err[:, None] <= precision_t).mean(0)[20],
                         (norm_err[:, None] <= norm_t).mean(), (np.clip(ciou, 0, 1)[:, None] > success_t).mean(),
                         accuracy.mean()])
        scores[folder] = dict(zip(("auc", "precision", "norm_precision", "cauc", "macc"), np.mean(rows, axis=0).tolist()))
print(json.dumps(scores))
'''

STARTUP_PROBE = '''"""Runs tracking/test.py of the checkout argv[1] with argv[2:], but stops where the sequences
are handed to the process pool: prints how many, and the time and bytes to pickle each (sequence, folder) task as
the pool would."""
import json
import os
import pickle
import runpy
import sys
import time

import lib.test.evaluation.running as running


def handed_over(sequences, factory, folder, **kwargs):
    start = time.perf_counter()
    sizes = [len(pickle.dumps((s, folder))) for s in sequences]
    print(json.dumps({"sequences": len(sizes), "frames": sum(len(s) for s in sequences),
                      "pickle_s": time.perf_counter() - start, "pickle_bytes": sum(sizes)}), flush=True)
    os._exit(0)


running.run_dataset = handed_over
sys.argv = [os.path.join(sys.argv[1], "tracking", "test.py")] + sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
sys.exit("tracking/test.py returned without handing sequences to lib.test.evaluation.running.run_dataset")
'''


# -- data -----------------------------------------------------------------------------------------------------------

def sequence_lengths(rng: np.random.Generator, sequences: int, total: int, low: float) -> np.ndarray:
    """``sequences`` lengths between ``low`` and about 3x the mean that add up to ``total``."""
    raw = rng.uniform(low, 3.0, sequences)
    lengths = np.maximum(2, np.round(raw / raw.sum() * total)).astype(int)
    lengths[-1] = max(2, lengths[-1] + total - lengths.sum())
    return lengths


def random_track(rng: np.random.Generator, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer GT boxes of a random walk inside a 1920x1080 frame, and ~3% absent frames (in short runs)."""
    size = rng.uniform(15, 120, 2)
    centre = np.clip(np.array([960.0, 540.0]) + np.cumsum(rng.normal(0, 3, (frames, 2)), axis=0),
                     size, np.array([1920.0, 1080.0]) - size)
    gt = np.round(np.hstack([centre - size / 2, np.tile(size, (frames, 1))]))
    absent = np.zeros(frames, dtype=bool)
    for start in rng.integers(1, frames, max(1, frames // 300)):
        absent[start:start + 10] = True
    gt[absent] = 0
    return gt, absent


def prediction(rng: np.random.Generator, gt: np.ndarray, noise: float) -> np.ndarray:
    """A tracker's boxes: the GT (the last seen box where absent) plus noise and a slow drift."""
    seen = np.maximum.accumulate(np.where((gt != 0).any(axis=1), np.arange(len(gt)), 0))
    pred = gt[seen] + rng.normal(0, noise, gt.shape) * [1, 1, 0.3, 0.3]
    pred[:, :2] += np.cumsum(rng.normal(0, noise / 10, (len(gt), 2)), axis=0)
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    return pred


def write_lines(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def int_rows(rows: np.ndarray) -> str:
    return "".join(",".join(str(int(v)) for v in row) + "\n" for row in rows)


def make_webuav_set(root: Path, sequences: int, total_frames: int, trackers: int, seed: int = 0) -> dict:
    """The WebUAV-3M test layout under ``root/data`` and ``trackers`` result folders under ``root/results``."""
    rng = np.random.default_rng(seed)
    split = root / "data" / "WebUAV-3M" / "Test"
    labels = [f"tracker{k}/default" for k in range(trackers)]
    for k, n in enumerate(sequence_lengths(rng, sequences, total_frames, low=0.3)):
        name = f"uav{k:06d}"
        gt, absent = random_track(rng, int(n))
        write_lines(split / name / "groundtruth_rect.txt", int_rows(gt))
        write_lines(split / name / "absent.txt", "".join(f"{int(a)}\n" for a in absent))
        write_lines(split / name / "attributes.txt", ",".join(str(v) for v in rng.integers(0, 2, 17)) + "\n")
        write_lines(split / name / "language.txt", f"the target of sequence {k}\n")
        for t, label in enumerate(labels):
            write_lines(root / "results" / label / dataset_folder("webuav3m") / f"{name}.txt",
                        boxes_text(prediction(rng, gt, noise=2.0 + 4.0 * t)))
    return {"split": str(split), "trackers": labels}


def make_lasot_set(root: Path, sequences: int, total_frames: int, seed: int = 0) -> Path:
    """Annotation files in the LaSOT layout (no images) and a ``testing_set.txt`` listing every sequence."""
    rng = np.random.default_rng(seed)
    lasot = root / "data" / "lasot"
    names = []
    for k, n in enumerate(sequence_lengths(rng, sequences, total_frames, low=0.3)):
        cls = f"class{k // 4:02d}"
        folder = lasot / cls / f"{cls}-{k % 4 + 1}"
        gt, absent = random_track(rng, int(n))
        gt[absent] = prediction(rng, gt, 1.0)[absent].round()  # LaSOT keeps a box on occluded frames
        write_lines(folder / "groundtruth.txt", int_rows(gt))
        write_lines(folder / "full_occlusion.txt", ",".join(str(int(a)) for a in absent) + "\n")
        write_lines(folder / "out_of_view.txt", ",".join("0" for _ in absent) + "\n")
        write_lines(folder / "nlp.txt", f"the target of sequence {k}\n")
        names.append(folder.name)
    write_lines(lasot / "testing_set.txt", "".join(n + "\n" for n in names))
    return lasot


def prepared(root: Path, kind: str, params: dict, make) -> dict:
    """Runs ``make()`` unless ``root`` already holds this kind of data made with ``params`` (reruns reuse it)."""
    record = root / f"{kind}.json"
    if record.is_file() and json.loads(record.read_text())["params"] == params:
        return json.loads(record.read_text())["made"]
    start = time.perf_counter()
    made = make()
    print(f"{kind}: data written in {time.perf_counter() - start:.0f} s", flush=True)
    record.write_text(json.dumps({"params": params, "made": made}))
    return made


# -- timing ---------------------------------------------------------------------------------------------------------

def analysis_command(code: Path, root: Path, labels: list[str], protocol: str, save_dir: Path,
                     *options: str) -> list[str]:
    return [sys.executable, str(code / "tracking" / "analysis_results.py"), "--dataset", "webuav3m",
            "--protocol", protocol, "--trackers", *labels, "--results_root", str(root / "results"),
            "--data_root", str(root / "data"), "--save_dir", str(save_dir), *options]


def check_same_scores(reference: dict, output: str, labels: list[str], root: Path, protocol: str,
                      where: str) -> None:
    """The command's scores equal the numpy script's: all five under ``webuav`` (the script computes that
    toolkit's scores), the AUC under the other protocols (their rules differ only on frames this set does not have)."""
    scores = json.loads(output)
    keys = ("auc", "precision", "norm_precision", "cauc", "macc") if protocol == "webuav" else ("auc",)
    for label in labels:
        theirs = reference[str(root / "results" / label / dataset_folder("webuav3m"))]
        for key in keys:
            if abs(scores[label][key] - theirs[key]) > 1e-9:
                raise SystemExit(f"{where}: {key} of {label} is {scores[label][key]:.6f}, the numpy script's "
                                 f"{theirs[key]:.6f}")


def bench_analysis(root: Path, made: dict, codes: list[Path], protocols: list[str], repeats: int) -> None:
    labels = made["trackers"]
    script = root / "numpy_scores.py"
    script.write_text(NUMPY_SCRIPT)
    numpy_cmd = [sys.executable, str(script), made["split"],
                 *(str(root / "results" / label / dataset_folder("webuav3m")) for label in labels)]
    best: dict[str, float] = {}

    def keep(key: str, seconds: float) -> None:
        best[key] = min(best.get(key, float("inf")), seconds)

    reference = json.loads(timed(numpy_cmd)[1])
    for i, code in enumerate(codes):  # untimed: check the scores (json output) and fill the warm caches
        for protocol in protocols:
            _, out = timed(analysis_command(code, root, labels, protocol, root / "out" / f"warm_{i}", "--format",
                                            "json"), child_env(code))
            check_same_scores(reference, out, labels, root, protocol, f"{code} --protocol {protocol}")
    for rep in range(repeats):  # timed: the default table output, as a user runs it
        keep("numpy", timed(numpy_cmd)[0])
        for i, code in enumerate(codes):
            for protocol in protocols:
                cold_dir = root / "out" / f"cold_{i}_{protocol}_{rep}"
                seconds, _ = timed(analysis_command(code, root, labels, protocol, cold_dir), child_env(code))
                shutil.rmtree(cold_dir, ignore_errors=True)
                keep(f"{i} {protocol} cold", seconds)
                seconds, _ = timed(analysis_command(code, root, labels, protocol, root / "out" / f"warm_{i}"),
                                   child_env(code))
                keep(f"{i} {protocol} warm", seconds)
    base = best["numpy"]
    print(f"\nanalysis_results.py vs a plain numpy script, best of {repeats} (alternating), wall time of the "
          f"whole process:")
    print(f"  {'numpy script':<46} {base:6.2f} s")
    for i, code in enumerate(codes):
        for protocol in protocols:
            for cache in ("cold", "warm"):
                seconds = best[f"{i} {protocol} {cache}"]
                label = f"{code.name or code} --protocol {protocol}, {cache} cache"
                print(f"  {label:<46} {seconds:6.2f} s   {seconds / base:4.2f}x numpy")


def bench_startup(root: Path, codes: list[Path], repeats: int) -> None:
    probe = root / "startup_probe.py"
    probe.write_text(STARTUP_PROBE)
    best: dict[int, tuple[float, dict]] = {}
    for rep in range(repeats):
        for i, code in enumerate(codes):
            save_dir = root / "out" / f"startup_{i}_{rep}"
            cmd = [sys.executable, str(probe), str(code), "template_matching", "default", "--dataset", "lasot",
                   "--threads", "2", "--no_progress", "--data_root", str(root / "data"), "--save_dir", str(save_dir)]
            seconds, out = timed(cmd, child_env(code))
            shutil.rmtree(save_dir, ignore_errors=True)
            if i not in best or seconds < best[i][0]:
                best[i] = (seconds, json.loads(out.strip().splitlines()[-1]))
    print(f"\ntracking/test.py start-up until the sequences reach the pool, best of {repeats} (alternating):")
    for i, code in enumerate(codes):
        seconds, info = best[i]
        print(f"  {str(code.name or code):<20} {seconds:6.2f} s launch -> run_dataset ({info['sequences']} sequences, "
              f"{info['frames']:,} frames); pickling the tasks {info['pickle_s']:.2f} s, "
              f"{info['pickle_bytes'] / 1e6:.1f} MB")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", nargs="+", default=["webuav"], help="scoring protocols to time")
    parser.add_argument("--sequences", type=int, default=780)
    parser.add_argument("--frames", type=int, default=554_000, help="frames in all (default 554,000)")
    parser.add_argument("--trackers", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs of each command")
    parser.add_argument("--code", nargs="+", type=Path, default=[PROJECT_ROOT],
                        help="project checkouts whose commands to time (default: this one)")
    parser.add_argument("--startup", action="store_true", help="also time tracking/test.py start-up (LaSOT size)")
    parser.add_argument("--no_analysis", action="store_true", help="skip the analysis benchmark")
    parser.add_argument("--lasot_sequences", type=int, default=280)
    parser.add_argument("--lasot_frames", type=int, default=690_000)
    parser.add_argument("--workdir", type=Path,
                        help="keep the generated data here and reuse it on reruns (default: a temporary folder)")
    args = parser.parse_args(argv)
    codes = [c.resolve() for c in args.code]
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.workdir or Path(tmp)).resolve()
        root.mkdir(parents=True, exist_ok=True)
        if not args.no_analysis:
            params = {"sequences": args.sequences, "frames": args.frames, "trackers": args.trackers}
            made = prepared(root, "webuav", params, lambda: make_webuav_set(root, args.sequences, args.frames,
                                                                            args.trackers))
            print(f"WebUAV-3M layout: {args.sequences} sequences, {args.frames:,} frames, {args.trackers} trackers")
            bench_analysis(root, made, codes, args.protocol, args.repeats)
        if args.startup:
            params = {"sequences": args.lasot_sequences, "frames": args.lasot_frames}
            prepared(root, "lasot", params, lambda: str(make_lasot_set(root, args.lasot_sequences,
                                                                       args.lasot_frames)))
            print(f"\nLaSOT layout: {args.lasot_sequences} sequences, {args.lasot_frames:,} frames")
            bench_startup(root, codes, args.repeats)


if __name__ == "__main__":
    main()
