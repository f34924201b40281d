"""Named target colours (RGB). The name is the word the sentence uses, so each colour must look like its name."""
from __future__ import annotations

import numpy as np

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (196, 32, 30),
    "blue": (36, 76, 200),
    "green": (40, 150, 60),
    "yellow": (232, 204, 40),
    "white": (236, 236, 232),
    "black": (28, 28, 32),
    "orange": (240, 128, 24),
    "silver": (160, 164, 170),
    "purple": (120, 50, 160),
}
COLOUR_NAMES = tuple(COLOURS)

GLASS = (34, 40, 52)  # windscreens and bus windows
HAIR = (46, 34, 26)  # person's head seen from above


def shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    """Darker (factor < 1) or lighter (factor > 1) version of a colour, as cv2 wants it: a tuple of ints."""
    arr = np.clip(np.asarray(rgb, np.float32) * factor, 0, 255)
    return tuple(int(v) for v in arr)


def jitter(rgb: tuple[int, int, int], rng: np.random.Generator, amount: float = 10.0) -> tuple[int, int, int]:
    """A slightly varied colour so that two objects of one colour name are not pixel-identical."""
    arr = np.clip(np.asarray(rgb, np.float32) + rng.normal(0.0, amount, 3), 0, 255)
    return tuple(int(v) for v in arr)
