"""MLKD-Track: score every student of an MLKD run on a validation split and export the best as an ordinary
one-stream tracker, which runs with no enhancer and no teacher.

    python tracking/select_student.py mlkd synth_night_ml                     # SynthUAV night validation split
    python tracking/select_student.py mlkd my_night --dataset my_val --checkpoint CK --threads 4

Each student k is exported as an ``ostrack`` config and checkpoint named ``<param>-student<k>`` (under the output
root: ``mlkd_track/<name>.yaml`` and ``checkpoints/ostrack/<name>/ep<TEST.EPOCH>.pth``, where ``tracking/test.py``
looks), tracked on ``--dataset`` with ``tracking/test.py ostrack <yaml>`` and scored with
``tracking/analysis_results.py --protocol webuav``. The student with the best AUC is exported again as
``<param>-mlkd_track``: test it with
``python tracking/test.py ostrack <output root>/mlkd_track/<param>-mlkd_track.yaml``.
The choice is made on a validation split only (never a test split: an error names the rule). Reruns reuse what
is there (exports are rewritten, finished result files are kept).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

from lib.paths import PROJECT_ROOT, apply_cli_roots, output_root  # noqa: E402
from lib.utils.bench import run_step, webuav_scores  # noqa: E402

TRACKING = PROJECT_ROOT / "tracking"
TEST_SPLITS = {"synth_uav", "synth_uav_night", "uavdark135", "nat2021", "nat2021_l", "darktrack2021"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker", choices=["mlkd"], help="the family of the run (mlkd)")
    parser.add_argument("param", help="its config (experiments/mlkd/<param>.yaml or a yaml path)")
    parser.add_argument("--checkpoint", help="the pool's checkpoint (default: epoch TEST.EPOCH of this config)")
    parser.add_argument("--dataset", default="synth_uav_val_night", help="validation benchmark (default "
                                                                          "synth_uav_val_night)")
    parser.add_argument("--threads", type=int, default=2, help="tracking worker processes")
    parser.add_argument("--data_root", help="dataset root (else TRACKING_DATA_ROOT, else <project>/data)")
    parser.add_argument("--save_dir", help="output root (else TRACKING_OUTPUT_ROOT, else <project>/output)")
    args = parser.parse_args(argv)
    if args.dataset.lower() in TEST_SPLITS:
        parser.error(f"--dataset {args.dataset} is a test benchmark: choose MLKD-Track on a validation split (e.g. "
                     f"synth_uav_val_night), then report on the test split")
    return args


def one_stream_config(cfg, spec: dict) -> dict:
    """The ``ostrack`` config of a student: every key the one-stream family knows, from the MLKD config, with the
    student's backbone."""
    from lib.config.ostrack.config import DEFAULTS
    from lib.models.mlkd import student_config

    def keep(defaults: dict, values) -> dict:
        return {key: keep(default, values[key]) if isinstance(default, dict) else values[key]
                for key, default in defaults.items() if key in values}

    out = keep(DEFAULTS, student_config(cfg, spec))
    out["MODEL"]["NETWORK"] = "ostrack"
    return out


def export_student(pool_state: dict, k: int, cfg, spec: dict, name: str) -> Path:
    """Write student ``k`` as ``ostrack`` config ``name`` and its checkpoint where ``tracking/test.py`` finds it;
    returns the yaml."""
    from lib.config.merge import save_config
    from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
    from lib.test.tracker.build import default_checkpoint
    prefix = f"students.{k}."
    state = {key[len(prefix):]: value for key, value in pool_state.items() if key.startswith(prefix)}
    config = output_root() / "mlkd_track" / f"{name}.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    save_config(one_stream_config(cfg, spec), config)
    checkpoint = default_checkpoint("ostrack", str(config), cfg.TEST.EPOCH)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(checkpoint, {"format": CHECKPOINT_FORMAT, "net": state, "mlkd_student": k})
    return config


def main(argv=None) -> dict:
    args = parse_args(argv)
    apply_cli_roots(args.data_root, args.save_dir)
    from lib.config import load_config
    from lib.models.mlkd.students import student_specs
    from lib.test.tracker.build import resolve_checkpoint
    from lib.train.run_training import config_name_of
    from lib.train.trainers.checkpoint import load_checkpoint
    cfg = load_config(args.tracker, args.param)
    pool_state = load_checkpoint(resolve_checkpoint(args.tracker, args.param, args.checkpoint))["net"]
    roots = ["--save_dir", str(output_root())] + (["--data_root", args.data_root] if args.data_root else [])
    base = config_name_of(args.param)
    specs = student_specs(cfg)
    scores = {}
    for k, spec in enumerate(specs):
        config = export_student(pool_state, k, cfg, spec, f"{base}-student{k}")
        run_step([sys.executable, TRACKING / "test.py", "ostrack", config, "--dataset", args.dataset, "--threads",
                  args.threads, "--no_progress", *roots])
        label = f"ostrack/{config.stem}"
        scores[k] = webuav_scores(args.dataset, [label], roots)[label]["auc"]
        print(f"student {k} ({spec['KIND']}, width {spec['EMBED_DIM']}, depth {spec['DEPTH']}): AUC "
              f"{scores[k]:.3f} on {args.dataset}")
    best = max(scores, key=lambda k: (scores[k], -k))  # ties: the lowest index
    config = export_student(pool_state, best, cfg, specs[best], f"{base}-mlkd_track")
    print(f"MLKD-Track = student {best} ({specs[best]['KIND']}); test it with: python tracking/test.py ostrack "
          f"{config}")
    result = {"best": best, "auc": scores, "config": str(config)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
