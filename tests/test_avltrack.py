"""AVLTrack's language half: the sentence changes the output, no sentence leaves the vision path alone, gradients
reach projection and fusion but never a frozen encoder, sparse fusion attends to k words, NT-Xent by hand and
over two gloo ranks, and the test-time tracker encodes once per sequence."""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from conftest import free_port

from lib.config import load_config
from lib.models import build_network
from lib.models.layers.fusion import LanguageCrossAttention
from lib.train.actors import build_actor
from lib.train.losses import nt_xent


def tiny_cfg(**language):
    cfg = load_config("avltrack", "synth_tiny")
    cfg.MODEL.BACKBONE.DEPTH = 2
    cfg.MODEL.LANGUAGE.FUSE_AFTER = [-1, 0]
    cfg.MODEL.LANGUAGE.update(language)
    return cfg


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return build_network(tiny_cfg(), load_pretrained=False)


@pytest.fixture(scope="module")
def tokenizer(net):
    return net.text_encoder.tokenizer(32)


def frames(batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, 64, 64, generator=g), torch.randn(batch, 3, 128, 128, generator=g)


def text(tokenizer, *sentences):
    out = tokenizer.batch(sentences)
    return {"text_ids": out["ids"], "text_mask": out["mask"], "text_valid": out["valid"]}


def test_two_sentences_give_two_outputs_and_none_is_the_vision_path(net, tokenizer):
    net.eval()
    z, x = frames()
    with torch.no_grad():
        red = net(z, x, **text(tokenizer, "the red car left of the truck", "the red car left of the truck"))
        blue = net(z, x, **text(tokenizer, "a blue boat moving down", "a blue boat moving down"))
        missing = net(z, x, **text(tokenizer, None, ""))
        vision = net.predict(net.backbone(z, x))  # the same weights with no fusion at all
    assert not torch.allclose(red["score_logits"], blue["score_logits"], atol=1e-4)
    assert torch.equal(missing["score_logits"], vision["score_logits"])
    assert torch.equal(missing["size_map"], vision["size_map"])
    assert torch.equal(net(z, x)["score_logits"], vision["score_logits"])  # no ids at all: also vision only


def test_gradients_reach_projection_and_fusion_never_the_frozen_encoder(net, tokenizer):
    net.train()
    net.zero_grad(set_to_none=True)
    z, x = frames()
    cfg = tiny_cfg()
    actor = build_actor("avltrack", net, cfg)
    batch = {"template_images": z[:, None], "search_images": x[:, None],
             "search_anno": torch.tensor([[[0.4, 0.4, 0.2, 0.2]], [[0.3, 0.5, 0.1, 0.2]]]),
             "search_heatmap": torch.rand(2, 1, 8, 8), **text(tokenizer, "the red car", "a white van")}
    loss, stats = actor(batch)
    loss.backward()
    assert {"Loss/ntx_search_text", "Loss/ntx_template_text", "Loss/ntx_search_template"} <= set(stats)
    for name, param in net.named_parameters():
        if name.startswith("text_encoder."):
            assert not param.requires_grad and param.grad is None, name
        elif name.startswith(("text_proj.", "fusions.", "contrastive.")):
            assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert not net.text_encoder.training  # frozen: eval mode even while the network trains
    hits = net.sentence_cache.hits
    actor(batch)
    assert net.sentence_cache.hits == hits + 2  # the same two sentences again: served by the cache


def test_sparse_fusion_attends_to_the_k_best_words_only():
    torch.manual_seed(1)
    fusion = LanguageCrossAttention(8, num_heads=1, top_k=1, init_gain=1.0)
    vision, words = torch.randn(1, 3, 8), torch.randn(1, 5, 8)
    mask, valid = torch.tensor([[1, 1, 1, 1, 0]]), torch.tensor([True])
    out = fusion(vision, words, mask, valid)
    q = fusion.query(fusion.norm_query(vision))
    k, v = fusion.key_value(words).chunk(2, dim=-1)
    best = (q @ k.transpose(1, 2))[..., :4].argmax(dim=-1)  # the padded word never wins
    expected = vision + fusion.proj(v[0, best[0]][None]) * fusion.gain
    torch.testing.assert_close(out, expected)
    assert torch.equal(fusion(vision, words, mask, torch.tensor([False])), vision)  # no sentence: unchanged


