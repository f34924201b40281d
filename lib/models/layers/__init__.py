"""Transformer building blocks shared by the backbones (timm parameter names)."""
from lib.models.layers.attention import Attention, attention_probs
from lib.models.layers.block import Block, BlockFn, TokenFilter, standard_block
from lib.models.layers.candidate_elimination import (SearchTokenEliminator, num_kept, template_centre_mask,
                                                     template_centre_rows)

__all__ = ["Attention", "Block", "BlockFn", "SearchTokenEliminator", "TokenFilter", "attention_probs", "num_kept",
           "standard_block", "template_centre_mask", "template_centre_rows"]
