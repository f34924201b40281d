"""Defaults of the MLKD family: a pool of compact one-stream students (the one-stream family's keys describe their
shared settings: crops, patch size, head, training) distilled from a frozen teacher, with the mutual-learning room.
Every key a yaml file may set is listed here; the per-student lists have one entry per student."""
import copy

from lib.config.ostrack.config import DEFAULTS as _ONE_STREAM
from lib.config.ostrack.config import LIST_ELEMENT_TYPES as _ONE_STREAM_LISTS

DEFAULTS = copy.deepcopy(_ONE_STREAM)
DEFAULTS["MODEL"]["NETWORK"] = "mlkd"
DEFAULTS["MLKD"] = {
    "TEACHER": {
        "SCRIPT": "ostrack",         # the teacher's tracker family (ostrack | avltrack)
        "CONFIG": "synth_tiny",      # its config (experiments/<SCRIPT>/<CONFIG>.yaml or a yaml path)
        "CHECKPOINT": "",            # "" = epoch TEST.EPOCH of that config under the output root
        "ENHANCER": "",              # DarkLighter weights (pretrained_models/darklighter/Epoch193.pth); "" = none
        "FRAME_CACHE": False,        # true: enhance the training frames once, on disk (for CPUs); false: enhance
                                     # the teacher's crops every step (lib/train/dataset/enhanced_twin.py)
    },
    "STUDENTS": {                    # one entry per student
        "EMBED_DIM": [192, 192, 192, 192],
        "DEPTH": [4, 4, 4, 4],
        "NUM_HEADS": [3, 3, 3, 3],
        "KIND": ["hint", "spatial", "response", "attention"],  # its distillation term (lib/train/losses/distill.py)
        "DISTILL_WEIGHT": [1.0, 1.0, 1.0, 1.0],
        "BACKBONE_MULTIPLIER": [1.0, 1.0, 1.0, 1.0],            # its backbone LR = TRAIN.LR x this
        "PRETRAIN_FILE": ["", "", "", ""],  # its backbone's start (pretrained_models/; a shallower student takes
                                            # the first blocks of a deeper ViT); "" = random init
    },
    "TAU": 4.0,                      # temperature of the response term (spatial softmax of the score logits)
    "GATE": "sample",                # response term only where the student does worse than the teacher: sample |
                                     # batch (MLKD) | off (always)
    "MUTUAL": {
        "ENABLED": True,             # false: each student learns from the teacher alone
        "ELECT": "psr",              # psr | iou | loss
        "WEIGHT": 1.0,               # weight of the peer term towards the elected student
        "GATE": "sample",            # peer term only where the elected student does at least as well on the GT:
                                     # sample | batch | off (MLKD: always)
    },
}

DEFAULTS["TEST"]["STUDENT"] = 0      # which student tracking/test.py mlkd <config> runs (MLKD-Track: the chosen one)

LIST_ELEMENT_TYPES = dict(_ONE_STREAM_LISTS)
