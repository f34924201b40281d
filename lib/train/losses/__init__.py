from lib.train.losses.box import giou_l1_losses
from lib.train.losses.contrastive import nt_xent
from lib.train.losses.focal import focal_loss_with_logits
from lib.train.losses.halting import distribution_prior_loss, ponder_loss

__all__ = ["distribution_prior_loss", "focal_loss_with_logits", "giou_l1_losses", "nt_xent", "ponder_loss"]
