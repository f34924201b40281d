"""The per-frame network of a tracker, as a graph with named tensor inputs and outputs.

What a tracker runs on every frame: the template crop and the search crop (and, for a language tracker, the sentence
it encoded once per sequence) in; the score map (after the sigmoid), the size map and the offset map out. Box
decoding, the Hann window and the crop geometry stay in the tracker (``lib/test/tracker/ostrack.py``), so both
backends share them. The text encoder is not part of it: a sentence is encoded once per sequence, in PyTorch, and
its projected tokens are inputs of every frame (``EncodedText``).
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from lib.models.avltrack import AVLTrack, EncodedText

OUTPUT_NAMES = ("score_map", "size_map", "offset_map")
IMAGE_INPUTS = ("template", "search")
TEXT_INPUTS = ("text_tokens", "text_mask", "text_valid")


class FrameNetwork(nn.Module):
    """``net``'s per-frame forward with tensors in and the three maps out, in ``input_names`` / ``OUTPUT_NAMES``
    order: what ``torch.onnx.export`` traces and what the PyTorch side of a parity check runs."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.reads_text = isinstance(net, AVLTrack)
        self.net = without_text_encoder(net) if self.reads_text else net
        self._encoder_of = net.encode_sentence if self.reads_text else None  # a bound method: not a submodule

    @property
    def input_names(self) -> tuple[str, ...]:
        return IMAGE_INPUTS + (TEXT_INPUTS if self.reads_text else ())

    def forward(self, template: Tensor, search: Tensor, text_tokens: Tensor | None = None,
                text_mask: Tensor | None = None, text_valid: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        extra = {"text": EncodedText(text_tokens, text_mask, text_valid)} if self.reads_text else {}
        out = self.net(template, search, **extra)
        return tuple(out[name] for name in OUTPUT_NAMES)

    def inputs(self, template: Tensor, search: Tensor, text: EncodedText | None = None) -> tuple[Tensor, ...]:
        """The graph's inputs, in ``input_names`` order, for crops (1, 3, H, W) and an encoded sentence (language
        trackers; None: no sentence)."""
        if not self.reads_text:
            return template, search
        if text is None:
            raise ValueError("a language tracker's frame network needs the encoded sentence (encode_sentence(None, "
                             "max_len) for none)")
        return template, search, text.tokens, text.mask, text.valid

    @torch.inference_mode()
    def example_inputs(self, test_cfg, max_text_len: int | None = None, sentence: str | None = None
                       ) -> tuple[Tensor, ...]:
        """Random crops at the sizes of ``test_cfg`` (a config's TEST) and, for a language tracker, ``sentence``
        encoded at ``max_text_len`` words (the length every frame's input has)."""
        device = next(self.net.parameters()).device
        generator = torch.Generator().manual_seed(0)
        template, search = (torch.randn(1, 3, size, size, generator=generator).to(device)
                            for size in (test_cfg.TEMPLATE_SIZE, test_cfg.SEARCH_SIZE))
        text = self._encoder_of(sentence or "a target", max_text_len) if self.reads_text else None
        return self.inputs(template, search, text)


def without_text_encoder(net: AVLTrack) -> AVLTrack:
    """A shallow copy of ``net`` sharing every module but its text encoder (left out of the graph and its weights)."""
    vision = copy.copy(net)
    vision._modules = {name: module for name, module in net._modules.items() if name != "text_encoder"}
    vision.sentence_cache = None
    return vision
