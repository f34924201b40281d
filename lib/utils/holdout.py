"""A fixed validation hold-out of a benchmark that is also trained on, so a model can be chosen without a test set.

MLKD trains on DarkTrack2021 (and NAT2021-test) and chose its released student on the UAVDark135 *test* set
(``mlkd_spec.md`` §4, §7.17). Our paper-style configs train on ``DARKTRACK2021_train`` instead: every
``HOLDOUT_EVERY``-th sequence in name order is left out, and the test side reads exactly those as
``darktrack2021_val`` for ``tracking/select_student.py``. Both sides call ``holdout_part``, so they cannot disagree.
"""
from __future__ import annotations

from typing import Iterable

HOLDOUT_EVERY = 10
PARTS = ("all", "train", "val")


def holdout_part(names: Iterable[str], part: str) -> list[str]:
    """The sequences of ``part``: 'all', 'val' (sorted names 10, 20, 30, ... counting from 1) or 'train' (the rest)."""
    ordered = sorted(names)
    if part == "all":
        return ordered
    if part not in PARTS:
        raise ValueError(f"hold-out part {part!r}: expected one of {', '.join(PARTS)}")
    held = set(ordered[HOLDOUT_EVERY - 1::HOLDOUT_EVERY])
    return [n for n in ordered if (n in held) == (part == "val")]
