"""MLKD's actor (lib/train/actors/mlkd.py) on a tiny teacher and four tiny students: one step gives a finite loss
whose gradient reaches every student and never the teacher, per-student stats with one elected student, the peer
term only for the others, and none of it with mutual learning off; the per-student LR groups; config checks."""
from __future__ import annotations

import pytest
import torch
from conftest import save_tiny_tracker

from lib.config import load_config
from lib.config.merge import ConfigError, merge_yaml
from lib.families import load_part
from lib.models import build_network
from lib.train.optim import parameter_groups
from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, save_checkpoint

TEACHER = ("MODEL:\n  BACKBONE: {EMBED_DIM: 32, DEPTH: 3, NUM_HEADS: 2}\n  HEAD: {NUM_CHANNELS: 16}\n"
           "DATA:\n  SEARCH: {SIZE: 64}\n  TEMPLATE: {SIZE: 32}\nTEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64}\n")


def mlkd_yaml(teacher_yaml, checkpoint, mutual: bool = True) -> str:
    return ("MODEL:\n  HEAD: {NUM_CHANNELS: 16}\n"
            "DATA:\n  SEARCH: {SIZE: 64}\n  TEMPLATE: {SIZE: 32}\n"
            "TEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64}\nTRAIN: {BOX_AT_GT_CELL: true}\n"
            f"MLKD:\n  TEACHER: {{SCRIPT: ostrack, CONFIG: '{teacher_yaml}', CHECKPOINT: '{checkpoint}'}}\n"
            "  STUDENTS:\n    EMBED_DIM: [16, 16, 24, 16]\n    DEPTH: [2, 1, 2, 2]\n    NUM_HEADS: [2, 2, 2, 4]\n"
            "    KIND: [hint, spatial, response, attention]\n    DISTILL_WEIGHT: [1.0, 1.0, 1.0, 1.0]\n"
            "    BACKBONE_MULTIPLIER: [0.5, 1.0, 1.0, 2.0]\n"
            f"  GATE: 'off'\n  MUTUAL: {{ENABLED: {str(mutual).lower()}, ELECT: psr, WEIGHT: 1.0}}\n")


@pytest.fixture
def configs(tmp_path):
    teacher_yaml, checkpoint, _ = save_tiny_tracker(tmp_path, TEACHER, "teacher")
    paths = {}
    for mutual in (True, False):
        paths[mutual] = tmp_path / f"mlkd_{mutual}.yaml"
        paths[mutual].write_text(mlkd_yaml(teacher_yaml, checkpoint, mutual))
    return paths


def batch(size: int = 3) -> dict:
    g = torch.Generator().manual_seed(0)
    heatmap = torch.zeros(size, 1, 4, 4)
    heatmap[:, 0, 1, 2] = 1.0
    return {"template_images": torch.randn(size, 1, 3, 32, 32, generator=g),
            "search_images": torch.randn(size, 1, 3, 64, 64, generator=g),
            "search_anno": torch.tensor([[[0.45, 0.2, 0.2, 0.2]]]).repeat(size, 1, 1),  # centre in cell (1, 2)
            "search_heatmap": heatmap}


def actor_for(path):
    cfg = load_config("mlkd", str(path))
    torch.manual_seed(1)
    net = build_network(cfg, load_pretrained=False)
    return load_part("mlkd", "actor")(net, cfg), net


def test_one_step_trains_every_student_elects_one_and_leaves_the_teacher_alone(configs):
    actor, net = actor_for(configs[True])
    actor.train(True)
    loss, stats = actor(batch())
    assert torch.isfinite(loss)
    loss.backward()
    for k, student in enumerate(net.students):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters()), k
    assert all(p.grad is None for p in actor.teacher.parameters())
    assert not actor.teacher.training and net.training
    elected = [stats[f"S{k}/elected"].item() for k in range(4)]
    assert sorted(elected) == [0.0, 0.0, 0.0, 1.0]
    for k in range(4):
        assert (f"S{k}/Loss/peer" in stats) == (elected[k] == 0.0)
    for k, kind in enumerate(("hint", "spatial", "response", "attention")):
        assert stats[f"S{k}/Loss/{kind}"] > 0 and f"S{k}/Loss/gt" in stats and f"S{k}/IoU" in stats
    assert stats["S2/gate_open"] == 1.0  # GATE off: always


