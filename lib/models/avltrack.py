"""AVLTrack, language half: the one-stream ViT tracker reading a sentence about its target.

The sentence goes through a pretrained BERT-family encoder (``lib.models.language.TextEncoder``), token by token;
its features are projected to the backbone width and enter the vision token stream by cross-attention
(``lib.models.layers.fusion``) after the patch embedding and again after the blocks of
``MODEL.LANGUAGE.FUSE_AFTER`` (the paper's multi-level language perception), through the backbone's token hook:
no second copy of the ViT loop. For training, three L2-normalised vectors feed the NT-Xent terms of the actor:
the template and search embeddings before any fusion, and the sentence, each mean-pooled and projected. With
``MODEL.HALTING.ENABLED`` the backbone's tokens halt (A-ViT, ``lib/models/backbones/vit_halting.py``); the fusion
after a block then reaches the tokens still running.

Where the reference differs (``shared/reference/avltrack_spec.md`` §0, §2.2): there, one constant vector (the
untrained ``[CLS]`` embedding) stands for every sentence, and its cross-attention runs across the batch instead of
across words; here every word of the sentence is attended to. The reference's contrastive projections flatten
every token (12.6 M parameters for the search vector); here the tokens are mean-pooled first.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lib.models.heads import CenterHead
from lib.models.layers.fusion import LanguageCrossAttention
from lib.models.ostrack import OSTrack, build_backbone

EMBEDDING = -1  # token hook index of the patch embedding (before the first block)


@dataclass
class EncodedText:
    """A sentence (batch) ready for fusion: ``tokens`` (B, L, C) projected to the backbone width, ``mask`` (B, L)
    1 = word, ``valid`` (B,) False = no sentence (the sample passes through every fusion unchanged)."""
    tokens: Tensor
    mask: Tensor
    valid: Tensor

    def expand(self, batch: int) -> "EncodedText":
        """The same sentence for a batch of ``batch`` frames (a tracker encodes once per sequence)."""
        if self.tokens.shape[0] == batch:
            return self
        return EncodedText(self.tokens.expand(batch, -1, -1), self.mask.expand(batch, -1), self.valid.expand(batch))


def masked_mean(tokens: Tensor, mask: Tensor) -> Tensor:
    weights = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class AVLTrack(OSTrack):
    def __init__(self, backbone: nn.Module, head: nn.Module, text_encoder: nn.Module, fuse_after: list[int],
                 fusion_heads: int, top_k: int = 0, fusion_gain: float = 0.1, contrastive_dim: int = 256,
                 sentence_cache=None):
        super().__init__(backbone, head)
        width = backbone.embed_dim
        bad = [i for i in fuse_after if not EMBEDDING <= i < len(backbone.blocks)]
        if bad or len(set(fuse_after)) != len(fuse_after):
            raise ValueError(f"MODEL.LANGUAGE.FUSE_AFTER {fuse_after}: distinct block indices in "
                             f"[{EMBEDDING}, {len(backbone.blocks)}) expected ({EMBEDDING} = after the patch "
                             f"embedding)")
        self.text_encoder = text_encoder
        # a frozen encoder's output depends only on the ids: each distinct sentence is encoded once (not a module:
        # it holds no weights of its own, and must not be saved)
        self.sentence_cache = sentence_cache
        self.text_proj = nn.Sequential(nn.Linear(text_encoder.hidden_size, width), nn.LayerNorm(width, eps=1e-6))
        self.fusions = nn.ModuleDict({str(i): LanguageCrossAttention(width, fusion_heads, top_k, fusion_gain)
                                      for i in fuse_after})
        self.contrastive = nn.ModuleDict({name: nn.Linear(width, contrastive_dim)
                                          for name in ("template", "search", "text")})

    # -- language ----------------------------------------------------------------------------------------------------
    def encode_text(self, ids: Tensor | None, mask: Tensor | None, valid: Tensor | None, batch: int = 1,
                    device: torch.device | None = None) -> EncodedText:
        """Token ids (B, L) -> :class:`EncodedText`; no ids (a tracker or pair without sentence) -> an invalid
        one-token sentence that every fusion ignores."""
        if ids is None:
            device = device or self.text_proj[0].weight.device
            width = self.text_proj[0].out_features
            return EncodedText(torch.zeros(batch, 1, width, device=device), torch.ones(batch, 1, dtype=torch.long,
                                                                                       device=device),
                               torch.zeros(batch, dtype=torch.bool, device=device))
        # "is not None": an empty cache is falsy (it has a length)
        encode = self.sentence_cache if self.sentence_cache is not None else self.text_encoder
        features = encode(ids, mask)
        if valid is None:
            valid = mask.sum(dim=1) > 2  # more than [CLS] [SEP]
        return EncodedText(self.text_proj(features), mask, valid.bool())

    def encode_sentence(self, sentence: str | None, max_len: int) -> EncodedText:
        """One sentence (None or empty: none), tokenised with the encoder's own vocabulary and encoded: what a
        tracker does once per sequence."""
        tokens = self.text_encoder.tokenizer(max_len)(sentence)
        device = self.text_proj[0].weight.device
        return self.encode_text(tokens["ids"][None].to(device), tokens["mask"][None].to(device),
                                torch.tensor([tokens["valid"]], device=device))

    # -- forward -------------------------------------------------------------------------------------------------------
    def forward(self, template: Tensor, search: Tensor, text_ids: Tensor | None = None,
                text_mask: Tensor | None = None, text_valid: Tensor | None = None, text: EncodedText | None = None,
                ce_template_mask: Tensor | None = None, ce_keep_rate: float | None = None,
                return_intermediates: bool | Iterable[int] = False) -> dict:
        """As OSTrack's forward, plus the sentence: token ids (``text_ids``/``text_mask``/``text_valid``, as the
        training pairs carry them) or an already encoded ``text`` (a tracker encodes once per sequence)."""
        batch = template.shape[0]
        if text is None:
            text = self.encode_text(text_ids, text_mask, text_valid, batch, template.device)
        text = text.expand(batch)
        embedding: list[Tensor] = []

        def fuse(index: int, tokens: Tensor) -> Tensor:
            if index == EMBEDDING:
                embedding.append(tokens)
            fusion = self.fusions[str(index)] if str(index) in self.fusions else None
            return tokens if fusion is None else fusion(tokens, text.tokens, text.mask, text.valid)

        feats = self.backbone(template, search, ce_template_mask=ce_template_mask, ce_keep_rate=ce_keep_rate,
                              return_intermediates=return_intermediates, token_hook=fuse)
        out = self.predict(feats)
        if self.training:
            out["contrastive"] = self._contrastive_vectors(embedding[0], text, feats["template_tokens"].shape[1])
        return out

    def _contrastive_vectors(self, embedding: Tensor, text: EncodedText, num_template: int) -> dict:
        """Unit vectors for the NT-Xent terms: template and search embeddings before fusion, and the sentence."""
        pooled = {"template": embedding[:, :num_template].mean(dim=1),
                  "search": embedding[:, num_template:].mean(dim=1), "text": masked_mean(text.tokens, text.mask)}
        vectors = {name: F.normalize(self.contrastive[name](value), dim=-1) for name, value in pooled.items()}
        vectors["text_valid"] = text.valid
        return vectors


def build_text_encoder(cfg) -> nn.Module:
    from lib.models.language.encoder import TextEncoder  # imported here: transformers is slow to import
    language = cfg.MODEL.LANGUAGE
    return TextEncoder(language.ENCODER, freeze=language.FREEZE, train_top_layers=language.TRAIN_TOP_LAYERS)


def has_halting(cfg) -> bool:
    """Whether the network of ``cfg`` halts tokens (A-ViT, ``MODEL.HALTING.ENABLED``; AVLTrack only)."""
    return bool(cfg.MODEL.get("HALTING", {}).get("ENABLED", False))


def apply_test_halting(net: nn.Module, cfg) -> None:
    """``TEST.HALTING`` on a built network that halts (on: halted tokens dropped; off: every token runs every
    block); other networks are left alone. Not done at build time: training always halts."""
    if has_halting(cfg):
        net.backbone.halting = bool(cfg.TEST.HALTING)


def build_avltrack_backbone(cfg) -> nn.Module:
    """The one-stream ViT, with A-ViT token halting when ``MODEL.HALTING.ENABLED``."""
    halting = cfg.MODEL.HALTING
    if not halting.ENABLED:
        return build_backbone(cfg)
    from lib.models.backbones.vit_halting import HaltingViT
    return build_backbone(cfg, HaltingViT, gate_scale=halting.GATE_SCALE, gate_bias=halting.GATE_BIAS,
                          eps=halting.EPS)


def build_avltrack(cfg, text_encoder: nn.Module | None = None) -> AVLTrack:
    """The network of ``cfg``; ``text_encoder`` replaces the configured one (tests use a small random one)."""
    language, bb = cfg.MODEL.LANGUAGE, cfg.MODEL.BACKBONE
    encoder = text_encoder if text_encoder is not None else build_text_encoder(cfg)
    cache = None
    if language.CACHE:
        from lib.models.language.encoder import SentenceCache
        cache = SentenceCache(encoder)
    return AVLTrack(build_avltrack_backbone(cfg), CenterHead(bb.EMBED_DIM, cfg.MODEL.HEAD.NUM_CHANNELS), encoder,
                    fuse_after=list(language.FUSE_AFTER), fusion_heads=language.FUSION_HEADS,
                    top_k=language.TOP_K, fusion_gain=language.FUSION_GAIN,
                    contrastive_dim=language.CONTRASTIVE_DIM, sentence_cache=cache)