def test_nt_xent_by_hand():
    a = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=1)
    b = F.normalize(torch.tensor([[1.0, 1.0], [0.0, 1.0]]), dim=1)
    z, tau = torch.cat([a, b]), 0.5
    sim = (z @ z.T / tau).tolist()
    partner = [2, 3, 0, 1]
    rows = [-sim[i][partner[i]] + math.log(sum(math.exp(sim[i][j]) for j in range(4) if j != i)) for i in range(4)]
    assert nt_xent(a, b, tau).item() == pytest.approx(sum(rows) / 4, rel=1e-6)
    # invalid pairs are left out; fewer than two pairs give 0 (still connected to the inputs)
    c = F.normalize(torch.randn(3, 2), dim=1)
    assert nt_xent(torch.cat([a, c[:1]]), torch.cat([b, c[1:2]]), tau, torch.tensor([True, True, False])).item() \
        == pytest.approx(sum(rows) / 4, rel=1e-6)
    one = nt_xent(a, b, tau, torch.tensor([True, False]))
    assert one.item() == 0.0 and one.requires_grad is a.requires_grad


def _gathered_rank(rank: int, port: int, out: str) -> None:
    from conftest import join_gloo
    from lib.train.admin.distributed import all_gather_cat, cleanup
    join_gloo(rank, port)
    try:
        a, b, valid = torch.load(out + ".inputs", weights_only=True)
        mine = slice(rank * 3, rank * 3 + 3)
        a_local, b_local = a[mine].clone().requires_grad_(), b[mine].clone().requires_grad_()
        loss = nt_xent(all_gather_cat(a_local), all_gather_cat(b_local), 0.5,
                       all_gather_cat(valid[mine].to(torch.uint8)).bool())
        loss.backward()
        torch.save({"loss": loss.detach(), "grad_a": a_local.grad / 2, "grad_b": b_local.grad / 2},
                   f"{out}.rank{rank}")  # / 2: what DDP's average over the two ranks does to the summed gradient
    finally:
        cleanup()


@pytest.mark.skipif(sys.platform == "win32", reason="gloo rendezvous on localhost")
def test_gathered_nt_xent_equals_the_single_process_loss(tmp_path):
    g = torch.Generator().manual_seed(3)
    a, b = F.normalize(torch.randn(6, 4, generator=g), dim=1), F.normalize(torch.randn(6, 4, generator=g), dim=1)
    valid = torch.tensor([True, True, False, True, True, True])
    out = str(tmp_path / "ntx")
    torch.save((a, b, valid), out + ".inputs")
    mp.spawn(_gathered_rank, args=(free_port(), out), nprocs=2, join=True)
    a_one, b_one = a.clone().requires_grad_(), b.clone().requires_grad_()
    single = nt_xent(a_one, b_one, 0.5, valid)
    single.backward()
    for rank in range(2):
        got = torch.load(f"{out}.rank{rank}", weights_only=True)
        torch.testing.assert_close(got["loss"], single.detach())
        torch.testing.assert_close(got["grad_a"], a_one.grad[rank * 3:rank * 3 + 3])
        torch.testing.assert_close(got["grad_b"], b_one.grad[rank * 3:rank * 3 + 3])


def test_tracker_encodes_the_sentence_once_per_sequence(net, monkeypatch):
    from lib.test.tracker.avltrack import AVLTrackTracker
    calls = []
    real = net.encode_text
    monkeypatch.setattr(net, "encode_text", lambda *a, **k: calls.append(1) or real(*a, **k))
    tracker = AVLTrackTracker(net, tiny_cfg(), "cpu")
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(4)]
    tracker.initialize(images[0], [60.0, 40.0, 20.0, 16.0], "the grey truck")
    boxes = [tracker.track(image)["box"] for image in images[1:]]
    assert len(calls) == 1 and all(len(box) == 4 and np.isfinite(box).all() for box in boxes)
    tracker.initialize(images[0], [60.0, 40.0, 20.0, 16.0], None)
    assert len(calls) == 2 and not bool(tracker.text.valid[0])


