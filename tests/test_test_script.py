"""tracking/test.py: a spawn pool over sequences, float results, resume, sharding, isolated failures, exit codes."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from lib.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "tracking" / "test.py"


def load_script():
    spec = importlib.util.spec_from_file_location("test_script_module", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_vot_stack(w, root, names=("alpha", "beta", "gamma"), n=5):
    """A VOT stack of tiny sequences (``w``: the conftest writers); returns {name: first box}."""
    first = {}
    for k, name in enumerate(names):
        for f in range(n):
            w.write_jpeg(root / name / f"{f + 1:08d}.jpg", seed=10 * k + f, size=(40, 60))
        boxes = np.array([[10.5 + k, 8.25 + f, 12.0, 9.5] for f in range(n)])
        w.write_text(root / name / "groundtruth.txt", w.boxes_text(boxes))
        first[name] = boxes[0]
    return first


def run(args, env=None):
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--no_progress"], capture_output=True, text=True,
                          timeout=300, env=env or dict(os.environ, OMP_NUM_THREADS="1"))


def test_pool_of_two_writes_float_results_and_a_rerun_skips_them(tmp_path, train_dataset_writers):
    first = make_vot_stack(train_dataset_writers, tmp_path / "stack")
    out = tmp_path / "out"
    result = run(["static_box", "default", "--dataset", f"vot:{tmp_path / 'stack'}", "--threads", "2",
                  "--save_dir", str(out)])
    assert result.returncode == 0, result.stdout + result.stderr
    folder = out / "test" / "tracking_results" / "static_box" / "default" / "vot_stack"
    for name, box in first.items():
        boxes = np.loadtxt(folder / f"{name}.txt", delimiter=",")
        assert boxes.shape == (5, 4)
        np.testing.assert_allclose(boxes, np.tile(box, (5, 1)))  # fractional: written as floats
        assert len(np.loadtxt(folder / f"{name}_time.txt")) == 5
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.txt")}
    again = run(["static_box", "default", "--dataset", f"vot:{tmp_path / 'stack'}", "--save_dir", str(out)])
    assert again.returncode == 0 and "0 tracked, 3 already done" in again.stdout
    assert stamps == {p.name: p.stat().st_mtime_ns for p in folder.glob("*.txt")}


def test_a_failing_sequence_is_reported_and_the_others_finish(tmp_path, train_dataset_writers):
    make_vot_stack(train_dataset_writers, tmp_path / "stack")
    os.remove(tmp_path / "stack" / "beta" / "00000003.jpg")
    out = tmp_path / "out"
    result = run(["static_box", "default", "--dataset", f"vot:{tmp_path / 'stack'}", "--save_dir", str(out)])
    assert result.returncode == 1
    assert "beta" in result.stderr and "00000003.jpg" in result.stderr
    folder = out / "test" / "tracking_results" / "static_box" / "default" / "vot_stack"
    assert (folder / "alpha.txt").is_file() and (folder / "gamma.txt").is_file()
    assert not (folder / "beta.txt").exists()
    assert "Traceback" in (folder / "errors.log").read_text()


def test_shards_partition_the_sequences_and_sequence_names_are_checked():
    script = load_script()
    names = [f"s{i}" for i in range(7)]
    seqs = [type("S", (), {"name": n})() for n in names]
    shards = [[s.name for s in script.select_sequences(seqs, None, f"{i}/3")] for i in range(3)]
    assert sorted(sum(shards, [])) == names and shards[1] == ["s1", "s4"]
    assert [s.name for s in script.select_sequences(seqs, ["s5", "s2"], None)] == ["s5", "s2"]
    with pytest.raises(KeyError, match="s9"):
        script.select_sequences(seqs, ["s9"], None)
    for bad in ("3/3", "1", "a/b", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            script.select_sequences(seqs, None, bad)


def test_usage_errors_exit_2_with_the_reason(tmp_path, capsys, train_dataset_writers):
    make_vot_stack(train_dataset_writers, tmp_path / "stack", names=("alpha",))
    script = load_script()
    dataset = f"vot:{tmp_path / 'stack'}"
    save = ["--save_dir", str(tmp_path / "empty_output")]
    assert script.main(["ostrack", "synth_tiny", "--dataset", dataset, *save]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert script.main(["static_box", "default", "--dataset", dataset, "--sequence", "nope", *save]) == 2
    assert "nope" in capsys.readouterr().err
    assert script.main(["static_box", "default", "--dataset", "no_such_set", *save]) == 2
    assert "no_such_set" in capsys.readouterr().err
    assert script.main(["magic", "default", "--dataset", dataset, *save]) == 2
    assert "unknown tracker" in capsys.readouterr().err


def test_a_results_folder_is_never_filled_by_two_different_models(tmp_path, capsys, train_dataset_writers):
    from lib.test.evaluation.results import MixedResultsError, claim_results_folder
    from lib.test.tracker.build import tracker_identity
    a, b, a_copy = tmp_path / "a.pth", tmp_path / "b.pth", tmp_path / "elsewhere" / "a.pth"
    a.write_bytes(b"weights A")
    b.write_bytes(b"weights B")
    a_copy.parent.mkdir()
    a_copy.write_bytes(b"weights A")
    id_a = tracker_identity("ostrack", "synth_tiny", a)
    assert id_a == tracker_identity("ostrack", "synth_tiny", a_copy)  # by content, not by path
    folder = tmp_path / "results"
    claim_results_folder(folder, id_a)
    claim_results_folder(folder, tracker_identity("ostrack", "synth_tiny", a_copy))  # the same model resumes
    with pytest.raises(MixedResultsError, match="checkpoint_blake2b"):
        claim_results_folder(folder, tracker_identity("ostrack", "synth_tiny", b))

    make_vot_stack(train_dataset_writers, tmp_path / "stack", names=("alpha",))
    script = load_script()
    args = ["static_box", "default", "--dataset", f"vot:{tmp_path / 'stack'}", "--save_dir", str(tmp_path / "out"),
            "--no_progress"]
    assert script.main(args) == 0
    run_file = tmp_path / "out/test/tracking_results/static_box/default/vot_stack/run.json"
    run_file.write_text('{"tracker": "something else"}')
    assert script.main(args) == 2 and "move or delete" in capsys.readouterr().err


def test_an_owner_replaces_another_models_results(tmp_path):
    from lib.test.evaluation.results import claim_results_folder
    folder = tmp_path / "results"
    claim_results_folder(folder, {"tracker": "a"})
    (folder / "seq.txt").write_text("1,2,3,4\n")
    claim_results_folder(folder, {"tracker": "a"}, replace_other=True)  # same model: results kept
    assert (folder / "seq.txt").is_file()
    claim_results_folder(folder, {"tracker": "b"}, replace_other=True)
    assert not (folder / "seq.txt").exists() and '"b"' in (folder / "run.json").read_text()
