"""tracking/quickstart.py glue: stages run in order, the baselines score on the same sequences, the verdict and
the final JSON line. Training is replaced by template matching posing as the trained tracker (CI has no 6 minutes
to train); the real loop's figures are in the README."""
from __future__ import annotations

import importlib.util
import json

import cv2
import numpy as np

from lib.paths import PROJECT_ROOT


def load_quickstart():
    spec = importlib.util.spec_from_file_location("quickstart_module", PROJECT_ROOT / "tracking" / "quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def moving_square_stack(w, root, n=8):
    """Two VOT sequences of a textured square moving 4 px a frame on a smooth background."""
    rng = np.random.default_rng(0)
    patch = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
    for name in ("one", "two"):
        boxes = []
        for f in range(n):
            image = np.full((60, 100, 3), 90, np.uint8)
            x, y = 10 + 4 * f, 20 + (f if name == "two" else 0)
            image[y:y + 12, x:x + 12] = patch
            path = root / name / f"{f + 1:08d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
            boxes.append([x, y, 12, 12])
        w.write_text(root / name / "groundtruth.txt", w.boxes_text(np.array(boxes, float)))


def test_quickstart_reports_three_score_sets_and_checks_the_bars(tmp_path, monkeypatch, capsys,
                                                                 train_dataset_writers):
    from lib.test.evaluation.datasets import get_dataset
    moving_square_stack(train_dataset_writers, tmp_path / "stack")
    qs = load_quickstart()
    calls = []
    monkeypatch.setattr(qs, "make_data", lambda: calls.append("data"))
    monkeypatch.setattr(qs, "train", lambda no_progress: calls.append("train"))
    monkeypatch.setattr(qs, "get_dataset", lambda name: get_dataset(f"vot:{tmp_path / 'stack'}"))
    monkeypatch.setattr(qs, "TRACKER", "template_matching")
    code = qs.main(["--threads", "1", "--save_dir", str(tmp_path / "out"), "--data_root", str(tmp_path),
                    "--no_progress"])
    out = capsys.readouterr().out
    assert calls == ["data", "train"]
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(summary) == {"tracker", "tracker_shuffled_sentences", "static_baseline", "template_matching", "seconds"}
    # the stand-in tracker is template matching itself, so it cannot beat template matching: FAIL, exit 1
    assert summary["tracker"] == summary["template_matching"] and code == 1 and "FAIL" in out
    assert summary["tracker_shuffled_sentences"] == summary["tracker"]  # template matching reads no sentence
    assert "with shuffled sentences its AUC is" in out
    assert summary["template_matching"]["auc"] > 0.9 > 0.5 > summary["static_baseline"]["auc"]
    assert (tmp_path / "out" / "test" / "result_plots" / "quickstart" / "success.png").stat().st_size > 1000
    ok, verdict = qs.check_bars({"tracker": {"auc": 0.4}, "static_baseline": {"auc": 0.1},
                                 "template_matching": {"auc": 0.35}})
    assert ok and "4.0x" in verdict
    assert not qs.check_bars({"tracker": {"auc": 0.29}, "static_baseline": {"auc": 0.1},
                              "template_matching": {"auc": 0.2}})[0]


def test_quickstart_stops_when_sequences_are_lost(tmp_path, monkeypatch, capsys, train_dataset_writers):
    """A worker killed mid-run leaves 'lost' / 'not_started' outcomes, not 'failed': they must stop it too."""
    from lib.test.evaluation.datasets import get_dataset
    from lib.test.evaluation.running import Outcome
    moving_square_stack(train_dataset_writers, tmp_path / "stack")
    qs = load_quickstart()
    monkeypatch.setattr(qs, "make_data", lambda: None)
    monkeypatch.setattr(qs, "train", lambda no_progress: None)
    monkeypatch.setattr(qs, "get_dataset", lambda name: get_dataset(f"vot:{tmp_path / 'stack'}"))
    monkeypatch.setattr(qs, "TRACKER", "template_matching")
    monkeypatch.setattr(qs, "run_dataset", lambda sequences, *a, **k: [Outcome("one", "done", 8, 0.1),
                                                                       Outcome("two", "lost")])
    code = qs.main(["--threads", "2", "--save_dir", str(tmp_path / "out"), "--data_root", str(tmp_path),
                    "--no_progress"])
    assert code == 2 and "1 sequence(s) not tracked (two)" in capsys.readouterr().err
