"""SynthUAV generator: on-disk format, determinism, resume, night twin, worker independence."""
from __future__ import annotations

import json
import re
import runpy
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from lib.synth import GenerationMismatchError, generate_split, make_montage
from lib.synth.constants import ABSENT_MAX_VISIBLE, FRAME_H, FRAME_W, GENERATOR_VERSION, SEQUENCE_LENGTHS
from lib.synth.scene import build_scene

PROJECT = Path(__file__).resolve().parents[1]
ANNOTATION_FILES = ("groundtruth_rect.txt", "absent.txt", "attributes.txt", "language.txt")
NUM = 3  # sequences per generated split in these tests: small, the whole file runs in seconds


def _all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def day_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth_day")
    generate_split(root, "train", num=NUM, seed=0, workers=1, progress=False)
    generate_split(root, "test", num=2, seed=0, workers=1, progress=False)
    return root


def _check_sequence(seq: Path, split: str, seed: int, index: int) -> None:
    frames = sorted((seq / "img").iterdir())
    n = len(frames)
    lo, hi = SEQUENCE_LENGTHS[split]
    assert lo <= n <= hi, f"{seq}: {n} frames"
    assert [f.name for f in frames] == [f"{i:06d}.jpg" for i in range(1, n + 1)]
    img = cv2.imread(str(frames[0]))
    assert img is not None and img.shape == (FRAME_H, FRAME_W, 3)

    gt_lines = (seq / "groundtruth_rect.txt").read_text().splitlines()
    absent_lines = (seq / "absent.txt").read_text().splitlines()
    assert len(gt_lines) == n and len(absent_lines) == n
    assert set(absent_lines) <= {"0", "1"}
    for t, (line, flag) in enumerate(zip(gt_lines, absent_lines)):
        if flag == "1":
            assert line == "0,0,0,0", f"{seq} frame {t + 1}: absent but box {line}"
            continue
        parts = line.split(",")
        assert len(parts) == 4 and all(re.fullmatch(r"\d+(\.\d{1,2})?", p) for p in parts), line
        x, y, w, h = map(float, parts)
        assert w > 0 and h > 0, f"{seq} frame {t + 1}: {line}"
        assert x >= 0 and y >= 0 and x + w <= FRAME_W + 1e-6 and y + h <= FRAME_H + 1e-6, line
    assert absent_lines[0] == "0", "target must be visible in frame 1"

    attrs = (seq / "attributes.txt").read_text().strip().split(",")
    assert len(attrs) == 17 and all(re.fullmatch(r"\d", a) for a in attrs)
    values = [int(a) for a in attrs]
    assert all(v in (0, 1) for v in values[:14]) and all(v in (0, 1, 2) for v in values[14:])
    assert values[6] == values[8] == values[13] == 0  # never simulated

    sentence = (seq / "language.txt").read_text()
    assert sentence.strip() and not sentence.endswith("\n") and "\n" not in sentence
    scene, _ = build_scene(seed, split, index)
    assert re.search(rf"\b{scene.target.colour_name}\b", sentence), sentence


def test_format(day_root):
    for split, num in (("train", NUM), ("test", 2)):
        folder = day_root / split
        names = sorted(p.name for p in folder.iterdir() if p.is_dir())
        assert names == [f"synth_{split}_{i:04d}" for i in range(num)]
        for i, name in enumerate(names):
            _check_sequence(folder / name, split, 0, i)
        record = json.loads((folder / "generation.json").read_text())
        assert record["seed"] == 0 and record["version"] == GENERATOR_VERSION
        assert record["frame_size"] == [FRAME_W, FRAME_H] and record["night"] is False


def test_absent_frames_follow_visibility():
    """Absent exactly when too little of the target is seen; frame 1 fully visible unless the scene starts with the
    target partly hidden (test_some_targets_start_partly_hidden_and_only_those)."""
    seen_absent = seen_partial = False
    for index in range(8):
        scene, ann = build_scene(0, "test", index)
        assert (ann.visible[0] == 1.0 or scene.start_hidden) and not ann.absent[0]
        assert np.all(ann.absent[ann.visible < ABSENT_MAX_VISIBLE])
        present = ~ann.absent
        assert np.all(ann.boxes[present, 2:] > 0) and np.all(ann.boxes[ann.absent] == 0)
        seen_absent |= bool(ann.absent.any())
        seen_partial |= bool(np.any(present & (ann.occluded > 0.2)))
    assert seen_absent and seen_partial, "the test split should contain occlusion / absence"


def test_deterministic_and_independent_of_workers(day_root, tmp_path):
    again, pooled = tmp_path / "again", tmp_path / "pooled"
    generate_split(again, "train", num=NUM, seed=0, workers=1, progress=False)
    generate_split(pooled, "train", num=NUM, seed=0, workers=2, progress=False)
    reference = _all_files(day_root / "train")
    assert len(reference) > NUM * 50
    assert _all_files(again / "train") == reference
    assert _all_files(pooled / "train") == reference


