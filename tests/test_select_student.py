"""tracking/select_student.py: every student of an MLKD checkpoint is scored on a SynthUAV night validation split,
the best is exported as an ordinary ostrack config + checkpoint (MLKD-Track) that tracking/test.py runs as it is,
and a test split is refused for the choice."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lib.config import load_config
from lib.models import build_network
from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TEACHER = ("MODEL:\n  BACKBONE: {EMBED_DIM: 32, DEPTH: 2, NUM_HEADS: 2}\n  HEAD: {NUM_CHANNELS: 16}\n"
           "DATA:\n  SEARCH: {SIZE: 64}\n  TEMPLATE: {SIZE: 32}\nTEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64}\n")


def pool_yaml(teacher: Path) -> str:
    return ("MODEL:\n  HEAD: {NUM_CHANNELS: 16}\nDATA:\n  SEARCH: {SIZE: 64}\n  TEMPLATE: {SIZE: 32}\n"
            "TEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64, EPOCH: 1}\n"
            f"MLKD:\n  TEACHER: {{SCRIPT: ostrack, CONFIG: '{teacher}'}}\n"
            "  STUDENTS:\n    EMBED_DIM: [16, 24]\n    DEPTH: [1, 2]\n    NUM_HEADS: [2, 2]\n"
            "    KIND: [spatial, response]\n    DISTILL_WEIGHT: [1.0, 1.0]\n    BACKBONE_MULTIPLIER: [1.0, 1.0]\n"
            "    PRETRAIN_FILE: ['', '']\n")


def test_the_best_student_is_exported_and_runs_through_test_py(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    subprocess.run([sys.executable, ROOT / "tracking" / "make_synthetic.py", "--split", "val", "--night", "--num", "2",
                    "--data_root", data], check=True, capture_output=True)
    teacher = tmp_path / "teacher.yaml"
    teacher.write_text(TEACHER)
    config = tmp_path / "night_pool.yaml"
    config.write_text(pool_yaml(teacher))
    torch.manual_seed(0)
    pool = build_network(load_config("mlkd", str(config)), load_pretrained=False)
    checkpoint = save_checkpoint(tmp_path / "pool.pth", {"format": CHECKPOINT_FORMAT, "net": pool.state_dict()})
    roots = ["--data_root", str(data), "--save_dir", str(out)]
    proc = subprocess.run([sys.executable, ROOT / "tracking" / "select_student.py", "mlkd", str(config),
                           "--checkpoint", str(checkpoint), *roots], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    aucs = {int(k): v for k, v in result["auc"].items()}
    assert sorted(aucs) == [0, 1] and result["best"] == max(aucs, key=lambda k: (aucs[k], -k))
    exported = Path(result["config"])
    assert exported == out / "mlkd_track" / "night_pool-mlkd_track.yaml"
    state = load_checkpoint(out / "checkpoints" / "ostrack" / "night_pool-mlkd_track" / "ep0001.pth")["net"]
    best = pool.students[result["best"]].state_dict()
    assert state.keys() == best.keys() and all(torch.equal(state[k], best[k]) for k in best)
    # MLKD-Track is an ordinary one-stream tracker: tracking/test.py runs it with no teacher and no enhancer
    proc = subprocess.run([sys.executable, ROOT / "tracking" / "test.py", "ostrack", str(exported), "--dataset",
                           "synth_uav_val_night", "--threads", "1", "--no_progress", *roots],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = out / "test" / "tracking_results" / "ostrack" / "night_pool-mlkd_track" / "synth_uav_val_night"
    assert sorted(p.name for p in results.glob("synth_val_*.txt") if p.stem[-1].isdigit()) == [
        "synth_val_0000.txt", "synth_val_0001.txt"]


def test_a_test_split_is_refused_for_the_choice(capsys):
    from tracking.select_student import main
    with pytest.raises(SystemExit):
        main(["mlkd", "synth_night_ml", "--dataset", "uavdark135"])
    assert "uavdark135 is a test benchmark" in capsys.readouterr().err