def test_language_modes_derange_or_drop_the_sentences():
    from lib.test.evaluation.data import make_sequence
    from lib.test.evaluation.language_modes import apply_language_mode, derangement, results_param
    seqs = [make_sequence(f"s{i}", "toy", ["a.jpg"], [[1, 1, 5, 5]], language=f"sentence {i}") for i in range(7)]
    order = derangement(7)
    assert sorted(order.tolist()) == list(range(7)) and all(order[i] != i for i in range(7))
    assert order.tolist() == derangement(7).tolist()  # seeded: every shard and rerun agrees
    shuffled = apply_language_mode(seqs, "shuffled")
    assert [s.language for s in shuffled] == [f"sentence {j}" for j in order]
    assert all(a.language != b.language for a, b in zip(seqs, shuffled))
    assert [s.language for s in apply_language_mode(seqs, "none")] == [None] * 7
    assert apply_language_mode(seqs, "given") == seqs and seqs[0].language == "sentence 0"  # originals untouched
    assert results_param("synth_tiny", "given") == "synth_tiny"
    assert results_param("synth_tiny", "shuffled") == "synth_tiny-lang_shuffled"
    with pytest.raises(ValueError, match="--language"):
        apply_language_mode(seqs, "reversed")


def test_a_training_checkpoint_loads_strictly_into_the_test_tracker(tmp_path, net):
    """The checkpoint holds no frozen encoder weights but its identity; build_tracker loads it strictly."""
    from lib.test.tracker.build import TrackerBuildError, build_tracker
    from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
    yaml_path = tmp_path / "tiny.yaml"
    yaml_path.write_text("MODEL:\n  BACKBONE: {EMBED_DIM: 128, DEPTH: 2, NUM_HEADS: 4}\n  HEAD: {NUM_CHANNELS: 64}\n"
                         "  LANGUAGE: {FUSE_AFTER: [-1, 0], CONTRASTIVE_DIM: 128}\n"
                         "DATA:\n  MAX_TEXT_LEN: 32\n  SEARCH: {SIZE: 128}\n  TEMPLATE: {SIZE: 64}\n"
                         "TEST: {TEMPLATE_SIZE: 64, SEARCH_SIZE: 128}\n")
    state = net.state_dict()
    assert not any(k.startswith("text_encoder.bert.") for k in state) and "text_encoder._extra_state" in state
    path = save_checkpoint(tmp_path / "ep0001.pth", {"format": CHECKPOINT_FORMAT, "net": state})
    assert path.stat().st_size < 20e6  # MiniLM's 90 MB of frozen weights are not in it
    tracker = build_tracker("avltrack", str(yaml_path), str(path))
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(tracker.net.state_dict()[key], value), key
    other = dict(state, **{"text_encoder._extra_state": {"name": "bert-base-uncased", "blake2b": "0" * 32}})
    save_checkpoint(tmp_path / "other.pth", {"format": CHECKPOINT_FORMAT, "net": other})
    with pytest.raises(TrackerBuildError, match=r"cannot build avltrack/.*tiny.yaml.*other.pth.*bert-base-uncased"):
        build_tracker("avltrack", str(yaml_path), str(tmp_path / "other.pth"))


def test_the_paper_configs_backbone_loads_deit_tiny_weights(tmp_path):
    """avltrack_tiny_224 names DeiT-Tiny (timm names, wrapped in {'model': ...} as released) as its init file."""
    timm = pytest.importorskip("timm")
    from lib.models.backbones.pretrained import load_pretrained_vit
    from lib.models.ostrack import build_backbone
    cfg = load_config("avltrack", "avltrack_tiny_224")
    deit = timm.create_model("deit_tiny_patch16_224", pretrained=False)
    path = tmp_path / cfg.MODEL.PRETRAIN_FILE
    torch.save({"model": deit.state_dict()}, path)
    backbone = build_backbone(cfg)
    load_pretrained_vit(backbone, path)
    assert backbone.embed_dim == 192 and len(backbone.blocks) == 12
    assert torch.equal(backbone.blocks[11].mlp.fc2.weight, deit.blocks[11].mlp.fc2.weight)
