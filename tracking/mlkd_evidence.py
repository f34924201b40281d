"""Does MLKD's distillation help a compact night tracker? The README's MLKD evidence table, from the commands users run.

    python tracking/mlkd_evidence.py                        # 3 seeds, SynthUAV night, under output/mlkd_evidence
    python tracking/mlkd_evidence.py --seeds 0 --out /tmp/mlkd   # one seed, elsewhere

For each seed S (``tracking/train.py --seed S --save_dir OUT/seed_S``):

* the teacher's tracker: ``ostrack/synth_tiny`` trained on SynthUAV by day (the quick start's model);
* ``mlkd/synth_night_alone`` (the compact student trained alone on night frames, no distillation),
  ``mlkd/synth_night_{hint,spatial,response,attention}`` (single-student distillation, one term each) and
  ``mlkd/synth_night_ml`` (four students, one per term, in the mutual-learning room);
* ``tracking/select_student.py mlkd synth_night_ml``: every mutual student scored on the night *validation* split,
  the best exported as MLKD-Track (an ordinary ``ostrack`` config + checkpoint).

Then everything is tracked on the SynthUAV night test split (``tracking/test.py``): the day tracker on the raw
frames, the teacher (``--enhancer``: DarkLighter in front of the day tracker), each trained student and MLKD-Track,
and scored with ``tracking/analysis_results.py --protocol webuav`` (mean ± std over the seeds). Parameters, FLOPs
and CPU latency at batch 1 come from ``tracking/profile_model.py``, run for the teacher and MLKD-Track in turn
``--rounds`` times: their latency ratio is the median of the per-round ratios (the machine is shared and noisy).
Everything resumes: finished trainings and result files are reused, so a rerun only adds what is missing.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

from lib.paths import PROJECT_ROOT, apply_cli_roots, output_root  # noqa: E402
from lib.utils.bench import evidence_parser, mean_std, run_step, webuav_scores  # noqa: E402

TRACKING = PROJECT_ROOT / "tracking"
ENHANCER = "darklighter/Epoch193.pth"
KINDS = ("hint", "spatial", "response", "attention")
MUTUAL = "synth_night_ml"
METRICS = ("auc", "precision", "norm_precision")
COST_MODELS = ("day tracker", "teacher", "student")  # one student architecture: every row of students shares it


def rows(save_dir: Path) -> list[tuple[str, str, list, str]]:
    """(row label, results label, ``tracking/test.py`` arguments, cost model) of one seed's folder."""
    exported = save_dir / "mlkd_track"
    out = [("day tracker (`ostrack/synth_tiny`), raw night frames", "ostrack/synth_tiny", ["ostrack", "synth_tiny"],
            "day tracker"),
           ("teacher: DarkLighter + the day tracker", "ostrack/synth_tiny-enh_Epoch193",
            ["ostrack", "synth_tiny", "--enhancer", ENHANCER], "teacher"),
           ("student alone on night frames, no distillation", "mlkd/synth_night_alone", ["mlkd", "synth_night_alone"],
            "student")]
    out += [(f"single student, {kind} distillation", f"mlkd/synth_night_{kind}", ["mlkd", f"synth_night_{kind}"],
             "student") for kind in KINDS]
    out += [(f"mutual learning, student {k} ({kind})", f"ostrack/{MUTUAL}-student{k}",
             ["ostrack", exported / f"{MUTUAL}-student{k}.yaml"], "student") for k, kind in enumerate(KINDS)]
    out.append(("MLKD-Track (the mutual student best on night validation)", f"ostrack/{MUTUAL}-mlkd_track",
                ["ostrack", exported / f"{MUTUAL}-mlkd_track.yaml"], "student"))
    return out


