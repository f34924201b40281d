"""tracking/test.py: a spawn pool over sequences, float results, resume, sharding, isolated failures, exit codes,
checkpoints that do not load (one usage error, folder left unclaimed), a worker killed mid-run."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from lib.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "tracking" / "test.py"
DYING_TRACKER_DRIVER = PROJECT_ROOT / "tests" / "_stand_in_trackers.py"


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
    (folder / "seq.txt").write_text("1,2,3,4\n")
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


def test_a_claimed_folder_without_results_is_free_for_another_model(tmp_path):
    from lib.test.evaluation.results import claim_results_folder
    folder = tmp_path / "results"
    claim_results_folder(folder, {"tracker": "a"})  # e.g. a run whose sequences all failed
    (folder / "errors.log").write_text("Traceback ...\n")
    claim_results_folder(folder, {"tracker": "b"})  # nothing to mix with: no refusal
    assert '"b"' in (folder / "run.json").read_text()


def test_an_owner_replaces_another_models_results(tmp_path):
    from lib.test.evaluation.results import claim_results_folder
    folder = tmp_path / "results"
    claim_results_folder(folder, {"tracker": "a"})
    (folder / "seq.txt").write_text("1,2,3,4\n")
    claim_results_folder(folder, {"tracker": "a"}, replace_other=True)  # same model: results kept
    assert (folder / "seq.txt").is_file()
    claim_results_folder(folder, {"tracker": "b"}, replace_other=True)
    assert not (folder / "seq.txt").exists() and '"b"' in (folder / "run.json").read_text()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Training-format checkpoints: 'good' of synth_tiny, 'other_config' of a narrower synth_tiny (width 64), a
    truncated copy of the good one, an HTML page (a failed download) and an empty file."""
    import torch

    from lib.config import load_config
    from lib.models import build_network
    from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
    root = tmp_path_factory.mktemp("checkpoints")
    narrow = root / "synth_narrow.yaml"
    narrow.write_text((PROJECT_ROOT / "experiments/ostrack/synth_tiny.yaml").read_text()
                      .replace("EMBED_DIM: 128", "EMBED_DIM: 64"))
    paths = {}
    for name, param in (("good", "synth_tiny"), ("other_config", str(narrow))):
        torch.manual_seed(0)
        net = build_network(load_config("ostrack", param), load_pretrained=False)
        paths[name] = save_checkpoint(root / f"{name}.pth", {"format": CHECKPOINT_FORMAT, "net": net.state_dict()})
    paths["truncated"] = root / "truncated.pth"
    paths["truncated"].write_bytes(paths["good"].read_bytes()[:100_000])
    paths["html"] = root / "html.pth"
    paths["html"].write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>\n")
    paths["empty"] = root / "empty.pth"
    paths["empty"].write_bytes(b"")
    return paths


def test_a_checkpoint_that_does_not_load_is_one_usage_error_for_any_threads(tmp_path, capsys, checkpoints,
                                                                              train_dataset_writers):
    make_vot_stack(train_dataset_writers, tmp_path / "stack", names=("alpha", "beta"))
    args = ["ostrack", "synth_tiny", "--dataset", f"vot:{tmp_path / 'stack'}", "--save_dir", str(tmp_path / "out")]
    folder = tmp_path / "out/test/tracking_results/ostrack/synth_tiny/vot_stack"
    # --threads 2 in a subprocess: a pool whose workers fail at start-up used to be respawned without end
    result = run([*args, "--threads", "2", "--checkpoint", str(checkpoints["other_config"])])
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(checkpoints["other_config"]) in result.stderr and "synth_tiny" in result.stderr
    assert "does not fit this config" in result.stderr and "Traceback" not in result.stderr
    script = load_script()
    reasons = {"other_config": "does not fit this config: shapes", "truncated": "truncated or corrupt",
               "html": "not a checkpoint: torch files are zip archives, this one starts with the text '<!DOCTYPE",
               "empty": "not a checkpoint: it is empty (0 bytes"}
    for bad, reason in reasons.items():
        assert script.main([*args, "--threads", "1", "--no_progress", "--checkpoint", str(checkpoints[bad])]) == 2
        err = capsys.readouterr().err
        assert str(checkpoints[bad]) in err and "synth_tiny.yaml" in err and reason in err
        assert "weights_only" not in err and len(err.strip().splitlines()) == 1, err  # no load_state_dict wall
    assert not (folder / "run.json").exists()  # nothing claimed by a run that could not start


def test_a_failed_start_leaves_the_folder_free_for_the_fixed_checkpoint(tmp_path, capsys, checkpoints,
                                                                         train_dataset_writers):
    make_vot_stack(train_dataset_writers, tmp_path / "stack", names=("alpha",))
    checkpoint = tmp_path / "ep0008.pth"
    checkpoint.write_bytes(checkpoints["truncated"].read_bytes())  # an interrupted copy
    args = ["ostrack", "synth_tiny", "--dataset", f"vot:{tmp_path / 'stack'}", "--save_dir", str(tmp_path / "out"),
            "--checkpoint", str(checkpoint), "--no_progress"]
    script = load_script()
    assert script.main(args) == 2 and "truncated or corrupt" in capsys.readouterr().err
    checkpoint.write_bytes(checkpoints["good"].read_bytes())  # the copy redone
    assert script.main(args) == 0, capsys.readouterr().err
    boxes = np.loadtxt(tmp_path / "out/test/tracking_results/ostrack/synth_tiny/vot_stack/alpha.txt", delimiter=",")
    assert boxes.shape == (5, 4) and np.all(np.isfinite(boxes))