def test_the_teacher_sees_the_cached_enhanced_crops_when_the_batch_has_them(configs):
    actor, _ = actor_for(configs[True])
    plain = batch()
    cached = dict(plain, template_teacher_images=plain["template_images"].flip(-1),
                  search_teacher_images=plain["search_images"].flip(-1))
    _, with_cache = actor(cached)
    _, without = actor(plain)
    seen = actor.teacher(cached["template_teacher_images"][:, 0], cached["search_teacher_images"][:, 0], enhanced=True)
    gt_loss, _ = actor.ground_truth_terms(seen, plain["search_anno"][:, 0], plain["search_heatmap"][:, 0])
    torch.testing.assert_close(with_cache["Teacher/Loss/gt"], gt_loss.mean())
    assert not torch.allclose(with_cache["Teacher/Loss/gt"], without["Teacher/Loss/gt"])


def test_a_peer_learns_from_the_elected_student_only_where_that_one_does_better(configs, monkeypatch):
    import lib.train.actors.mlkd as room
    actor, _ = actor_for(configs[True])
    per_sample = iter([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [0.0, 0.0, 9.0], [1.0, 2.0, 3.0]])
    monkeypatch.setattr(actor, "ground_truth_terms", lambda out, gt, heatmap: (torch.tensor(next(per_sample)),
                                                                               torch.full((3,), 0.5)))
    monkeypatch.setattr(room, "elect", lambda scores: 0)  # student 0: losses 1, 2, 3
    _, stats = actor(batch())
    # peers 1, 2, 3 have losses (3, 2, 1), (0, 0, 9), (1, 2, 3): the elected one is at least as good on 2, 1, 3
    assert [stats[f"S{k}/peer_gate_open"].item() for k in (1, 2, 3)] == pytest.approx([2 / 3, 1 / 3, 1.0])
    assert "S0/peer_gate_open" not in stats and stats["S0/elected"] == 1.0


def test_without_mutual_learning_there_is_no_election(configs):
    actor, _ = actor_for(configs[False])
    _, stats = actor(batch())
    assert not any(key.endswith("/elected") or key.endswith("/peer") for key in stats)


def test_each_student_backbone_has_its_own_learning_rate(configs):
    _, net = actor_for(configs[True])
    groups = {g["name"]: g for g in parameter_groups(net, lr=1.0, weight_decay=0.1, backbone_multiplier=0.1)}
    assert groups["students.0.backbone"]["lr"] == 0.5 and groups["students.3.backbone"]["lr"] == 2.0
    assert groups["head"]["lr"] == 1.0 and "backbone" not in groups  # heads and adapters; no generic backbone
    counted = sum(p.numel() for g in groups.values() for p in g["params"])
    assert counted == sum(p.numel() for p in net.parameters())


