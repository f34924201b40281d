"""AVLTrack at test time: the one-stream tracker, with the sentence encoded once per sequence at ``initialize``
and given to every frame's forward. No sentence (None or empty) tracks on vision alone: the fusion lets every
token through unchanged. A model with token halting halts as ``TEST.HALTING`` says (on: the pruned path, halted
tokens dropped; off: every token runs every block)."""
from __future__ import annotations

import torch

from lib.models.avltrack import EncodedText, apply_test_halting
from lib.test.tracker.ostrack import OSTrackTracker


class AVLTrackTracker(OSTrackTracker):
    def __init__(self, net: torch.nn.Module, cfg, device: str | torch.device = "cpu"):
        super().__init__(net, cfg, device)
        self.max_text_len = cfg.DATA.MAX_TEXT_LEN
        self.text: EncodedText | None = None
        apply_test_halting(self.net, cfg)

    @torch.inference_mode()
    def encode_sentence(self, sentence: str | None) -> None:
        super().encode_sentence(sentence)
        self.text = self.net.encode_sentence(sentence, self.max_text_len)

    def network(self, template: torch.Tensor, search: torch.Tensor) -> dict:
        return self.runner(template, search, text=self.text)