def test_a_worker_killed_mid_run_is_reported_and_a_rerun_resumes(tmp_path, train_dataset_writers):
    first = make_vot_stack(train_dataset_writers, tmp_path / "stack")
    out = tmp_path / "out"
    folder = out / "test" / "tracking_results" / "static_box" / "default" / "vot_stack"
    args = ["static_box", "default", "--dataset", f"vot:{tmp_path / 'stack'}", "--threads", "2", "--save_dir",
            str(out), "--no_progress"]
    # beta's worker SIGKILLs itself (as the OOM killer would) once alpha is finished
    result = subprocess.run([sys.executable, str(DYING_TRACKER_DRIVER), str(first["beta"][0]),
                             str(folder / "alpha.txt"), *args], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 1, result.stdout + result.stderr
    lost = re.search(r"worker process died.*Lost while being tracked: ([^.]*)\.", result.stderr)
    assert lost and "beta" in lost.group(1).split(", "), result.stderr  # (gamma too, if it had started)
    assert (folder / "alpha.txt").is_file() and not (folder / "beta.txt").exists()
    assert "=== beta: lost" in (folder / "errors.log").read_text()
    unfinished = [n for n in first if not (folder / f"{n}.txt").exists()]
    again = run(args[:-1])  # the real static box: resumes what the killed run did not finish
    assert again.returncode == 0 and f"{len(unfinished)} tracked, {3 - len(unfinished)} already done" in again.stdout
    for name, box in first.items():
        np.testing.assert_allclose(np.loadtxt(folder / f"{name}.txt", delimiter=","), np.tile(box, (5, 1)))


def test_workers_that_cannot_build_the_tracker_fail_each_sequence_instead_of_respawning(tmp_path, checkpoints,
                                                                                         train_dataset_writers):
    """Without tracking/test.py's check in the parent (e.g. the quick start's pool), every worker's build fails."""
    make_vot_stack(train_dataset_writers, tmp_path / "stack", names=("alpha", "beta"))
    code = f"""
import functools, json
from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.running import run_dataset
from lib.test.tracker.build import build_tracker
factory = functools.partial(build_tracker, "ostrack", "synth_tiny", {str(checkpoints["html"])!r})
outcomes = run_dataset(get_dataset({f"vot:{tmp_path / 'stack'}"!r}), factory, {str(tmp_path / "out")!r}, threads=2,
                       progress=False)
print(json.dumps({{o.sequence: [o.status, o.error.strip().splitlines()[-1]] for o in outcomes}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(outcomes) == ["alpha", "beta"]
    for status, last_line in outcomes.values():
        assert status == "failed" and str(checkpoints["html"]) in last_line and "not a checkpoint" in last_line


def test_halting_off_writes_to_its_own_folder_and_models_without_halting_refuse_it(tmp_path, capsys, checkpoints,
                                                                                   train_dataset_writers):
    import torch

    from lib.config import load_config
    from lib.models import build_network
    from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
    make_vot_stack(train_dataset_writers, tmp_path / "stack", names=("alpha",))
    yaml_path = tmp_path / "tiny_halting.yaml"
    yaml_path.write_text("MODEL:\n  BACKBONE: {EMBED_DIM: 64, DEPTH: 2, NUM_HEADS: 4}\n  HEAD: {NUM_CHANNELS: 32}\n"
                         "  LANGUAGE: {FUSE_AFTER: [-1, 0], CONTRASTIVE_DIM: 64}\n  HALTING: {ENABLED: true}\n"
                         "DATA:\n  MAX_TEXT_LEN: 32\n  SEARCH: {SIZE: 128}\n  TEMPLATE: {SIZE: 64}\n"
                         "TRAIN: {HALT_TARGET_DEPTH: 1}\nTEST: {TEMPLATE_SIZE: 64, SEARCH_SIZE: 128}\n")
    torch.manual_seed(0)
    net = build_network(load_config("avltrack", str(yaml_path)), load_pretrained=False)
    checkpoint = save_checkpoint(tmp_path / "ep0008.pth", {"format": CHECKPOINT_FORMAT, "net": net.state_dict()})
    script = load_script()
    args = ["avltrack", str(yaml_path), "--dataset", f"vot:{tmp_path / 'stack'}", "--save_dir", str(tmp_path / "out"),
            "--checkpoint", str(checkpoint), "--no_progress"]
    results = tmp_path / "out/test/tracking_results/avltrack"
    runs = (([], "tiny_halting", True), (["--halting", "off"], "tiny_halting-halting_off", False),
            (["--halting", "off", "--language", "none"], "tiny_halting-lang_none-halting_off", False))
    for extra, folder, halting in runs:
        assert script.main([*args, *extra]) == 0, capsys.readouterr().err
        run = json.loads((results / folder / "vot_stack" / "run.json").read_text())
        assert run["test_settings"]["HALTING"] is halting and (results / folder / "vot_stack" / "alpha.txt").is_file()
    assert script.main([*args, "--halting", "on"]) == 0  # the config's own setting: the default folder, resumed
    assert "0 tracked, 1 already done" in capsys.readouterr().out
    ostrack = ["ostrack", "synth_tiny", "--dataset", f"vot:{tmp_path / 'stack'}", "--save_dir", str(tmp_path / "out"),
               "--checkpoint", str(checkpoints["good"]), "--halting", "off", "--no_progress"]
    assert script.main(ostrack) == 2
    err = capsys.readouterr().err
    assert "--halting off: ostrack/synth_tiny has no token halting" in err and "synth_tiny.yaml" in err
    assert not (tmp_path / "out/test/tracking_results/ostrack").exists()
    from lib.test.tracker.build import tracker_identity
    assert "HALTING" not in tracker_identity("ostrack", "synth_tiny", checkpoints["good"])["test_settings"]
