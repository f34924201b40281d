"""What a language tracker is told at test time: ``given`` (each sequence's own sentence), ``shuffled`` (another
sequence's sentence: a fixed, seeded derangement over the whole benchmark, so every shard and rerun agrees) or
``none`` (no sentence). The ablations' results go to their own folders (``<param>-lang_<mode>``, named by
``variants.py``), so the three runs never mix with or skip each other."""
from __future__ import annotations

import dataclasses

import numpy as np

from lib.test.evaluation import variants

LANGUAGE_MODES = ("given", "shuffled", "none")
DERANGEMENT_SEED = 0


def derangement(count: int, seed: int = DERANGEMENT_SEED) -> np.ndarray:
    """A permutation of ``range(count)`` with no fixed point (Sattolo's algorithm: one cycle through all), seeded."""
    order = np.arange(count)
    rng = np.random.default_rng(seed)
    for i in range(count - 1, 0, -1):
        j = int(rng.integers(i))  # j < i: never i itself
        order[i], order[j] = order[j], order[i]
    return order


def apply_language_mode(sequences: list, mode: str) -> list:
    """The sequences with their sentences as ``mode`` says (call on the whole benchmark, before selecting)."""
    if mode not in LANGUAGE_MODES:
        raise ValueError(f"--language must be one of {', '.join(LANGUAGE_MODES)}, got {mode!r}")
    if mode == "given":
        return list(sequences)
    if mode == "none":
        return [dataclasses.replace(s, language=None) for s in sequences]
    if len(sequences) < 2:
        raise ValueError("--language shuffled needs at least two sequences to exchange sentences")
    other = derangement(len(sequences))
    return [dataclasses.replace(s, language=sequences[int(j)].language) for s, j in zip(sequences, other)]


def results_param(param: str, mode: str) -> str:
    """The results folder's ``<param>`` part: the config name, marked for an ablation (``variants.py``)."""
    return variants.results_param(param, language=mode)
