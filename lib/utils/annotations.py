"""Parsing of the plain-text annotation files every benchmark uses (boxes, flags, sentences)."""
from __future__ import annotations

import re

import numpy as np

_SEPARATORS = re.compile(r"[,\t ;]+")


def parse_rows(text: str, name: str, width: int | None = None) -> np.ndarray:
    """Rows of numbers separated by commas, tabs or spaces -> float64 (N, width).

    'nan' (any case) is accepted and kept as NaN; anything else unparsable is an error naming file and line.
    """
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = [f for f in _SEPARATORS.split(line) if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            raise ValueError(f"{name}, line {line_no}: not numbers: {line!r}") from None
        if width is not None and len(values) != width:
            raise ValueError(f"{name}, line {line_no}: expected {width} values, got {len(values)}: {line!r}")
        rows.append(values)
    if width is None:
        widths = {len(r) for r in rows}
        if len(widths) > 1:
            raise ValueError(f"{name}: rows have different numbers of values {sorted(widths)}")
        width = widths.pop() if widths else 0
    return np.asarray(rows, dtype=np.float64).reshape(-1, width)


def parse_boxes(text: str, name: str) -> np.ndarray:
    """``x,y,w,h`` per line -> float64 (N, 4). An 8-value polygon per line becomes its axis-aligned box."""
    rows = parse_rows(text, name)
    if rows.shape[1] == 4:
        return rows
    if rows.shape[1] == 8:
        return polygons_to_boxes(rows)
    raise ValueError(f"{name}: expected 4 values (x,y,w,h) or 8 (polygon) per line, got {rows.shape[1]}")


def polygons_to_boxes(polys: np.ndarray) -> np.ndarray:
    """(N, 8) polygons x1,y1..x4,y4 -> (N, 4) axis-aligned bounding boxes x,y,w,h (NaN rows stay NaN)."""
    xs, ys = polys[:, 0::2], polys[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


def parse_flags(text: str, name: str) -> np.ndarray:
    """One 0/1 flag per line or one comma-separated line of flags -> bool array."""
    values = parse_rows(text, name).reshape(-1)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"{name}: flags must be 0 or 1")
    return values.astype(bool)


def clean_sentence(text: str | None) -> str | None:
    """First non-empty line, whitespace collapsed; an empty file means no sentence (None)."""
    if text is None:
        return None
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line
    return None


def box_validity(boxes: np.ndarray) -> np.ndarray:
    """A box is valid when all four values are finite and width and height are positive."""
    return np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
