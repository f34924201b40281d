"""One-stream ViT backbone: shapes, candidate elimination, attention paths, gradients, swappable blocks, pretrained
loading with timm names, the packed-linear inference path and FLOP counting. Tiny models only (CPU, fast)."""
from __future__ import annotations

import argparse
import json
import math
from fractions import Fraction

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.layers import resample_abs_pos_embed
from torch.utils.flop_counter import FlopCounterMode

from lib.models.backbones import OneStreamViT, PretrainedLoadError, load_pretrained_vit
from lib.models.layers import Attention, Block, template_centre_mask, template_centre_rows
from lib.models.layers.linear import Linear, set_packed_linear


def images(batch: int, template: int, search: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 3, template, template, generator=gen),
            torch.randn(batch, 3, search, search, generator=gen))


def tiny(template: int = 32, search: int = 64, dim: int = 64, depth: int = 3, heads: int = 2, **kwargs) -> OneStreamViT:
    torch.manual_seed(0)
    return OneStreamViT(template_size=template, search_size=search, patch_size=16, embed_dim=dim, depth=depth,
                        num_heads=heads, drop_path_rate=0.0, **kwargs)


def exact_ceil(ratio: float, count: int) -> int:
    return math.ceil(Fraction(str(ratio)) * count)


# -- shapes and candidate elimination --------------------------------------------------------------------------------
@pytest.mark.parametrize("template,search,dim,depth,heads", [(32, 64, 64, 2, 2), (64, 128, 64, 4, 4),
                                                              (48, 96, 48, 3, 3)])
