"""MLKD's teacher (lib/models/mlkd/teacher.py): built from a trained tracker's config and checkpoint with DarkLighter
in front; frozen (no gradient reaches it, eval whatever the trainer does), candidate elimination off, chosen
blocks' tokens and attention, and the enhancer really applied."""
from __future__ import annotations

import pytest
import torch
from conftest import save_tiny_tracker

from lib.config import load_config
from lib.models import build_network
from lib.models.enhancer import DarkLighter, FrozenEnhancer
from lib.models.mlkd import build_teacher
from lib.train.actors.base import BaseActor

# a tiny one-stream tracker with candidate elimination, so the teacher has to switch it off
TINY_CE = ("MODEL:\n  BACKBONE: {EMBED_DIM: 32, DEPTH: 3, NUM_HEADS: 2, CE_LOC: [1], CE_KEEP_RATIO: [0.5]}\n"
           "  HEAD: {NUM_CHANNELS: 16}\nDATA:\n  SEARCH: {SIZE: 64}\n  TEMPLATE: {SIZE: 32}\n"
           "TEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64}\n")


@pytest.fixture
def trained(tmp_path):
    """(config yaml, checkpoint, DarkLighter weights file, the tracker's weights)."""
    config, checkpoint, net = save_tiny_tracker(tmp_path, TINY_CE, "tiny_ce")
    enhancer = tmp_path / "darklighter.pth"
    torch.save(DarkLighter().state_dict(), enhancer)
    return config, checkpoint, enhancer, net.state_dict()


def crops(batch: int = 2):
    g = torch.Generator().manual_seed(1)
    return torch.randn(batch, 3, 32, 32, generator=g), torch.randn(batch, 3, 64, 64, generator=g)


def test_the_teacher_enhances_tracks_without_elimination_and_hands_over_chosen_blocks(trained):
    config, checkpoint, enhancer_file, weights = trained
    teacher = build_teacher("ostrack", str(config), checkpoint, enhancer_file, blocks=[2, 0])
    for key, value in weights.items():
        assert torch.equal(teacher.tracker.state_dict()[key], value), key
    z, x = crops()
    out = teacher(z, x)
    assert out["backbone"]["removed_indexes"] == []  # CE off: every search token kept
    assert sorted(out["backbone"]["block_tokens"]) == sorted(out["backbone"]["block_attention"]) == [0, 2]
    assert out["backbone"]["block_tokens"][2].shape == (2, 4 + 16, 32)
    # what it computes: the tracker on the enhanced crops
    enhancer = FrozenEnhancer(DarkLighter())
    enhancer.enhancer.load_state_dict(torch.load(enhancer_file))
    net = build_network(load_config("ostrack", str(config)), load_pretrained=False).eval()
    net.load_state_dict(weights)
    with torch.no_grad():
        expected = net(enhancer(z), enhancer(x), ce_keep_rate=1.0)
        plain = net(z, x, ce_keep_rate=1.0)
        assert net(z, x)["backbone"]["removed_indexes"]  # the tracker itself drops search tokens
    torch.testing.assert_close(out["score_logits"], expected["score_logits"])
    assert not torch.allclose(out["score_logits"], plain["score_logits"])  # the enhancer changed what it saw
    with pytest.raises(ValueError, match=r"blocks \[7\] do not exist"):
        build_teacher("ostrack", str(config), checkpoint, None, blocks=[7])


def test_the_teacher_is_frozen_and_outside_what_the_trainer_optimises(trained):
    config, checkpoint, enhancer_file, _ = trained
    teacher = build_teacher("ostrack", str(config), checkpoint, enhancer_file)
    torch.manual_seed(1)
    student = build_network(load_config("ostrack", str(config)), load_pretrained=False)

    class DistillActor(BaseActor):
        def extra_modules(self):
            return [teacher]

    actor = DistillActor(student, None)
    actor.train(True)
    assert student.training
    assert not any(m.training for m in teacher.modules())  # eval whatever the trainer asks
    assert all(not p.requires_grad for p in teacher.parameters())
    z, x = crops()
    target = teacher(z, x)["score_logits"]
    assert not target.requires_grad
    loss = torch.nn.functional.mse_loss(student(z, x)["score_logits"], target)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    assert not {id(p) for p in teacher.parameters()} & {id(p) for p in actor.net.parameters()}


def test_a_missing_teacher_checkpoint_says_how_to_make_it(trained, tmp_path):
    config, _, _, _ = trained
    with pytest.raises(FileNotFoundError, match=r"nothing.pth.*tracking/train.py --script ostrack"):
        build_teacher("ostrack", str(config), tmp_path / "nothing.pth")


def test_the_teacher_tracks_as_a_tracker_with_its_enhancer(trained):
    """tracking/test.py --enhancer: the trained tracker sees enhanced crops (the template once), in its own results
    folder and identity; a baseline refuses it."""
    import numpy as np
    from lib.test.evaluation.variants import results_param
    from lib.test.tracker.build import build_tracker, tracker_identity
    config, checkpoint, enhancer_file, _ = trained
    plain = build_tracker("ostrack", str(config), str(checkpoint))
    teacher = build_tracker("ostrack", str(config), str(checkpoint), enhancer=str(enhancer_file))
    assert plain.enhancer is None and isinstance(teacher.enhancer, FrozenEnhancer)
    image = np.random.default_rng(0).integers(0, 60, (96, 128, 3), dtype=np.uint8)  # a dark frame
    for tracker in (plain, teacher):
        tracker.initialize(image, [40.0, 30.0, 16.0, 12.0])
    assert not torch.allclose(plain.template, teacher.template)
    torch.testing.assert_close(teacher.template, teacher.enhancer(plain.template))
    assert results_param("tiny_ce", enhancer="Epoch193") == "tiny_ce-enh_Epoch193"
    assert results_param("tiny_ce", enhancer="none") == "tiny_ce"
    with_enhancer = tracker_identity("ostrack", str(config), checkpoint, enhancer=str(enhancer_file))
    assert "enhancer_blake2b" in with_enhancer
    assert "enhancer_blake2b" not in tracker_identity("ostrack", str(config), checkpoint)
    with pytest.raises(ValueError, match="--enhancer: static_box is a baseline"):
        build_tracker("static_box", "default", enhancer=str(enhancer_file))


def test_profile_model_counts_the_enhancer_on_every_search_crop(trained):
    from tracking.profile_model import main
    config, checkpoint, enhancer_file, _ = trained
    threads = torch.get_num_threads()
    common = ["--script", "ostrack", "--config", str(config), "--checkpoint", str(checkpoint), "--repeats", "2",
              "--warmup", "1"]
    try:
        plain, teacher = main(common), main(common + ["--enhancer", str(enhancer_file)])
    finally:
        torch.set_num_threads(threads)
    # DarkLighter: 74,592 multiply-adds per pixel (3x3 convs 3-32-32-(64-32)x3-(64-8)x2), on the 64 x 64 search crop
    assert teacher["flops"] - plain["flops"] == 2 * 74_592 * 64 * 64
    assert teacher["params"] == plain["params"] + 74_768
