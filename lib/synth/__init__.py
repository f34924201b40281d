"""SynthUAV: a procedurally generated aerial single-object tracking benchmark, written in the WebUAV-3M
on-disk layout so that the real-format readers load it. Needs no download; a few hundred sequences are
generated on a CPU in under a minute.

    generate_split(root, 'test')              # <root>/test/synth_test_0000/...
    generate_split(root, 'test', night=True)  # the same scenes at night in <root>/test_night/
    make_montage(root, 'montage.png')
"""
from .constants import DEFAULT_COUNTS, FRAME_H, FRAME_W, GENERATOR_VERSION, SPLITS
from .montage import make_montage
from .writer import GENERATION_FILE, PROGRESS_FILE, GenerationMismatchError, generate_split, sequence_name, split_dir

__all__ = ["generate_split", "make_montage", "DEFAULT_COUNTS", "SPLITS", "FRAME_W", "FRAME_H",
           "GENERATOR_VERSION", "GENERATION_FILE", "PROGRESS_FILE", "GenerationMismatchError", "sequence_name", "split_dir"]
