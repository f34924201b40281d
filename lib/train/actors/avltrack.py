"""AVLTrack's objective: OSTrack's focal + GIoU + L1, plus three NT-Xent terms that align the search and template
embeddings with the sentence and with each other (``avltrack_spec.md`` §3; weights and temperature from
``TRAIN.NTX_*``: 0.25 (search, sentence), 0.25 (template, sentence), 0.5 (search, template), tau 0.5).

The sentence terms use only the pairs that have a sentence. Under DDP the vectors of all ranks are gathered with
gradients (``all_gather_cat``), so the negatives are the global batch, not one process's share as in the
reference.

When the backbone halts (``MODEL.HALTING.ENABLED``), A-ViT's ponder loss and depth-distribution prior are added
with weights ``TRAIN.PONDER_WEIGHT`` and ``TRAIN.HALT_PRIOR_WEIGHT`` (the reference builds both and adds neither),
and the mean depth of template and search tokens is logged.
"""
from __future__ import annotations

import torch

from lib.train.actors.ostrack import OSTrackActor
from lib.train.admin.distributed import all_gather_cat
from lib.train.losses import distribution_prior_loss, nt_xent, ponder_loss


class AVLTrackActor(OSTrackActor):
    def __call__(self, batch: dict) -> tuple[torch.Tensor, dict]:
        out = self.net(batch["template_images"][:, 0], batch["search_images"][:, 0], text_ids=batch.get("text_ids"),
                       text_mask=batch.get("text_mask"), text_valid=batch.get("text_valid"),
                       ce_keep_rate=self.keep_rate())
        loss, stats = self.compute_losses(out, batch["search_anno"][:, 0], batch["search_heatmap"][:, 0])
        if "contrastive" in out:  # training mode only
            contrastive, terms = self.contrastive_losses(out["contrastive"])
            loss = loss + contrastive
            stats.update(terms)
        if self.cfg.MODEL.HALTING.ENABLED:
            halting, terms = self.halting_losses(out["backbone"])
            loss = loss + halting
            stats.update(terms)
        stats["Loss/total"] = loss.detach()
        return loss, stats

    def contrastive_losses(self, vectors: dict) -> tuple[torch.Tensor, dict]:
        train = self.cfg.TRAIN
        search, template, text = (all_gather_cat(vectors[k]) for k in ("search", "template", "text"))
        valid = all_gather_cat(vectors["text_valid"].to(torch.uint8)).bool()
        terms = {
            "Loss/ntx_search_text": (train.NTX_SEARCH_TEXT_WEIGHT, nt_xent(search, text, train.NTX_TEMPERATURE, valid)),
            "Loss/ntx_template_text": (train.NTX_TEMPLATE_TEXT_WEIGHT,
                                       nt_xent(template, text, train.NTX_TEMPERATURE, valid)),
            "Loss/ntx_search_template": (train.NTX_SEARCH_TEMPLATE_WEIGHT,
                                         nt_xent(search, template, train.NTX_TEMPERATURE)),
        }
        total = sum(weight * value for weight, value in terms.values())
        return total, {name: value.detach() for name, (_, value) in terms.items()}

    def halting_losses(self, feats: dict) -> tuple[torch.Tensor, dict]:
        """Weighted ponder + prior terms, and stats: both terms unweighted, mean blocks run by template and search
        tokens."""
        train, halting = self.cfg.TRAIN, feats["halting"]
        ponder = ponder_loss(halting["ponder"])
        prior = distribution_prior_loss(halting["layer_halt"], train.HALT_TARGET_DEPTH)
        num_template = feats["template_tokens"].shape[1]
        depth = halting["depth"].detach()
        stats = {"Loss/ponder": ponder.detach(), "Loss/halt_prior": prior.detach(),
                 "Halt/depth_template": depth[:, :num_template].mean(),
                 "Halt/depth_search": depth[:, num_template:].mean()}
        return train.PONDER_WEIGHT * ponder + train.HALT_PRIOR_WEIGHT * prior, stats