def test_other_seed_gives_other_data(day_root, tmp_path):
    generate_split(tmp_path, "train", num=1, seed=1, workers=1, progress=False)
    seq = "synth_train_0000/img/000001.jpg"
    assert (tmp_path / "train" / seq).read_bytes() != (day_root / "train" / seq).read_bytes()


def test_resume_skips_complete_and_cleans_stale(tmp_path):
    folder = tmp_path / "train"
    generate_split(tmp_path, "train", num=2, seed=0, workers=1, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in folder.glob("synth_*/**/*") if p.is_file()}
    assert stamps
    stale = folder / ".tmp_synth_train_0002"
    (stale / "img").mkdir(parents=True)
    (stale / "img" / "junk.jpg").write_bytes(b"half-written")
    other_stale = folder / ".tmp_synth_train_0007"
    other_stale.mkdir()

    names = generate_split(tmp_path, "train", num=3, seed=0, workers=1, progress=False)
    assert names == [f"synth_train_{i:04d}" for i in range(3)]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # complete sequences were not rewritten
    assert not list(folder.glob(".tmp_*"))
    assert not (folder / "synth_train_0002" / "img" / "junk.jpg").exists()
    _check_sequence(folder / "synth_train_0002", "train", 0, 2)

    assert json.loads((folder / "progress.json").read_text()) == {"num": 3, "complete": True}
    with pytest.raises(GenerationMismatchError, match=re.escape(str(folder))):
        generate_split(tmp_path, "train", num=3, seed=1, workers=1, progress=False)


def _progress(folder: Path) -> dict:
    return json.loads((folder / "progress.json").read_text())


def test_smaller_num_leaves_a_bigger_split_as_it_is(day_root, tmp_path):
    """--num 1 into a folder of 3: nothing is deleted, and the progress file still says 3, complete."""
    folder = tmp_path / "train"
    shutil.copytree(day_root / "train", folder)
    before = _all_files(folder)
    names = generate_split(tmp_path, "train", num=1, seed=0, workers=1, progress=False)
    assert names == [f"synth_train_{i:04d}" for i in range(NUM)]  # what the folder holds, not what was asked
    assert _progress(folder) == {"num": NUM, "complete": True}
    assert _all_files(folder) == before


def test_smaller_num_keeps_the_target_of_an_interrupted_run(day_root, tmp_path):
    """A run asked for 5 and stopped after 3; a later --num 2 must not mark the split complete."""
    folder = tmp_path / "train"
    shutil.copytree(day_root / "train", folder)
    (folder / "progress.json").write_text('{"num": 5, "complete": false}\n')
    generate_split(tmp_path, "train", num=2, seed=0, workers=1, progress=False)
    assert _progress(folder) == {"num": 5, "complete": False}


def test_progress_counts_sequences_beyond_the_record(day_root, tmp_path):
    """Sequence folders beyond what progress.json records (e.g. copied in) are part of the target."""
    folder = tmp_path / "train"
    shutil.copytree(day_root / "train", folder)
    (folder / "progress.json").write_text('{"num": 1, "complete": true}\n')
    generate_split(tmp_path, "train", num=2, seed=0, workers=1, progress=False)
    assert _progress(folder) == {"num": NUM, "complete": True}