def seed_scores(seed: int, out: Path, data_root: str | None, threads: int) -> dict:
    """Train (or resume) every model of one seed, choose MLKD-Track, track and score the night test split."""
    save_dir = out / f"seed_{seed}"
    roots = ["--save_dir", save_dir] + (["--data_root", data_root] if data_root else [])
    trainings = [("ostrack", "synth_tiny"), ("mlkd", "synth_night_alone"),
                 *[("mlkd", f"synth_night_{kind}") for kind in KINDS], ("mlkd", MUTUAL)]
    for family, config in trainings:
        run_step([sys.executable, TRACKING / "train.py", "--script", family, "--config", config, "--seed", str(seed),
                  "--resume", "auto", "--no_progress", *roots])
    selection = json.loads(run_step([sys.executable, TRACKING / "select_student.py", "mlkd", MUTUAL, "--threads",
                                     str(threads), *roots]).strip().splitlines()[-1])
    labels = {}
    for row, label, test_args, _ in rows(save_dir):
        run_step([sys.executable, TRACKING / "test.py", *test_args, "--dataset", "synth_uav_night", "--threads",
                  str(threads), "--no_progress", *roots])
        labels[row] = label
    scores = webuav_scores("synth_uav_night", list(labels.values()), roots)
    return {"scores": {row: {k: scores[label][k] for k in METRICS} for row, label in labels.items()},
            "mlkd_track": selection["best"], "val_auc": selection["auc"]}


def model_costs(save_dir: Path, rounds: int) -> dict:
    """{cost model: profile_model.py figures}, the teacher and the student timed in turn ``rounds`` times; the
    teacher / student latency ratio is the median of the rounds' ratios."""
    student = save_dir / "mlkd_track" / f"{MUTUAL}-mlkd_track.yaml"
    commands = {"day tracker": ["--script", "ostrack", "--config", "synth_tiny"],
                "teacher": ["--script", "ostrack", "--config", "synth_tiny", "--enhancer", ENHANCER],
                "student": ["--script", "ostrack", "--config", student]}
    runs: dict[str, list[dict]] = {name: [] for name in COST_MODELS}
    for _ in range(rounds):
        for name in COST_MODELS:
            out = run_step([sys.executable, TRACKING / "profile_model.py", *commands[name], "--json"])
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
    costs = {name: dict(results[0], latency_ms=statistics.median(r["latency_ms"] for r in results))
             for name, results in runs.items()}
    costs["teacher_over_student"] = statistics.median(
        t["latency_ms"] / s["latency_ms"] for t, s in zip(runs["teacher"], runs["student"]))
    return costs


def table(per_seed: list[dict], costs: dict, save_dir: Path) -> str:
    header = ("| model (SynthUAV night test, `--protocol webuav`, mean ± std over seeds) | AUC | Precision | "
              "Norm. precision | parameters | GFLOPs | CPU ms/frame |")
    lines = [header, "|" + "---|" * 7]
    for row, label, _, cost_model in rows(save_dir):
        cells = [mean_std([seed["scores"][row][metric] for seed in per_seed]) for metric in METRICS]
        cost = costs[cost_model]
        cells += [f"{cost['params'] / 1e6:.2f} M", f"{cost['flops'] / 1e9:.3f}", f"{cost['latency_ms']:.2f}"]
        lines.append(f"| {row} (`{label}`) | " + " | ".join(cells) + " |")
    chosen = ", ".join(f"seed {s}: student {seed['mlkd_track']}" for s, seed in enumerate(per_seed))
    lines.append(f"\nMLKD-Track: {chosen}. Teacher / MLKD-Track latency: {costs['teacher_over_student']:.1f}x "
                 f"(median of interleaved rounds).")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = evidence_parser(__doc__, "mlkd_evidence")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved profiling rounds (teacher, student)")
    args = parser.parse_args(argv)
    apply_cli_roots(args.data_root, None)
    out = (args.out or output_root() / "mlkd_evidence").resolve()
    per_seed = [seed_scores(seed, out, args.data_root, args.threads) for seed in args.seeds]
    first = out / f"seed_{args.seeds[0]}"
    costs = model_costs(first, args.rounds)
    print(table(per_seed, costs, first))
    (out / "evidence.json").write_text(json.dumps({"seeds": args.seeds, "per_seed": per_seed, "costs": costs},
                                                  indent=1))


if __name__ == "__main__":
    main()
