"""Does AVLTrack's sentence matter? The README's evidence table, from the commands users run.

    python tracking/language_evidence.py                    # 3 seeds, SynthUAV, results under output/language_evidence
    python tracking/language_evidence.py --seeds 0 --out /tmp/evidence   # one seed, elsewhere

For each seed S (``tracking/train.py --seed S --save_dir OUT/seed_S``):

* ``avltrack/synth_tiny`` (trained with the sentences), tested with its sentences, with shuffled sentences (every
  sequence gets another one's: ``tracking/test.py --language shuffled``) and with none (``--language none``);
* ``avltrack/synth_tiny_nolang``: the same network and budget trained without sentences (``DATA.TOKENIZE: false``),
  tested without;
* ``ostrack/synth_tiny``: the one-stream baseline of the same size (no language branch at all).

Every result is scored with ``tracking/analysis_results.py --protocol webuav`` (AUC, precision, normalised precision
as the curve mean, cAUC, mAcc) and reported as the mean and standard deviation over the seeds, beside FLOPs and
CPU latency per frame at batch 1 (``tracking/profile_model.py``, the sentence encoded once as a tracker does).
Every AUC is also given on parts of the test split (``analysis_results.py --sequence``): the sequences where a
look-alike (same class and colour) crosses the target, those where the target starts partly hidden (the template is
a poor picture of it; the sentence says what to look for), and the others.
Everything resumes: finished trainings and result files are reused, so a rerun only adds what is missing.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from lib.paths import PROJECT_ROOT, apply_cli_roots, dataset_root, output_root
from lib.test.evaluation.variants import results_param
from lib.utils.bench import evidence_parser, mean_std, run_step, webuav_scores

TRACKING = PROJECT_ROOT / "tracking"
METRICS = ("auc", "precision", "norm_precision", "cauc", "macc")
# (row label, family, config, test-time --language)
RUNS = [
    ("AVLTrack, with its sentences", "avltrack", "synth_tiny", "given"),
    ("same checkpoints, shuffled sentences", "avltrack", "synth_tiny", "shuffled"),
    ("same checkpoints, no sentence", "avltrack", "synth_tiny", "none"),
    ("AVLTrack trained without language", "avltrack", "synth_tiny_nolang", "none"),
    ("one-stream baseline (OSTrack), same size", "ostrack", "synth_tiny", "given"),
]


def results_label(family: str, config: str, language: str) -> str:
    return f"{family}/{results_param(config, language=language)}"


def scene_parts() -> dict[str, list[str]]:
    """{part: sequence names} of the SynthUAV test split, from its scenes (rebuilt from the seed the split was
    generated with: no extra file in the benchmark's format): a look-alike twin crosses the target; the target
    starts partly hidden (a poor template); neither. The first two may overlap."""
    from lib.synth import GENERATION_FILE
    from lib.synth.scene import build_scene
    folder = dataset_root("synth_uav") / "test"
    seed = json.loads((folder / GENERATION_FILE).read_text())["seed"]
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name.startswith("synth_test_"))
    parts: dict[str, list[str]] = {"look-alike": [], "starts hidden": [], "other": []}
    for name in names:
        scene, _ = build_scene(seed, "test", int(name.rsplit("_", 1)[1]))
        if scene.twin is not None:
            parts["look-alike"].append(name)
        if scene.start_hidden:
            parts["starts hidden"].append(name)
        if scene.twin is None and not scene.start_hidden:
            parts["other"].append(name)
    return parts


def seed_scores(seed: int, out: Path, data_root: str | None, threads: int, parts: dict) -> dict[str, dict]:
    """{row label: webuav scores} for one seed: train (or resume) each config, track, score; each row also holds
    ``part_auc``: {part: AUC on that part of the split}."""
    save_dir = out / f"seed_{seed}"
    roots = ["--save_dir", save_dir] + (["--data_root", data_root] if data_root else [])
    for family, config in dict.fromkeys((f, c) for _, f, c, _ in RUNS):
        run_step([sys.executable, TRACKING / "train.py", "--script", family, "--config", config, "--seed", str(seed),
                  "--resume", "auto", "--no_progress", *roots])
    labels = {}
    for row, family, config, language in RUNS:
        run_step([sys.executable, TRACKING / "test.py", family, config, "--dataset", "synth_uav", "--threads",
                  str(threads), "--language", language, "--no_progress", *roots])
        labels[row] = results_label(family, config, language)
    scores = webuav_scores("synth_uav", list(labels.values()), roots)
    part_scores = {part: webuav_scores("synth_uav", list(labels.values()), roots, names)
                   for part, names in parts.items()}
    return {row: {**{k: scores[label][k] for k in METRICS},
                  "part_auc": {part: part_scores[part][label]["auc"] for part in parts}}
            for row, label in labels.items()}


def model_cost(family: str, config: str, language: str) -> dict:
    sentence = [] if language == "given" else ["--sentence", ""]
    out = run_step([sys.executable, TRACKING / "profile_model.py", "--script", family, "--config", config, "--json",
                    *(sentence if family == "avltrack" else [])])
    return json.loads(out.strip().splitlines()[-1])


def part_table(per_seed: list[dict], parts: dict) -> str:
    header = "| model | " + " | ".join(f"AUC, {part} ({len(names)} sequences)" for part, names in parts.items()) + " |"
    lines = [header, "|" + "---|" * (len(parts) + 1)]
    for row, family, config, language in RUNS:
        cells = [mean_std([scores[row]["part_auc"][part] for scores in per_seed]) for part in parts]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(per_seed: list[dict], costs: dict) -> str:
    header = ("| model (SynthUAV test, `--protocol webuav`, mean ± std over seeds) | AUC | Precision | "
              "Norm. precision | cAUC | mAcc | GFLOPs | CPU ms/frame |")
    lines = [header, "|" + "---|" * 8]
    for row, family, config, language in RUNS:
        cells = [mean_std([scores[row][metric] for scores in per_seed]) for metric in METRICS]
        cost = costs[row]
        cells += [f"{cost['flops'] / 1e9:.3f}", f"{cost['latency_ms']:.2f}"]
        lines.append(f"| {row} (`{results_label(family, config, language)}`) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = evidence_parser(__doc__, "language_evidence")
    args = parser.parse_args(argv)
    apply_cli_roots(args.data_root, None)
    out = (args.out or output_root() / "language_evidence").resolve()
    parts = scene_parts()
    per_seed = [seed_scores(seed, out, args.data_root, args.threads, parts) for seed in args.seeds]
    costs = {row: model_cost(family, config, language) for row, family, config, language in RUNS}
    print(table(per_seed, costs) + "\n\n" + part_table(per_seed, parts))
    (out / "evidence.json").write_text(json.dumps({"seeds": args.seeds, "scores": per_seed, "costs": costs,
                                                   "parts": parts}, indent=1))


if __name__ == "__main__":
    main()