def test_cli_says_when_num_is_below_what_exists(day_root, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TRACKING_DATA_SYNTH_UAV", raising=False)
    monkeypatch.setenv("TRACKING_DATA_ROOT", str(tmp_path))
    shutil.copytree(day_root / "train", tmp_path / "synth_uav" / "train")
    cli = runpy.run_path(str(PROJECT / "tracking" / "make_synthetic.py"), run_name="make_synthetic")
    cli["main"](["--split", "train", "--num", "1", "--data_root", str(tmp_path), "--workers", "1", "--no_progress"])
    out = capsys.readouterr().out
    assert f"{NUM} sequences" in out and "--num 1" in out and "left as" in out


def test_incomplete_sequence_folder_is_reported(tmp_path):
    generate_split(tmp_path, "train", num=1, seed=0, workers=1, progress=False)
    seq = tmp_path / "train" / "synth_train_0000"
    (seq / "language.txt").unlink()
    with pytest.raises(RuntimeError, match="synth_train_0000"):
        generate_split(tmp_path, "train", num=1, seed=0, workers=1, progress=False)


def test_night_twin(day_root):
    generate_split(day_root, "train", num=2, seed=0, night=True, workers=1, progress=False)
    for i in range(2):
        name = f"synth_train_{i:04d}"
        day, night = day_root / "train" / name, day_root / "train_night" / name
        for f in ANNOTATION_FILES:
            assert (day / f).read_bytes() == (night / f).read_bytes(), f"{name}/{f}"
        day_imgs, night_imgs = sorted((day / "img").iterdir()), sorted((night / "img").iterdir())
        assert [p.name for p in day_imgs] == [p.name for p in night_imgs]
        for k in (0, len(day_imgs) // 2):
            day_mean = cv2.imread(str(day_imgs[k])).mean()
            night_mean = cv2.imread(str(night_imgs[k])).mean()
            assert night_mean < 0.45 * day_mean, (name, k, day_mean, night_mean)
    assert json.loads((day_root / "train_night" / "generation.json").read_text())["night"] is True


def test_night_twin_must_match_day_seed(day_root):
    with pytest.raises(GenerationMismatchError, match="seed"):
        generate_split(day_root, "test", num=1, seed=5, night=True, workers=1, progress=False)


def test_montage(day_root, tmp_path):
    out = make_montage(day_root, tmp_path / "montage.png", splits=("train", "test"), n=3)
    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] > 2 * FRAME_W and img.shape[0] > FRAME_H


def test_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TRACKING_DATA_SYNTH_UAV", raising=False)
    monkeypatch.setenv("TRACKING_DATA_ROOT", str(tmp_path))  # restored after the test; the CLI exports it
    cli = runpy.run_path(str(PROJECT / "tracking" / "make_synthetic.py"), run_name="make_synthetic")
    cli["main"](["--split", "train", "--num", "1", "--data_root", str(tmp_path), "--workers", "1",
                 "--no_progress"])
    out = capsys.readouterr().out
    assert "1 sequences" in out and str(tmp_path / "synth_uav") in out
    assert (tmp_path / "synth_uav" / "train" / "synth_train_0000" / "groundtruth_rect.txt").is_file()


def test_look_alike_twin_crosses_the_target_and_the_sentence_tells_them_apart():
    """Twin scenes: a same-class, same-colour distractor passes the target mid-sequence, heading another way, and
    the sentence says how each of the two moves there (the only cue that separates them)."""
    from lib.synth.language import CROSSING_FRAMES, describe, motion_direction
    from lib.synth.scene import TWIN_CROSSING, TWIN_MIN_TURN, sequence_rngs
    twins = 0
    for index in range(12):
        scene, _ = build_scene(0, "test", index)
        sentence = describe(scene, sequence_rngs(0, "test", index)["language"])
        if scene.twin is None:
            assert scene.twin_crossing == -1
            assert all(d.colour_name != scene.target.colour_name or d.class_name != scene.target.class_name
                       for d in scene.distractors), "a look-alike without the twin's sentence"
            continue
        twins += 1
        target, twin, t = scene.target, scene.twin, scene.twin_crossing
        assert twin in scene.distractors
        assert (twin.class_name, twin.colour_name) == (target.class_name, target.colour_name)
        lo, hi = TWIN_CROSSING
        assert int(lo * scene.n_frames) <= t <= int(hi * scene.n_frames)
        gap = np.hypot(twin.path.x[t] - target.path.x[t], twin.path.y[t] - target.path.y[t])
        assert gap <= 0.6 * target.size + 1e-6, f"sequence {index}: twin {gap:.1f} px away at the crossing"
        turn = abs((twin.path.heading[t] - target.path.heading[t] + np.pi) % (2 * np.pi) - np.pi)
        assert turn >= TWIN_MIN_TURN - 1e-6
        own = motion_direction(target, 2 * CROSSING_FRAMES, t - CROSSING_FRAMES)
        other = motion_direction(twin, 2 * CROSSING_FRAMES, t - CROSSING_FRAMES)
        assert own in sentence, sentence
        if own != other:
            assert f"moving {other}" in sentence, sentence
    assert 2 <= twins <= 10, f"{twins} of 12 test scenes have a twin"


def test_some_targets_start_partly_hidden_and_only_those():
    """A share of scenes hide START_VISIBLE of the target in frame 1 under an occluder (the template is then a poor
    picture of it); frame 1 is never absent, and in every other scene its target is fully clear."""
    from lib.synth.scene import START_VISIBLE
    hidden = 0
    for index in range(16):
        scene, ann = build_scene(0, "test", index)
        assert not ann.absent[0] and ann.in_view[0] == 1.0
        if scene.start_hidden:
            hidden += 1
            assert START_VISIBLE[0] - 0.02 <= ann.visible[0] <= START_VISIBLE[1] + 0.02, ann.visible[0]
        else:
            assert ann.occluded[0] == 0.0
    assert 2 <= hidden <= 11, f"{hidden} of 16 test scenes start partly hidden"
