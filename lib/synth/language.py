"""The sequence's sentence: what tells the target apart from the distractors.

It names the target's colour and class, its motion direction over the first frames and where it is
relative to the nearest distractor at frame 1. When a look-alike twin crosses the target's path, the
sentence instead says how each of the two moves around the crossing, the one thing that tells them apart
(as an annotator who watched the whole video would). Directions are image directions (left/right/up/down,
above/below), so the training pipeline can swap left and right when it flips an image horizontally.
"""
from __future__ import annotations

import numpy as np

from .scene import Agent, Scene
from .shapes import CLASSES

MOTION_FRAMES = 10  # direction of motion measured over the first frames
CROSSING_FRAMES = 8  # with a twin: direction measured from this many frames before the crossing to as many after
DIAGONAL_RATIO = 2.0  # one axis dominates the motion when it is this many times the other
SMALL_RATIO, LARGE_RATIO = 0.8, 1.25  # target size vs the same-class distractors' mean for 'small'/'large'

NOUNS = {"car": ("car",), "van": ("van",), "truck": ("truck", "lorry"), "bus": ("bus",), "boat": ("boat",),
         "person": ("person", "pedestrian")}


def motion_direction(agent: Agent, frames: int = MOTION_FRAMES, start: int = 0) -> str:
    """'left', 'up and to the right', ... from the image displacement over ``frames`` frames from ``start``."""
    n = len(agent.path.x)
    start = min(max(start, 0), n - 1)
    k = min(start + frames, n - 1)
    dx = float(agent.path.x[k] - agent.path.x[start])
    dy = float(agent.path.y[k] - agent.path.y[start])
    horizontal = "right" if dx > 0 else "left"
    vertical = "down" if dy > 0 else "up"
    if abs(dx) >= DIAGONAL_RATIO * abs(dy):
        return horizontal
    if abs(dy) >= DIAGONAL_RATIO * abs(dx):
        return vertical
    return f"{vertical} and to the {horizontal}"


def relation(target: Agent, other: Agent) -> str:
    """Where the target is relative to ``other`` at frame 1: 'above', 'below', 'left of', 'right of'."""
    dx = float(target.path.x[0] - other.path.x[0])
    dy = float(target.path.y[0] - other.path.y[0])
    if abs(dy) >= abs(dx):
        return "below" if dy > 0 else "above"
    return "right of" if dx > 0 else "left of"


def nearest_distractor(scene: Scene) -> Agent | None:
    t = scene.target
    if not scene.distractors:
        return None
    dists = [np.hypot(d.path.x[0] - t.path.x[0], d.path.y[0] - t.path.y[0]) for d in scene.distractors]
    return scene.distractors[int(np.argmin(dists))]


def _size_word(scene: Scene) -> str:
    same = [d.size for d in scene.distractors if d.class_name == scene.target.class_name]
    if not same:
        return ""
    ratio = scene.target.size / float(np.mean(same))
    return "small" if ratio < SMALL_RATIO else "large" if ratio > LARGE_RATIO else ""


def _noun_phrase(rng: np.random.Generator, agent: Agent, size_word: str = "") -> str:
    noun = NOUNS[agent.class_name][rng.integers(len(NOUNS[agent.class_name]))]
    adjectives = f"{size_word} " if size_word else ""
    if agent.class_name == "person":
        return f"{adjectives}{noun} in {agent.colour_name}"
    return f"{adjectives}{agent.colour_name} {noun}"


def _indefinite(phrase: str) -> str:
    return "an" if phrase[:1] in "aeiou" else "a"


def _describe_with_twin(scene: Scene, rng: np.random.Generator) -> str:
    target, twin = scene.target, scene.twin
    start = scene.twin_crossing - CROSSING_FRAMES
    own, other = (motion_direction(a, 2 * CROSSING_FRAMES, start) for a in (target, twin))
    verbs = CLASSES[target.class_name].verbs
    subject = _noun_phrase(rng, target)
    motion = f"{verbs[rng.integers(len(verbs))]} {own}"
    if own == other:  # rare: the headings differ but round to the same words; fall back to 'the other one'
        return f"the {subject} {motion}, not the other {subject}"
    templates = [
        f"the {subject} {motion}, not the one moving {other}",
        f"the {subject} {motion}, not the other {subject} moving {other}",
        f"{_indefinite(subject)} {subject} {motion} that crosses another one moving {other}",
    ]
    return templates[rng.integers(len(templates))]


def describe(scene: Scene, rng: np.random.Generator) -> str:
    target = scene.target
    if scene.twin is not None:
        return _describe_with_twin(scene, rng)
    size_word = _size_word(scene) if rng.random() < 0.6 else ""
    subject = _noun_phrase(rng, target, size_word)
    verbs = CLASSES[target.class_name].verbs
    motion = f"{verbs[rng.integers(len(verbs))]} {motion_direction(target)}"
    other = nearest_distractor(scene)
    if other is None:
        return f"the {subject} {motion}"
    rel = relation(target, other)
    if rel.endswith(" of") and rng.random() < 0.5:
        rel = f"to the {rel}"
    if other.class_name == target.class_name and rng.random() < 0.6:
        reference = f"the {other.colour_name} one"
    else:
        reference = f"the {_noun_phrase(rng, other)}"
    article = _indefinite(subject)
    templates = [
        f"the {subject} {motion}, {rel} {reference}",
        f"{article} {subject} {rel} {reference}, {motion}",
        f"the {subject} {rel} {reference}, {motion}",
        f"{article} {subject} {motion}, {rel} {reference}",
    ]
    if rel in ("above", "below"):  # reads well without a comma: "the red truck moving left below the white one"
        templates.append(f"the {subject} {motion} {rel} {reference}")
    return templates[rng.integers(len(templates))]
