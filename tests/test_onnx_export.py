"""ONNX export and the onnxruntime backend (lib/deploy, tracking/export_onnx.py, tracking/test.py --backend):
each family's per-frame network exports and matches PyTorch within 1e-4 (token halting with data-dependent token
counts included), the backend tracks a SynthUAV sequence to the same boxes, a missing or stale file is refused, and
the PyTorch path never imports onnx."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import save_tiny_tracker

from lib.paths import PROJECT_ROOT

pytest.importorskip("onnxruntime")

from lib.deploy.frame_network import FrameNetwork  # noqa: E402
from lib.deploy.onnx_backend import OnnxNetwork, map_differences  # noqa: E402
from lib.deploy.onnx_export import OnnxFileError, check_onnx_file, export_frame_network, read_record  # noqa: E402
from lib.test.tracker.build import build_tracker  # noqa: E402

SIZES = "DATA:\n  SEARCH: {SIZE: 64}\n  TEMPLATE: {SIZE: 32}\nTEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64}\n"
OSTRACK = "MODEL:\n  BACKBONE: {EMBED_DIM: 32, DEPTH: 3, NUM_HEADS: 2}\n  HEAD: {NUM_CHANNELS: 16}\n" + SIZES
OSTRACK_CE = ("MODEL:\n  BACKBONE: {EMBED_DIM: 32, DEPTH: 3, NUM_HEADS: 2, CE_LOC: [1], CE_KEEP_RATIO: [0.5]}\n"
              "  HEAD: {NUM_CHANNELS: 16}\n" + SIZES)
# gate 1 / 1: with random weights tokens halt after one to three blocks, so the pruned path drops tokens
AVLTRACK = ("MODEL:\n  BACKBONE: {{EMBED_DIM: 32, DEPTH: 4, NUM_HEADS: 2}}\n  HEAD: {{NUM_CHANNELS: 16}}\n"
            "  LANGUAGE: {{FUSE_AFTER: [-1, 0, 1], CONTRASTIVE_DIM: 32, FUSION_HEADS: 2}}\n"
            "  HALTING: {{ENABLED: {halting}, GATE_SCALE: 1.0, GATE_BIAS: 1.0}}\n"
            "DATA:\n  MAX_TEXT_LEN: 16\n  SEARCH: {{SIZE: 64}}\n  TEMPLATE: {{SIZE: 32}}\n"
            "TRAIN: {{HALT_TARGET_DEPTH: 1}}\nTEST: {{TEMPLATE_SIZE: 32, SEARCH_SIZE: 64, HALTING: {test_halting}}}\n")


def crops(seed: int, count: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    template = torch.randn(1, 3, 32, 32, generator=generator)
    return [(template, torch.randn(1, 3, 64, 64, generator=generator)) for _ in range(count)]


def max_map_difference(frame_net: FrameNetwork, session: OnnxNetwork, frames, text=None) -> float:
    return max(map_differences(frame_net, session, frames, text).values())


@pytest.mark.parametrize("name,family,yaml_text", [
    ("ostrack", "ostrack", OSTRACK),
    ("ostrack_ce", "ostrack", OSTRACK_CE),
    ("avltrack", "avltrack", AVLTRACK.format(halting="false", test_halting="true")),
    ("avltrack_halting_off", "avltrack", AVLTRACK.format(halting="true", test_halting="false")),
])
def test_each_family_exports_and_matches_pytorch(tmp_path, name, family, yaml_text):
    config, checkpoint, _ = save_tiny_tracker(tmp_path, yaml_text, name, family=family)
    tracker = build_tracker(family, str(config), str(checkpoint))
    frame_net = FrameNetwork(tracker.net)
    text = tracker.net.encode_sentence("the white car on the left", 16) if frame_net.reads_text else None
    path = export_frame_network(frame_net, frame_net.inputs(*crops(0)[0], text), tmp_path / "f.onnx", {"k": 1})
    session = OnnxNetwork(path, threads=1)
    assert session.input_names == list(frame_net.input_names)
    assert read_record(path)["k"] == 1 and read_record(path)["opset"] == 18
    assert max_map_difference(frame_net, session, crops(1), text) < 1e-4
    if frame_net.reads_text:  # the same graph takes a sentence of another length, or none
        for other in (tracker.net.encode_sentence("car", 8), tracker.net.encode_sentence(None, 16)):
            assert max_map_difference(frame_net, session, crops(2), other) < 1e-4


def test_halting_exports_with_data_dependent_token_counts(tmp_path):
    import onnx
    config, checkpoint, _ = save_tiny_tracker(tmp_path, AVLTRACK.format(halting="true", test_halting="true"), "halt",
                                              family="avltrack")
    tracker = build_tracker("avltrack", str(config), str(checkpoint))
    frame_net = FrameNetwork(tracker.net)
    text = tracker.net.encode_sentence("a red van", 16)
    frames = crops(3, count=6)
    with torch.inference_mode():  # the tokens really halt at different depths, so blocks run on fewer tokens
        depths = [tracker.net(z, x, text=text)["backbone"]["halting"]["depth"] for z, x in frames]
    mean_depths = [float(d.mean()) for d in depths]
    assert all(1.0 < d < 4.0 for d in mean_depths) and len(set(mean_depths)) > 1
    path = export_frame_network(frame_net, frame_net.inputs(*frames[0], text), tmp_path / "h.onnx", {})
    assert "NonZero" in {node.op_type for node in onnx.load(str(path)).graph.node}
    assert max_map_difference(frame_net, OnnxNetwork(path, threads=1), frames, text) < 1e-4


def test_a_graph_whose_tokens_all_halt_after_the_first_block_runs_the_rest_on_no_tokens(tmp_path):
    yaml_text = AVLTRACK.format(halting="true", test_halting="true").replace("GATE_BIAS: 1.0", "GATE_BIAS: -30.0")
    config, checkpoint, _ = save_tiny_tracker(tmp_path, yaml_text, "halt", family="avltrack")
    tracker = build_tracker("avltrack", str(config), str(checkpoint))
    frame_net = FrameNetwork(tracker.net)
    text = tracker.net.encode_sentence("a red van", 16)
    frames = crops(5)
    with torch.inference_mode():
        assert all(float(tracker.net(z, x, text=text)["backbone"]["halting"]["depth"].max()) == 1.0 for z, x in frames)
    path = export_frame_network(frame_net, frame_net.inputs(*frames[0], text), tmp_path / "h.onnx", {})
    assert max_map_difference(frame_net, OnnxNetwork(path, threads=1), frames, text) < 1e-4


def test_an_mlkd_student_exports(tmp_path):
    teacher, _, _ = save_tiny_tracker(tmp_path, OSTRACK, "teacher")
    pool = ("MODEL:\n  HEAD: {NUM_CHANNELS: 16}\n" + SIZES.replace("SEARCH_SIZE: 64}", "SEARCH_SIZE: 64, STUDENT: 1}")
            + f"MLKD:\n  TEACHER: {{SCRIPT: ostrack, CONFIG: '{teacher}'}}\n"
            "  STUDENTS:\n    EMBED_DIM: [16, 24]\n    DEPTH: [1, 2]\n    NUM_HEADS: [2, 2]\n"
            "    KIND: [spatial, response]\n    DISTILL_WEIGHT: [1.0, 1.0]\n    BACKBONE_MULTIPLIER: [1.0, 1.0]\n"
            "    PRETRAIN_FILE: ['', '']\n")
    config, checkpoint, _ = save_tiny_tracker(tmp_path, pool, "pool", family="mlkd")
    tracker = build_tracker("mlkd", str(config), str(checkpoint), backend="onnxruntime")
    assert tracker.runner.path.name == "pool-student1.onnx"  # beside the checkpoint, named after the student
    assert read_record(tracker.runner.path)["student"] == 1
    frame_net = FrameNetwork(tracker.net)
    assert frame_net.net.backbone.embed_dim == 24
    assert max_map_difference(frame_net, tracker.runner, crops(4)) < 1e-4


def run_test_py(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "tracking" / "test.py"), *map(str, args),
                           "--no_progress"], capture_output=True, text=True, timeout=600)


def test_the_backend_tracks_a_synthuav_sequence_to_the_same_boxes(tmp_path):
    from lib.synth import generate_split
    generate_split(tmp_path / "data" / "synth_uav", "test", num=1, seed=3, workers=1, progress=False)
    config, checkpoint, _ = save_tiny_tracker(tmp_path, OSTRACK, "tiny")
    common = ["ostrack", config, "--checkpoint", checkpoint, "--data_root", tmp_path / "data", "--save_dir",
              tmp_path / "out"]
    for backend in ("pytorch", "onnxruntime"):
        done = run_test_py(*common, "--backend", backend)
        assert done.returncode == 0, done.stderr
    results = tmp_path / "out/test/tracking_results/ostrack"
    torch_boxes = sorted((results / "tiny/synth_uav").glob("*[0-9].txt"))
    assert torch_boxes
    for path in torch_boxes:
        other = results / "tiny-backend_onnxruntime/synth_uav" / path.name
        a, b = np.loadtxt(path, delimiter=","), np.loadtxt(other, delimiter=",")
        assert a.shape == b.shape and len(a) > 20 and np.abs(a - b).max() < 0.5
    run = json.loads((results / "tiny-backend_onnxruntime/synth_uav/run.json").read_text())
    assert run["backend"] == "onnxruntime"
    assert (tmp_path / "tiny.onnx").is_file()  # exported on the fly beside the checkpoint


def test_a_missing_or_stale_onnx_file_is_refused(tmp_path, train_dataset_writers):
    config, checkpoint, _ = save_tiny_tracker(tmp_path, OSTRACK, "a")
    _, other_checkpoint, _ = save_tiny_tracker(tmp_path, OSTRACK, "b", seed=1)
    sequence = tmp_path / "seq"  # a VOT-layout sequence for export_onnx.py's parity check
    for i in range(1, 5):
        train_dataset_writers.write_jpeg(sequence / f"{i:08d}.jpg", seed=i, size=(96, 128))
    (sequence / "groundtruth.txt").write_text("".join(f"{40 + 2 * i},{30 + i},24,20\n" for i in range(4)))
    exported = tmp_path / "a.onnx"
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "tracking" / "export_onnx.py"), "ostrack", str(config),
                           "--checkpoint", str(checkpoint), "--out", str(exported), "--dataset", f"vot:{sequence}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "parity on vot/seq frames 0 and 1..3 (3 search crops)" in done.stdout and exported.is_file()
    with pytest.raises(OnnxFileError, match=r"stale ONNX file .*a\.onnx.*checkpoint_blake2b"):
        build_tracker("ostrack", str(config), str(other_checkpoint), backend="onnxruntime", onnx=str(exported))
    with pytest.raises(OnnxFileError, match=r"ONNX file not found: .*missing\.onnx.*export_onnx\.py"):
        build_tracker("ostrack", str(config), str(checkpoint), backend="onnxruntime",
                      onnx=str(tmp_path / "missing.onnx"))
    with pytest.raises(ValueError, match="--onnx FILE is read by the onnxruntime backend only"):
        build_tracker("ostrack", str(config), str(checkpoint), onnx=str(exported))
    (tmp_path / "junk.onnx").write_text("not a model")
    with pytest.raises(OnnxFileError, match="junk.onnx is not a readable ONNX model"):
        check_onnx_file(tmp_path / "junk.onnx", {})
    # the default file beside a checkpoint is derived data: a stale one is exported again, not refused
    stale = tmp_path / "b.onnx"
    stale.write_bytes(exported.read_bytes())
    tracker = build_tracker("ostrack", str(config), str(other_checkpoint), backend="onnxruntime")
    assert tracker.runner.path == stale
    assert read_record(stale)["checkpoint_blake2b"] != read_record(exported)["checkpoint_blake2b"]
    done = run_test_py("ostrack", config, "--checkpoint", other_checkpoint, "--backend", "onnxruntime", "--onnx",
                       exported, "--dataset", f"vot:{sequence}", "--save_dir", tmp_path / "out")
    assert done.returncode == 2 and "error: stale ONNX file" in done.stderr
    assert not (tmp_path / "out/test/tracking_results").exists()  # refused before any folder was claimed


def test_the_pytorch_path_never_imports_onnx(tmp_path):
    config, checkpoint, _ = save_tiny_tracker(tmp_path, OSTRACK, "tiny")
    code = ("import sys, numpy as np; from lib.test.tracker.build import build_tracker; "
            f"t = build_tracker('ostrack', {str(config)!r}, {str(checkpoint)!r}); "
            "t.initialize(np.zeros((64, 64, 3), np.uint8), [20, 20, 10, 10]); t.track(np.zeros((64, 64, 3), np.uint8));"
            " print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxruntime')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_profile_model_times_both_backends_on_each_halting_path(tmp_path, capsys):
    from tracking.profile_model import main
    config, checkpoint, _ = save_tiny_tracker(tmp_path, AVLTRACK.format(halting="true", test_halting="true"), "halt",
                                              family="avltrack")
    threads = torch.get_num_threads()
    try:
        result = main(["--script", "avltrack", "--config", str(config), "--checkpoint", str(checkpoint),
                       "--backend", "onnxruntime", "--mean_depth", "2", "--repeats", "2", "--warmup", "1", "--json"])
    finally:
        torch.set_num_threads(threads)
    assert set(result["backends"]) == {"off", "on", "forced"}
    for row in result["backends"].values():
        assert row["max_abs_diff"] < 1e-4 and row["pytorch_ms"] > 0 and row["onnxruntime_ms"] > 0
    assert "halting forced to mean depth 2 PyTorch eager" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--script", "ostrack", "--backbone_only", "--backend", "onnxruntime"])


def test_video_demo_runs_the_network_in_onnxruntime(tmp_path):
    import cv2

    from tracking.video_demo import main
    config, checkpoint, _ = save_tiny_tracker(tmp_path, OSTRACK, "tiny")
    frames = tmp_path / "clip"
    frames.mkdir()
    rng = np.random.default_rng(0)
    background = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (160, 120))
    for i in range(8):
        image = background.copy()
        image[30 + 2 * i:50 + 2 * i, 40 + 3 * i:60 + 3 * i] = 255
        cv2.imwrite(str(frames / f"{i + 1:04d}.jpg"), image)
    boxes = {}
    for backend in ("pytorch", "onnxruntime"):
        out = tmp_path / f"{backend}.avi"
        assert main(["ostrack", str(config), "--checkpoint", str(checkpoint), "--input", str(frames), "--init_box",
                     "40,30,20,20", "--output", str(out), "--device", "cpu", "--backend", backend,
                     "--no_progress"]) == 0
        boxes[backend] = np.loadtxt(tmp_path / f"{backend}_boxes.txt", delimiter=",", ndmin=2)
    assert boxes["pytorch"].shape == (8, 4) and np.abs(boxes["pytorch"] - boxes["onnxruntime"]).max() < 0.5
    assert main(["static_box", "-", "--input", str(frames), "--init_box", "40,30,20,20", "--backend",
                 "onnxruntime"]) == 2
