"""A-ViT token halting (lib/models/backbones/vit_halting.py, lib/train/losses/halting.py): the arithmetic on a
hand-built case through both paths, the two losses by hand, masked and pruned paths giving the same outputs at
batch 1 and 3 (also through AVLTrack's language fusion), no gradient for a halted token from the blocks after its
last, halting off equal to a plain full-depth pass, the actor's terms and stats, config checks, strict loading."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from lib.config import load_config
from lib.config.merge import ConfigError, merge_yaml
from lib.models import build_network
from lib.models.backbones import OneStreamViT
from lib.models.backbones.vit_halting import HaltingViT
from lib.train.actors import build_actor
from lib.train.losses import distribution_prior_loss, ponder_loss

SIZES = dict(template_size=32, search_size=64, patch_size=16, embed_dim=32, depth=4, num_heads=2,
             drop_path_rate=0.0)


def halting_vit(**gate) -> HaltingViT:
    torch.manual_seed(0)
    # gate 3 / 0 (instead of 10 / 30): random weights then halt at every depth, differently per sample
    return HaltingViT(**SIZES, **{"gate_scale": 3.0, "gate_bias": 0.0, **gate})


def frames(batch: int, seed: int = 0, template: int = 32, search: int = 64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, template, template, generator=g), torch.randn(batch, 3, search, search, generator=g)


# -- the arithmetic on a hand-built case ------------------------------------------------------------------------------
# 5 tokens, 3 blocks; SCORES[block][token] is what the gate gives (gate_scale 1, gate_bias 0: h = sigmoid(logit h)).
SCORES = [[0.3, 0.995, 0.6, 0.1, 0.25],
          [0.5, 0.7, 0.395, 0.2, 0.25],  # token 1 halted after block 1: its 0.7 never counts
          [0.5, 0.5, 0.5, 0.5, 0.5]]     # the last block: every running token halts, whatever its score
WEIGHTS = [[0.3, 0.5, 0.2],   # c = 0.3, 0.8, then the last block takes the remainder 0.2
           [1.0, 0.0, 0.0],   # c = 0.995 >= 0.99 at block 1: remainder 1
           [0.6, 0.4, 0.0],   # c = 0.6, 0.995: halts at block 2 with remainder 0.4
           [0.1, 0.2, 0.7],
           [0.25, 0.25, 0.5]]


class ScriptedBlock(nn.Module):
    """Channel 0 <- the gate logit of SCORES[block][token id], channel 1 keeps the token id, channel 2 <- block
    number, channel 3 <- 1: the halting-weighted mix then holds (id, mean halting block, sum of weights)."""

    def __init__(self, index: int, seen: list):
        super().__init__()
        self.index, self.seen = index, seen

    def forward(self, x, attn_mask=None, **kwargs):
        ids = x[..., 1].round().long()
        scores = torch.tensor(SCORES[self.index])[ids]
        self.seen.append(sorted(ids[0].tolist()))
        out = torch.stack([torch.logit(scores.double()).float(), x[..., 1], torch.full_like(x[..., 1], self.index + 1),
                           torch.ones_like(x[..., 1])], dim=-1)
        return out, None


@pytest.mark.parametrize("prune", [False, True])
def test_halting_arithmetic_by_hand(prune, monkeypatch):
    model = HaltingViT(template_size=16, search_size=32, patch_size=16, embed_dim=4, depth=3, num_heads=1,
                       gate_scale=1.0, gate_bias=0.0, eps=0.01)
    seen = []
    model.blocks = nn.ModuleList(ScriptedBlock(i, seen) for i in range(3))
    model.norm = nn.Identity()  # read the weighted sum itself
    tokens = torch.zeros(1, 5, 4)
    tokens[..., 1] = torch.arange(5.0)
    monkeypatch.setattr(model, "embed", lambda z, x: (tokens, (1, 1), (2, 2)))
    model.prune = prune
    with torch.no_grad():
        out = model(*frames(1, template=16, search=32))
    mixed, halting = out["tokens"][0], out["halting"]
    weights = torch.tensor(WEIGHTS)
    torch.testing.assert_close(mixed[:, 3], torch.ones(5))                  # weights sum to one
    torch.testing.assert_close(mixed[:, 1], torch.arange(5.0))              # so the id comes back unchanged
    torch.testing.assert_close(mixed[:, 2], (weights * torch.tensor([1.0, 2.0, 3.0])).sum(1))  # 1.9, 1, 1.4, ...
    torch.testing.assert_close(halting["depth"][0], torch.tensor([3.0, 1.0, 2.0, 3.0, 3.0]))
    torch.testing.assert_close(halting["ponder"][0], torch.tensor([3.2, 2.0, 2.4, 3.7, 3.5]))  # depth + remainder
    expected_layer_halt = [sum(SCORES[0]) / 5, (0.5 + 0 + 0.395 + 0.2 + 0.25) / 5, 3 / 5]  # halted: 0; last: 1
    torch.testing.assert_close(halting["layer_halt"][0], torch.tensor(expected_layer_halt))
    # the pruned path runs each block on the running tokens only; the masked path on all five
    assert seen == ([[0, 1, 2, 3, 4], [0, 2, 3, 4], [0, 3, 4]] if prune else [[0, 1, 2, 3, 4]] * 3)


def test_forced_depths_put_all_the_weight_on_that_block():
    model = halting_vit().eval()
    depth = torch.tensor([1, 4, 2, 3] * 5)  # 20 tokens: 4 template + 16 search
    model.force_depth(depth)
    with torch.no_grad():
        out = model(*frames(2))
    assert torch.equal(out["halting"]["depth"], depth.float().expand(2, -1))
    torch.testing.assert_close(out["halting"]["ponder"], depth.float().expand(2, -1) + 1)
    with pytest.raises(ValueError, match="1..4"):
        model.force_depth(torch.tensor([0, 5]))


# -- the losses by hand -----------------------------------------------------------------------------------------------
def test_ponder_and_prior_losses_by_hand():
    ponder = torch.tensor([[3.2, 2.0], [2.4, 3.7]])
    assert ponder_loss(ponder).item() == pytest.approx((3.2 + 2.0 + 2.4 + 3.7) / 4)
    layer_halt = torch.tensor([[0.4, 0.2, 0.6], [0.2, 0.2, 0.2]])  # (B=2, L=3)
    per_block = [0.3, 0.2, 0.4]                                    # mean over the samples
    q = [min(max(v / sum(per_block), 0.01), 0.99) for v in per_block]
    gauss = [math.exp(-0.5 * (block - 2.0) ** 2) for block in (1, 2, 3)]  # target depth 2, sigma 1
    target = [g / sum(gauss) for g in gauss]
    kl = sum(t * (math.log(t) - math.log(p)) for t, p in zip(target, q))
    assert distribution_prior_loss(layer_halt, 2.0).item() == pytest.approx(kl, rel=1e-5)
    # the target itself costs nothing; the clamp keeps an empty block finite
    assert distribution_prior_loss(torch.tensor([target]), 2.0).item() == pytest.approx(0.0, abs=1e-6)
    assert math.isfinite(distribution_prior_loss(torch.tensor([[0.0, 0.0, 1.0]]), 1.0).item())
    with pytest.raises(ValueError, match="HALT_TARGET_DEPTH"):
        distribution_prior_loss(layer_halt, 4.0)


# -- masked and pruned paths agree ------------------------------------------------------------------------------------
def scaled_hook(index, tokens):  # a per-token stand-in for the language re-injection
    return tokens * 1.1 + 0.01 if index in (-1, 1) else tokens


@pytest.mark.parametrize("batch", [1, 3])
def test_masked_and_pruned_paths_agree(batch):
    model = halting_vit().eval()
    z, x = frames(batch, seed=batch)
    with torch.no_grad():
        model.prune = False
        masked = model(z, x, token_hook=scaled_hook)
        model.prune = True
        pruned = model(z, x, token_hook=scaled_hook)
        model.prune = None  # autograd off: pruned by default
        default = model(z, x, token_hook=scaled_hook)
    depth = masked["halting"]["depth"]
    assert 1 < depth.mean() < 4 and len(depth.unique()) >= 3  # tokens halt at several depths
    if batch > 1:
        assert not all(torch.equal(depth[0], d) for d in depth[1:])  # and differently per sample
    torch.testing.assert_close(pruned["tokens"], masked["tokens"], atol=1e-5, rtol=1e-5)
    assert torch.equal(default["tokens"], pruned["tokens"])
    for key in ("depth", "ponder", "layer_halt"):
        torch.testing.assert_close(pruned["halting"][key], masked["halting"][key], atol=1e-6, rtol=1e-6)
    if batch > 1:  # each sample as if alone
        with torch.no_grad():
            alone = torch.cat([model(z[i:i + 1], x[i:i + 1], token_hook=scaled_hook)["tokens"] for i in range(batch)])
        torch.testing.assert_close(alone, pruned["tokens"], atol=1e-5, rtol=1e-5)


def halting_avltrack_cfg(depth: int = 3):
    cfg = load_config("avltrack", "synth_tiny_halting")
    cfg.MODEL.BACKBONE.DEPTH = depth
    cfg.MODEL.BACKBONE.PATCH_SIZE = 16  # 80 tokens: fast tests (TINY_HALTING_YAML describes this network)
    cfg.MODEL.LANGUAGE.FUSE_AFTER = [-1, 0, 1]
    cfg.MODEL.HALTING.update(GATE_SCALE=3.0, GATE_BIAS=0.0)
    cfg.TRAIN.HALT_TARGET_DEPTH = 2.0
    return cfg


@pytest.fixture(scope="module")
def avltrack_net():
    torch.manual_seed(0)
    return build_network(halting_avltrack_cfg(), load_pretrained=False)


def test_avltrack_fusion_reaches_the_running_tokens_alike_on_both_paths(avltrack_net):
    net = avltrack_net.eval()
    assert isinstance(net.backbone, HaltingViT)
    tokens = net.text_encoder.tokenizer(32).batch(["the red car", "a white van turning left", None])
    text = {"text_ids": tokens["ids"], "text_mask": tokens["mask"], "text_valid": tokens["valid"]}
    z, x = frames(3, template=64, search=128)
    with torch.no_grad():
        net.backbone.prune = False
        masked = net(z, x, **text)
        net.backbone.prune = True
        pruned = net(z, x, **text)
    net.backbone.prune = None
    depth = masked["backbone"]["halting"]["depth"]
    assert 1 < depth.mean() < 3 and not torch.equal(depth[0], depth[1])
    for key in ("score_logits", "size_map", "offset_map", "pred_boxes"):
        torch.testing.assert_close(pruned[key], masked[key], atol=1e-5, rtol=1e-5)


# -- gradients --------------------------------------------------------------------------------------------------------
def test_a_halted_token_gets_no_gradient_from_the_blocks_after_its_last():
    model = halting_vit().train()
    z, x = frames(2, seed=5)
    probes = {i: torch.zeros(2, 20, 32, requires_grad=True) for i in range(3)}  # what enters blocks 1, 2, 3

    def probe(index, tokens):
        return tokens + probes[index] if index in probes else tokens

    out = model(z, x, token_hook=probe)
    weights = torch.randn(out["tokens"].shape, generator=torch.Generator().manual_seed(0))
    ((out["tokens"] * weights).sum() + out["halting"]["ponder"].sum()).backward()
    depth = out["halting"]["depth"]
    assert len(depth.unique()) >= 3
    for index, tensor in probes.items():
        reached = tensor.grad.abs().sum(-1) > 0        # (B, N): a gradient came back through block index + 1
        runs_next_block = depth > index + 1            # the token ran block index + 1 (0-based)
        assert torch.equal(reached, runs_next_block), index
    assert all(p.grad is not None for p in model.parameters())  # every block in the graph (DDP needs it)


# -- switches, checks, loading ----------------------------------------------------------------------------------------
def test_halting_off_is_a_plain_full_depth_pass():
    model = halting_vit().eval()
    plain = OneStreamViT(**SIZES).eval()
    plain.load_state_dict(model.state_dict())  # the same parameters, strictly
    model.halting = False
    z, x = frames(2)
    with torch.no_grad():
        off, reference = model(z, x, token_hook=scaled_hook), plain(z, x, token_hook=scaled_hook)
    assert torch.equal(off["tokens"], reference["tokens"])
    assert torch.equal(off["halting"]["depth"], torch.full((2, 20), 4.0))
    assert torch.equal(off["halting"]["layer_halt"], torch.tensor([[0.0, 0, 0, 1]] * 2))


def test_candidate_elimination_and_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="candidate elimination.*CE_LOC"):
        HaltingViT(**SIZES, ce_loc=(1,), ce_keep_ratio=(0.7,))
    cfg = load_config("avltrack", "synth_tiny_halting")
    bad = tmp_path / "bad.yaml"
    bad.write_text("MODEL:\n  BACKBONE: {CE_LOC: [1], CE_KEEP_RATIO: [0.7]}\nTRAIN: {HALT_TARGET_DEPTH: 9}\n")
    depth = cfg.MODEL.BACKBONE.DEPTH
    with pytest.raises(ConfigError, match=rf"bad.yaml.*CE_LOC.*HALT_TARGET_DEPTH 9.0 is not a depth.*1\.\.{depth}"):
        merge_yaml(cfg, bad, "avltrack")


def test_the_actor_adds_both_terms_and_logs_the_depths(avltrack_net):
    net = avltrack_net.train()
    cfg = halting_avltrack_cfg()
    actor = build_actor("avltrack", net, cfg)
    z, x = frames(2, template=64, search=128)
    tokens = net.text_encoder.tokenizer(32).batch(["the red car", "a white van"])
    batch = {"template_images": z[:, None], "search_images": x[:, None],
             "search_anno": torch.tensor([[[0.4, 0.4, 0.2, 0.2]], [[0.3, 0.5, 0.1, 0.2]]]),
             "search_heatmap": torch.rand(2, 1, 8, 8), "text_ids": tokens["ids"], "text_mask": tokens["mask"],
             "text_valid": tokens["valid"]}
    torch.manual_seed(0)
    loss, stats = actor(batch)
    expected = cfg.TRAIN.PONDER_WEIGHT * stats["Loss/ponder"] + cfg.TRAIN.HALT_PRIOR_WEIGHT * stats["Loss/halt_prior"]
    cfg.TRAIN.PONDER_WEIGHT = cfg.TRAIN.HALT_PRIOR_WEIGHT = 0.0
    torch.manual_seed(0)
    without, _ = build_actor("avltrack", net, cfg)(batch)
    torch.testing.assert_close(loss - without, expected, atol=1e-6, rtol=1e-4)
    assert 1 <= stats["Halt/depth_template"] <= 3 and 1 <= stats["Halt/depth_search"] <= 3
    assert stats["Halt/depth_template"] != stats["Halt/depth_search"]
    assert stats["Loss/total"] == loss.detach()


# the network of the avltrack_net fixture as a config file (gate 3 / 0: random weights halt early)
TINY_HALTING_YAML = ("MODEL:\n  BACKBONE: {EMBED_DIM: 128, DEPTH: 3, NUM_HEADS: 4}\n  HEAD: {NUM_CHANNELS: 64}\n"
                     "  LANGUAGE: {FUSE_AFTER: [-1, 0, 1], CONTRASTIVE_DIM: 128}\n"
                     "  HALTING: {ENABLED: true, GATE_SCALE: 3.0, GATE_BIAS: 0.0}\n"
                     "DATA:\n  MAX_TEXT_LEN: 32\n  SEARCH: {SIZE: 128}\n  TEMPLATE: {SIZE: 64}\n"
                     "TRAIN: {HALT_TARGET_DEPTH: 2}\nTEST: {TEMPLATE_SIZE: 64, SEARCH_SIZE: 128}\n")


def test_a_halting_checkpoint_loads_strictly_and_the_tracker_honours_test_halting(tmp_path, avltrack_net):
    from lib.test.tracker.build import build_tracker
    from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
    yaml_path = tmp_path / "tiny_halting.yaml"
    yaml_path.write_text(TINY_HALTING_YAML)
    state = avltrack_net.state_dict()
    path = save_checkpoint(tmp_path / "ep0001.pth", {"format": CHECKPOINT_FORMAT, "net": state})
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(3)]
    boxes = {}
    for halting in (True, False):
        tracker = build_tracker("avltrack", str(yaml_path), str(path), halting=halting)
        assert isinstance(tracker.net.backbone, HaltingViT) and tracker.net.backbone.halting is halting
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(tracker.net.state_dict()[key], value), key
        tracker.initialize(images[0], [60.0, 40.0, 20.0, 16.0], "the grey truck")
        boxes[halting] = [tracker.track(image)["box"] for image in images[1:]]
    assert all(np.isfinite(b).all() for run in boxes.values() for b in run)
    assert boxes[True] != boxes[False]  # random weights: halting changes the features, hence the boxes


@pytest.fixture
def halting_checkpoint(tmp_path, avltrack_net):
    """(config yaml, checkpoint, VOT-layout sequence folder) of a tiny random-weight halting AVLTrack."""
    from conftest import write_jpeg
    from lib.train.trainers.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
    yaml_path = tmp_path / "tiny_halting.yaml"
    yaml_path.write_text(TINY_HALTING_YAML)
    checkpoint = save_checkpoint(tmp_path / "ep0001.pth", {"format": CHECKPOINT_FORMAT,
                                                             "net": avltrack_net.state_dict()})
    sequence = tmp_path / "seq"
    sequence.mkdir()
    for i in range(1, 5):
        write_jpeg(sequence / f"{i:08d}.jpg", seed=i, size=(96, 128))
    (sequence / "groundtruth.txt").write_text("".join(f"{40 + 2 * i},{30 + i},24,20\n" for i in range(4)))
    return yaml_path, checkpoint, sequence


def test_profile_model_times_halting_on_and_off_on_real_frames(halting_checkpoint, capsys):
    from tracking.profile_model import main
    yaml_path, checkpoint, sequence = halting_checkpoint
    threads = torch.get_num_threads()
    common = ["--script", "avltrack", "--config", str(yaml_path), "--checkpoint", str(checkpoint), "--frames",
              f"vot:{sequence}", "--sentence", "the red car", "--repeats", "2", "--warmup", "1", "--json"]
    try:
        on = main(common + ["--mean_depth", "2"])
        off = main(common + ["--set", "TEST.HALTING=false"])
    finally:
        torch.set_num_threads(threads)
    assert on["num_frames"] == 3 and "seq frames 0 and 1..3" in on["inputs"]
    halting = on["halting"]
    assert halting["off"]["mean_depth"] == 3.0
    assert 1.0 <= halting["on"]["mean_depth"] < 3.0  # gate 3 / 0 on random weights: tokens halt early
    assert halting["forced"]["mean_depth"] == pytest.approx(2.0, abs=0.35)  # depths 1..3 drawn around 2
    assert halting["on"]["flops"] < halting["off"]["flops"] and halting["forced"]["flops"] < halting["off"]["flops"]
    # the headline figures follow TEST.HALTING: on = the learned gate's pruned path, off = full depth
    assert on["flops"] == halting["on"]["flops"] and off["flops"] == halting["off"]["flops"]
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["halting"]["off"]["mean_depth"] == 3.0


def test_halting_map_draws_each_tokens_depth(halting_checkpoint, tmp_path, avltrack_net):
    from lib.test.tracker.build import build_tracker
    from lib.test.tracker.crops import sequence_crops
    from tracking.halting_map import main, token_depths
    yaml_path, checkpoint, sequence = halting_checkpoint
    out = main(["avltrack", str(yaml_path), "--checkpoint", str(checkpoint), "--dataset", f"vot:{sequence}",
                "--num_frames", "2", "--stride", "1", "--out", str(tmp_path / "map.png")])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tracker = build_tracker("avltrack", str(yaml_path), str(checkpoint), halting=True)
    tracker.encode_sentence("the red car")
    crops = sequence_crops(tracker.test, f"vot:{sequence}", None, 1)
    with torch.inference_mode():
        template, search = token_depths(tracker, crops.template, crops.searches[0])
        expected = tracker.network(tracker._to_input(crops.template), tracker._to_input(crops.searches[0]))
    assert template.shape == (4, 4) and search.shape == (8, 8)  # 64 / 16 and 128 / 16 patches a side
    depth = expected["backbone"]["halting"]["depth"][0].numpy()
    assert np.array_equal(np.concatenate([template.ravel(), search.ravel()]), depth)
    assert depth.min() >= 1 and depth.max() <= 3 and depth.min() < 3
