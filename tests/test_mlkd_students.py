"""MLKD's student pool (lib/models/mlkd/students.py): several compact one-stream students in one forward, the
extras each distillation kind needs, disjoint parameters (one student's loss trains only it), and a student that
exports as an ordinary ostrack-family network."""
from __future__ import annotations

import pytest
import torch

from lib.config import load_config
from lib.models import build_network
from lib.models.mlkd import StudentPool, build_student_pool, student_config
from lib.train.losses import attention_loss, hint_loss, spatial_loss

TINY = ("MODEL:\n  BACKBONE: {EMBED_DIM: 32, DEPTH: 2, NUM_HEADS: 2}\n  HEAD: {NUM_CHANNELS: 16}\n"
        "DATA:\n  SEARCH: {SIZE: 64}\n  TEMPLATE: {SIZE: 32}\nTEST: {TEMPLATE_SIZE: 32, SEARCH_SIZE: 64}\n")
SPECS = [{"EMBED_DIM": 32, "DEPTH": 2, "NUM_HEADS": 2, "KIND": "hint"},
         {"EMBED_DIM": 16, "DEPTH": 3, "NUM_HEADS": 2, "KIND": "spatial"},
         {"EMBED_DIM": 24, "DEPTH": 1, "NUM_HEADS": 3, "KIND": "response"},
         {"EMBED_DIM": 16, "DEPTH": 2, "NUM_HEADS": 4, "KIND": "attention"}]
TEACHER_DIM = 48


@pytest.fixture
def base_cfg(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return load_config("ostrack", str(path))


def crops(batch: int = 2):
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, 3, 32, 32, generator=g), torch.randn(batch, 3, 64, 64, generator=g)


def test_one_forward_runs_every_student_with_what_its_distillation_needs(base_cfg):
    torch.manual_seed(0)
    pool = build_student_pool(base_cfg, SPECS, TEACHER_DIM)
    outs = pool(*crops())
    assert len(outs) == 4
    for out, spec in zip(outs, SPECS):
        assert out["score_logits"].shape == (2, 1, 4, 4)  # 64 / 16: every student on the teacher's grid
        assert out["backbone"]["search_tokens"].shape == (2, 16, spec["EMBED_DIM"])
    assert outs[0]["hint_tokens"].shape == (2, 16, TEACHER_DIM)
    assert sorted(outs[3]["backbone"]["block_attention"]) == [1]  # its last block only
    assert outs[3]["backbone"]["block_attention"][1].shape == (2, 4, 20, 20)
    assert sorted(outs[1]["backbone"]["block_tokens"]) == [2]  # spatial: its last block's pre-norm tokens
    assert "block_attention" not in outs[2]["backbone"] and list(pool.adapters) == ["0"]


def test_a_students_distillation_trains_only_that_student(base_cfg):
    torch.manual_seed(0)
    pool = build_student_pool(base_cfg, SPECS, TEACHER_DIM)
    outs = pool(*crops())
    g = torch.Generator().manual_seed(1)
    teacher_tokens = torch.randn(2, 16, TEACHER_DIM, generator=g)
    teacher_attention = torch.randn(2, 3, 20, 20, generator=g).softmax(-1)
    losses = [hint_loss(outs[0]["hint_tokens"], teacher_tokens),
              spatial_loss(outs[1]["backbone"]["search_tokens"], teacher_tokens),
              attention_loss(outs[3]["backbone"]["block_attention"][1], teacher_attention, num_template=4)]
    for index, loss in zip((0, 1, 3), losses):
        pool.zero_grad(set_to_none=True)
        loss.mean().backward(retain_graph=True)
        for k, student in enumerate(pool.students):
            reached = any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
            assert reached == (k == index), (index, k)
    assert pool.adapters["0"][0].weight.grad is None  # from the last backward (attention): not the hint adapter


def test_an_exported_student_is_an_ordinary_ostrack_network(base_cfg):
    torch.manual_seed(0)
    pool = build_student_pool(base_cfg, SPECS, TEACHER_DIM)
    cfg = student_config(base_cfg, SPECS[1])
    net = build_network(cfg, load_pretrained=False)
    net.load_state_dict(pool.student_state_dict(1))  # strict
    z, x = crops()
    pool.eval(), net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(z, x)["score_logits"], pool(z, x)[1]["score_logits"])
    assert base_cfg.MODEL.BACKBONE.EMBED_DIM == 32  # the base config is not changed


def test_bad_pools_are_refused(base_cfg):
    student = build_network(base_cfg, load_pretrained=False)
    with pytest.raises(ValueError, match="one kind per student"):
        StudentPool([student], ["hint", "spatial"], TEACHER_DIM)
    with pytest.raises(ValueError, match=r"unknown distillation kinds \['mimic'\]"):
        StudentPool([student], ["mimic"], TEACHER_DIM)


def test_each_student_starts_from_its_own_file_a_shallower_one_from_its_first_blocks(base_cfg, tmp_path):
    torch.manual_seed(0)
    deep = build_network(student_config(base_cfg, {"EMBED_DIM": 16, "DEPTH": 3, "NUM_HEADS": 2}),
                         load_pretrained=False).backbone
    torch.save(deep.state_dict(), tmp_path / "deep16.pth")
    files = ["", str(tmp_path / "deep16.pth"), "", str(tmp_path / "deep16.pth")]
    pool = build_student_pool(base_cfg, [dict(spec, PRETRAIN_FILE=f) for spec, f in zip(SPECS, files)], TEACHER_DIM)
    before = {k: v.clone() for k, v in pool.students[0].state_dict().items()}
    pool.load_pretrained()
    for k in (1, 3):  # depths 3 and 2 from the 3-block file
        for name, value in pool.students[k].backbone.state_dict().items():
            torch.testing.assert_close(value, deep.state_dict()[name], msg=f"student {k}: {name}")
    for name, value in pool.students[0].state_dict().items():
        assert torch.equal(value, before[name]), name  # '' = left at its random init
    with pytest.raises(Exception, match="blocks.2"):  # without first_blocks a deeper file is refused
        from lib.models.backbones.pretrained import load_pretrained_vit
        load_pretrained_vit(pool.students[3].backbone, tmp_path / "deep16.pth")


def test_each_student_is_its_own_clipping_group(base_cfg):
    pool = build_student_pool(base_cfg, SPECS, TEACHER_DIM)
    groups = pool.clip_groups()
    assert len(groups) == 4 and sum(len(g) for g in groups) == len(list(pool.parameters()))
    assert {id(p) for p in pool.adapters["0"].parameters()} <= {id(p) for p in groups[0]}
    for k, group in enumerate(groups):
        assert {id(p) for p in pool.students[k].parameters()} <= {id(p) for p in group}