def test_shapes_without_ce(template, search, dim, depth, heads):
    model = tiny(template, search, dim, depth, heads).eval()
    z, x = images(2, template, search)
    out = model(z, x)
    nz, nx = (template // 16) ** 2, (search // 16) ** 2
    assert (model.num_template_tokens, model.num_search_tokens, model.search_feat_size) == (nz, nx, search // 16)
    assert model.embed_dim == dim
    assert out["tokens"].shape == (2, nz + nx, dim)
    assert out["search_tokens"].shape == (2, nx, dim) and out["template_tokens"].shape == (2, nz, dim)
    assert torch.equal(out["search_tokens"], out["tokens"][:, nz:])
    assert out["removed_indexes"] == []
    assert torch.equal(out["kept_search_index"], torch.arange(nx).expand(2, -1))


@pytest.mark.parametrize("template,search,depth,ce_loc,keep", [(32, 64, 3, (0, 2), (0.7, 0.5)),
                                                                (64, 128, 4, (1, 2, 3), (0.7, 0.7, 0.7)),
                                                                (32, 96, 2, (1,), (0.3,))])
def test_candidate_elimination_counts_and_zeros(template, search, depth, ce_loc, keep):
    model = tiny(template, search, 64, depth, 4, ce_loc=ce_loc, ce_keep_ratio=keep).eval()
    z, x = images(3, template, search, seed=1)
    out = model(z, x, return_intermediates=True)
    nz, nx = (template // 16) ** 2, (search // 16) ** 2
    assert out["tokens"].shape == (3, nz + nx, 64)

    remaining, seen_removed = nx, []
    for k, (index, ratio) in enumerate(zip(ce_loc, keep)):
        kept = exact_ceil(ratio, remaining)
        assert out["removed_indexes"][k].shape == (3, remaining - kept)
        assert out["block_tokens"][index].shape == (3, nz + kept, 64)  # after the CE block, before the next
        assert out["block_search_index"][index].shape == (3, kept)
        seen_removed.append(out["removed_indexes"][k])
        remaining = kept
    kept_index = out["kept_search_index"]
    assert kept_index.shape == (3, remaining)
    removed = torch.cat(seen_removed, dim=1)
    for b in range(3):  # kept and removed partition the search positions
        assert sorted(kept_index[b].tolist() + removed[b].tolist()) == list(range(nx))
    search_tokens = out["search_tokens"]
    dropped = torch.ones(3, nx, dtype=torch.bool).scatter(1, kept_index, False)
    assert torch.all(search_tokens[dropped] == 0)
    assert torch.all(search_tokens[~dropped].abs().sum(-1) > 0)


def test_ce_keep_rate_override_and_template_mask():
    model = tiny(32, 64, 64, 3, 2, ce_loc=(1,), ce_keep_ratio=(0.5,)).eval()
    z, x = images(2, 32, 64)
    assert model(z, x, ce_keep_rate=1.0)["removed_indexes"] == []  # warm-up start: nothing dropped
    assert model(z, x, ce_keep_rate=0.25)["removed_indexes"][0].shape == (2, 16 - 4)
    mask = torch.zeros(2, 4, dtype=torch.bool)
    mask[0, 0], mask[1, 3] = True, True  # a different template token per sample
    assert model(z, x, ce_template_mask=mask)["kept_search_index"].shape == (2, 8)
    with pytest.raises(ValueError, match="selects no template token"):
        model(z, x, ce_template_mask=torch.zeros(2, 4, dtype=torch.bool))


def test_template_centre_mask():
    even = template_centre_mask((8, 8))[0].view(8, 8)
    assert even.sum() == 4 and even[3:5, 3:5].all()
    odd = template_centre_mask((7, 7), batch=2)
    assert odd.shape == (2, 49) and odd.sum() == 2 and odd[0].view(7, 7)[3, 3]


def test_default_template_mask_is_the_centre():
    model = tiny(64, 128, 64, 2, 2, ce_loc=(0,), ce_keep_ratio=(0.5,)).eval()
    z, x = images(2, 64, 128)
    default = model(z, x)
    explicit = model(z, x, ce_template_mask=template_centre_mask((4, 4), batch=2))
    assert template_centre_rows((4, 4)) == [5, 6, 9, 10]
    assert torch.equal(default["kept_search_index"], explicit["kept_search_index"])
    assert torch.allclose(default["tokens"], explicit["tokens"], atol=1e-6)


def test_patch_embedding_gemm_equals_timm_patch_embed():
    model = tiny(32, 64).eval()
    z, x = images(2, 32, 64)
    tokens, grid_z, grid_x = model.embed(z, x)
    reference = torch.cat([model.patch_embed(z) + model.pos_embed_z, model.patch_embed(x) + model.pos_embed_x], 1)
    assert (grid_z, grid_x) == ((2, 2), (4, 4))
    assert torch.allclose(tokens, reference, atol=1e-5)


def test_sizes_not_multiple_of_patch():
    with pytest.raises(ValueError, match="search size 100x100 is not a positive multiple of the patch size 16"):
        tiny(32, 100)
    model = tiny(32, 64)
    with pytest.raises(ValueError, match="template size 40x40"):
        model(torch.randn(1, 3, 40, 40), torch.randn(1, 3, 64, 64))


def test_other_input_size_resamples_position_embeddings():
    model = tiny(32, 64).eval()
    out = model(*images(1, 32, 96))
    assert out["search_tokens"].shape == (1, 36, 64)


def test_ce_config_errors():
    with pytest.raises(ValueError, match="same length"):
        tiny(ce_loc=(1,), ce_keep_ratio=())
    with pytest.raises(ValueError, match="block indices"):
        tiny(depth=2, ce_loc=(2,), ce_keep_ratio=(0.5,))


# -- attention paths ------------------------------------------------------------------------------------------------
def test_sdpa_matches_explicit_attention():
    torch.manual_seed(0)
    attn = Attention(64, 4)
    x = torch.randn(2, 20, 64)
    fast, none = attn(x)
    explicit, probs = attn(x, return_attention=True)
    assert none is None and probs.shape == (2, 4, 20, 20)
    assert torch.allclose(fast, explicit, atol=1e-5)
    _, rows = attn(x, query_rows=torch.tensor([1, 5]))
    assert torch.allclose(rows, probs[:, :, [1, 5]], atol=1e-6)
    # a key mask (SDPA convention: True = may attend) gives the same result on both paths
    keys = torch.ones(2, 1, 1, 20, dtype=torch.bool)
    keys[..., 15:] = False
    masked_fast, _ = attn(x, keys)
    masked_explicit, masked_probs = attn(x, keys, return_attention=True)
    assert torch.allclose(masked_fast, masked_explicit, atol=1e-5) and masked_probs[..., 15:].abs().max() == 0


@pytest.mark.parametrize("ce", [False, True])
def test_backbone_same_output_with_and_without_attention_maps(ce):
    kwargs = {"ce_loc": (1, 2), "ce_keep_ratio": (0.6, 0.6)} if ce else {}
    model = tiny(64, 128, 64, 4, 4, **kwargs).eval()
    z, x = images(2, 64, 128)
    fast, explicit = model(z, x), model(z, x, return_intermediates=True)
    assert torch.allclose(fast["tokens"], explicit["tokens"], atol=1e-5)
    assert [r.tolist() for r in fast["removed_indexes"]] == [r.tolist() for r in explicit["removed_indexes"]]


def test_intermediates_tokens_and_attention_rows_sum_to_one():
    model = tiny(32, 64, 64, 4, 2, ce_loc=(2,), ce_keep_ratio=(0.5,)).eval()
    out = model(*images(2, 32, 64), return_intermediates=True)
    assert len(out["block_tokens"]) == len(out["block_attention"]) == len(out["block_search_index"]) == 4
    sequence = [20, 20, 20, 12]  # block 2 sees 20 tokens and drops 8 search tokens for block 3
    assert [t.shape[1] for t in out["block_tokens"].values()] == [20, 20, 12, 12]
    for attention, n in zip(out["block_attention"].values(), sequence):
        assert attention.shape == (2, 2, n, n)
        assert torch.allclose(attention.sum(-1), torch.ones(2, 2, n), atol=1e-5)


# -- training-side properties ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("ce", [False, True])
def test_every_parameter_gets_a_gradient(ce):
    kwargs = {"ce_loc": (0, 1), "ce_keep_ratio": (0.7, 0.7)} if ce else {}
    model = OneStreamViT(32, 64, 16, 64, 3, 2, drop_path_rate=0.1, **kwargs).train()
    model(*images(2, 32, 64))["tokens"].pow(2).mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert missing == []


def test_swapped_block_fn_is_used():
    calls: list[int] = []
    built: list[tuple] = []

    class CountingBlock(Block):
        def forward(self, x, attn_mask=None, **kwargs):
            calls.append(x.shape[1])
            return super().forward(x, attn_mask, **kwargs)

    def block_fn(dim, num_heads, mlp_ratio, drop_path, index):
        built.append((dim, num_heads, mlp_ratio, index))
        return CountingBlock(dim, num_heads, mlp_ratio, drop_path)

    model = tiny(32, 64, 64, 3, 2, block_fn=block_fn, ce_loc=(1,), ce_keep_ratio=(0.5,))
    model(*images(1, 32, 64))
    assert built == [(64, 2, 4.0, 0), (64, 2, 4.0, 1), (64, 2, 4.0, 2)]
    assert calls == [20, 20, 12]


def test_init_follows_vit():
    model = tiny()
    assert torch.all(model.blocks[0].attn.qkv.bias == 0) and torch.all(model.norm.weight == 1)
    assert 0.01 < model.blocks[0].mlp.fc1.weight.std() < 0.03 and 0.01 < model.pos_embed_x.std() < 0.03


# -- pretrained weights -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def timm_vit_tiny() -> dict:
    torch.manual_seed(0)
    return timm.create_model("vit_tiny_patch16_224", pretrained=False).eval()


def vit_tiny_backbone(template: int = 64, search: int = 128) -> OneStreamViT:
    return OneStreamViT(template, search, 16, 192, 12, 3, drop_path_rate=0.0).eval()


def test_load_timm_vit(timm_vit_tiny):
    source = timm_vit_tiny.state_dict()
    backbone = vit_tiny_backbone()
    report = load_pretrained_vit(backbone, {"model": source})
    assert set(report.ignored) == {"cls_token", "head.weight", "head.bias"}
    own = backbone.state_dict()
    for key in ("patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "blocks.11.mlp.fc2.bias", "norm.weight"):
        assert torch.equal(own[key], source[key])
    grid_tokens = source["pos_embed"][:, 1:]
    assert torch.equal(own["pos_embed_z"], resample_abs_pos_embed(grid_tokens, [4, 4], [14, 14], num_prefix_tokens=0))
    assert torch.equal(own["pos_embed_x"], resample_abs_pos_embed(grid_tokens, [8, 8], [14, 14], num_prefix_tokens=0))

    # same computation as timm's blocks on our token sequence
    z, x = images(1, 64, 128)
    with torch.no_grad():
        ours = backbone(z, x)["tokens"]
        tokens = torch.cat([timm_vit_tiny.patch_embed.proj(z).flatten(2).transpose(1, 2) + own["pos_embed_z"],
                            timm_vit_tiny.patch_embed.proj(x).flatten(2).transpose(1, 2) + own["pos_embed_x"]], 1)
        theirs = timm_vit_tiny.norm(timm_vit_tiny.blocks(tokens))
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_load_mae_style_file(tmp_path, timm_vit_tiny):
    source = dict(timm_vit_tiny.state_dict())
    del source["head.weight"], source["head.bias"]
    source.update({"mask_token": torch.zeros(1, 1, 192), "decoder_embed.weight": torch.zeros(128, 192),
                   "decoder_pos_embed": torch.zeros(1, 197, 128)})
    path = tmp_path / "mae_tiny.pth"
    torch.save({"model": source, "args": argparse.Namespace(lr=1.0), "epoch": 3}, path)
    report = load_pretrained_vit(vit_tiny_backbone(), path)
    assert {"mask_token", "decoder_embed.weight", "decoder_pos_embed"} <= set(report.ignored)


def test_load_errors(tmp_path, timm_vit_tiny):
    source = dict(timm_vit_tiny.state_dict())
    with pytest.raises(PretrainedLoadError, match="unexpected keys.*blocks.0.ls1.gamma"):
        load_pretrained_vit(vit_tiny_backbone(), {**source, "blocks.0.ls1.gamma": torch.ones(192)})
    partial = {k: v for k, v in source.items() if k != "blocks.3.attn.proj.weight"}
    with pytest.raises(PretrainedLoadError, match="not in the checkpoint: blocks.3.attn.proj.weight"):
        load_pretrained_vit(vit_tiny_backbone(), partial)
    wrong = {**source, "blocks.1.mlp.fc1.bias": torch.zeros(10)}
    with pytest.raises(PretrainedLoadError, match=r"blocks.1.mlp.fc1.bias: checkpoint \[10\] vs model \[768\]"):
        load_pretrained_vit(vit_tiny_backbone(), wrong)
    narrow = OneStreamViT(64, 128, 16, 96, 12, 3)  # embed 96 vs the file's 192
    with pytest.raises(PretrainedLoadError, match=r"patch_embed.proj.weight: checkpoint \[192, 3, 16, 16\] vs model"):
        load_pretrained_vit(narrow, source)
    missing = tmp_path / "nowhere" / "mae_pretrain_vit_base.pth"
    with pytest.raises(FileNotFoundError, match=f"{missing}.*pretrained_models"):
        load_pretrained_vit(vit_tiny_backbone(), missing)


def test_load_own_state_dict_into_larger_search():
    small = tiny(32, 64, 64, 2, 2)
    bigger = tiny(32, 96, 64, 2, 2)
    report = load_pretrained_vit(bigger, small.state_dict())
    assert report.resized == {"pos_embed_x": ((1, 16, 64), (1, 36, 64))}
    assert torch.equal(bigger.pos_embed_z, small.pos_embed_z)
    assert torch.equal(bigger.pos_embed_x, resample_abs_pos_embed(small.pos_embed_x, [6, 6], [4, 4],
                                                                  num_prefix_tokens=0))
    assert torch.equal(bigger.blocks[1].attn.qkv.weight, small.blocks[1].attn.qkv.weight)
    load_pretrained_vit(tiny(32, 64, 64, 2, 2), {"module." + k: v for k, v in small.state_dict().items()})


# -- packed-linear inference path and FLOP counting -------------------------------------------------------------------
def test_packed_linear_matches_and_follows_weight_updates():
    torch.manual_seed(0)
    layer = Linear(64, 96)
    x = torch.randn(2, 7, 64)
    with torch.inference_mode():
        assert torch.allclose(layer(x), F.linear(x, layer.weight, layer.bias), atol=1e-5)
    with torch.no_grad():
        layer.weight.mul_(2)  # version counter moves: the packed copy must be rebuilt
        assert torch.allclose(layer(x), F.linear(x, layer.weight, layer.bias), atol=1e-5)
    assert layer(x).requires_grad  # autograd on: plain F.linear


def test_backbone_same_output_with_packed_linear_on_and_off():
    model = tiny(64, 128, 64, 2, 4, ce_loc=(1,), ce_keep_ratio=(0.7,)).eval()
    z, x = images(1, 64, 128)
    with torch.inference_mode():
        packed = model(z, x)["tokens"]
        previous = set_packed_linear(False)
        try:
            plain = model(z, x)["tokens"]
        finally:
            set_packed_linear(previous)
    assert torch.allclose(packed, plain, atol=1e-5)


def test_flop_counter_counts_linears_attention_and_patch_embed():
    dim, depth, nz, nx = 64, 2, 4, 16
    model = tiny(32, 64, dim, depth, 2).eval()
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(*images(1, 32, 64))
    n = nz + nx
    expected = depth * (n * 2 * dim * dim * 12 + 4 * n * n * dim) + n * 2 * dim * 3 * 16 * 16
    assert counter.get_total_flops() == expected


def test_profile_script_json(capsys):
    from tracking.profile_model import main
    threads = torch.get_num_threads()
    try:
        result = main(["--script", "ostrack", "--backbone_only", "--repeats", "2", "--warmup", "1", "--json", "--set",
                       "MODEL.BACKBONE.EMBED_DIM=64", "MODEL.BACKBONE.DEPTH=2", "MODEL.BACKBONE.NUM_HEADS=2",
                       "TEST.TEMPLATE_SIZE=32", "TEST.SEARCH_SIZE=64"])
    finally:
        torch.set_num_threads(threads)  # the script sets --threads for the whole process
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"params", "params_inference", "flops", "latency_ms", "matmul_gflops"} <= set(last)
    assert last["params"] == last["params_inference"] == sum(p.numel() for p in tiny(32, 64, 64, 2, 2).parameters())
    assert last["flops"] == result["flops"] > 0 and last["latency_ms"] > 0


def test_intermediates_of_chosen_blocks_only():
    """return_intermediates=[1, 3]: those blocks' tokens and attention (equal to the all-blocks run's), no others;
    a block that does not exist is an error naming it."""
    model = tiny(32, 64, 64, 4, 2).eval()
    z, x = images(2, 32, 64)
    with torch.no_grad():
        every, chosen = model(z, x, return_intermediates=True), model(z, x, return_intermediates=[3, 1])
    for key in ("block_tokens", "block_attention", "block_search_index"):
        assert sorted(chosen[key]) == [1, 3]
        for index in (1, 3):
            torch.testing.assert_close(chosen[key][index], every[key][index])
    torch.testing.assert_close(chosen["tokens"], every["tokens"])
    assert "block_tokens" not in model(z, x, return_intermediates=[])
    with pytest.raises(ValueError, match=r"blocks \[4\] do not exist.*0\.\.3"):
        model(z, x, return_intermediates=[1, 4])
