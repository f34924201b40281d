"""Fixed parameters of the SynthUAV generator.

Anything that changes the generated pixels or annotations belongs here, and changing it must bump
GENERATOR_VERSION: an existing split folder records the version it was made with and refuses a rerun that
would mix two generations.
"""
from __future__ import annotations

GENERATOR_NAME = "synth_uav"
GENERATOR_VERSION = 3  # 2: look-alike twins crossing the target; 3: targets starting partly hidden

FRAME_W, FRAME_H = 320, 240
JPEG_QUALITY = 90

SPLIT_IDS = {"train": 1, "val": 2, "test": 3}  # part of every sequence's seed: splits never share seeds
SPLITS = tuple(SPLIT_IDS)
NIGHT_SUFFIX = "_night"

# frames per sequence, drawn uniformly per sequence from this inclusive range
SEQUENCE_LENGTHS = {"train": (56, 64), "val": (100, 120), "test": (100, 120)}
DEFAULT_COUNTS = {"train": 200, "val": 20, "test": 30}

DAY_NOISE_SIGMA = 3.0  # grey levels, Gaussian sensor noise on day frames

# a frame is annotated absent (0,0,0,0) when less than this fraction of the target's pixels is visible
# (inside the image and not under an occluder)
ABSENT_MAX_VISIBLE = 0.10
# scenes whose target is absent in more than this fraction of frames are rebuilt
MAX_ABSENT_FRACTION = 0.35