def test_student_lists_must_line_up(configs, tmp_path):
    cfg = load_config("mlkd", str(configs[True]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("MLKD:\n  STUDENTS: {KIND: [hint, mimic]}\n  GATE: always\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*one entry per student.*unknown kinds \['mimic'\].*GATE 'always'"):
        merge_yaml(cfg, bad, "mlkd")


def test_test_py_runs_a_chosen_student_of_an_mlkd_checkpoint(configs, tmp_path):
    import numpy as np
    from lib.test.tracker.build import build_tracker
    _, net = actor_for(configs[True])
    checkpoint = save_checkpoint(tmp_path / "pool.pth", {"format": CHECKPOINT_FORMAT, "net": net.state_dict()})
    chosen = tmp_path / "chosen.yaml"
    chosen.write_text(configs[True].read_text().replace("TEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64}",
                                                        "TEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64, STUDENT: 2}"))
    tracker = build_tracker("mlkd", str(chosen), str(checkpoint))
    assert tracker.net.backbone.embed_dim == 24  # student 2's width
    for key, value in net.students[2].state_dict().items():
        assert torch.equal(tracker.net.state_dict()[key], value), key
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    tracker.initialize(image, [60.0, 40.0, 20.0, 16.0])
    assert np.isfinite(tracker.track(image)["box"]).all()
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(chosen.read_text().replace("STUDENT: 2", "STUDENT: 4"))
    with pytest.raises(ValueError, match=r"TEST.STUDENT 4: this checkpoint has students 0..3"):
        build_tracker("mlkd", str(wrong), str(checkpoint))


def test_a_teacher_on_another_token_grid_is_refused(configs, tmp_path):
    mismatched = tmp_path / "mismatched.yaml"
    text = configs[True].read_text()
    mismatched.write_text(text.replace("MODEL:\n  HEAD:", "MODEL:\n  BACKBONE: {PATCH_SIZE: 8}\n  HEAD:"))
    cfg = load_config("mlkd", str(mismatched))
    with pytest.raises(ValueError, match=r"token grids of \(4, 16\) tokens, the students \(16, 64\)"):
        load_part("mlkd", "actor")(build_network(cfg, load_pretrained=False), cfg)


@pytest.mark.parametrize("name,kinds,weights", [
    ("synth_night_ml", ["hint", "spatial", "response", "attention"], [1.0] * 4),
    ("synth_night_alone", ["response"], [0.0]),
    *[(f"synth_night_{kind}", [kind], [1.0]) for kind in ("hint", "spatial", "response", "attention")]])
def test_the_synthuav_night_configs_build_and_differ_only_where_they_should(name, kinds, weights):
    cfg = load_config("mlkd", name)
    net = build_network(cfg, load_pretrained=False)
    assert list(net.kinds) == kinds and cfg.MLKD.STUDENTS.DISTILL_WEIGHT == weights
    assert cfg.MLKD.MUTUAL.ENABLED is (len(kinds) > 1) and cfg.MLKD.TEACHER.FRAME_CACHE
    reference = load_config("mlkd", "synth_night_ml")
    for key in ("DATA", "TRAIN", "TEST", "MODEL"):
        assert cfg[key] == reference[key], key
    assert cfg.DATA.TRAIN.DATASETS_NAME == ["SYNTH_UAV_train_night"] and cfg.MLKD.TEACHER.CONFIG == "synth_tiny"


@pytest.mark.parametrize("name", ["vit_tiny_small_night_ml", "vit_tiny_night_response"])
def test_the_paper_style_configs_match_the_teachers_grid_and_hold_out_validation(name):
    cfg = load_config("mlkd", name)
    teacher = load_config(cfg.MLKD.TEACHER.SCRIPT, cfg.MLKD.TEACHER.CONFIG)
    for key in ("SEARCH", "TEMPLATE"):
        assert cfg.DATA[key].SIZE == teacher.DATA[key].SIZE
    assert cfg.MODEL.BACKBONE.PATCH_SIZE == teacher.MODEL.BACKBONE.PATCH_SIZE and teacher.MODEL.BACKBONE.DEPTH == 12
    assert set(cfg.MLKD.STUDENTS.EMBED_DIM) <= {192, 384} and all(cfg.MLKD.STUDENTS.PRETRAIN_FILE)
    assert cfg.DATA.TRAIN.DATASETS_NAME == ["NAT2021_test", "DARKTRACK2021_train"]
    assert cfg.DATA.VAL.DATASETS_NAME == ["DARKTRACK2021_val"] and cfg.MLKD.TEACHER.ENHANCER
