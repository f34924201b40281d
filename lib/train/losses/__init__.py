from lib.train.losses.box import giou_l1_losses, giou_l1_per_sample
from lib.train.losses.contrastive import nt_xent
from lib.train.losses.distill import (attention_loss, hint_loss, response_gate, response_loss,
                                      spatial_loss)
from lib.train.losses.focal import focal_loss_per_sample, focal_loss_with_logits
from lib.train.losses.halting import distribution_prior_loss, ponder_loss

__all__ = ["attention_loss", "distribution_prior_loss", "focal_loss_per_sample", "focal_loss_with_logits",
           "giou_l1_losses", "giou_l1_per_sample", "hint_loss", "nt_xent", "ponder_loss", "response_gate",
           "response_loss", "spatial_loss"]
