"""Parsing of the plain-text annotation files every benchmark uses (boxes, flags, sentences).

Speed: a clean file (one separator kind, the same number of values on every line: nearly every file of every
benchmark) is read by ``np.loadtxt`` in C (:func:`fast_rows`); anything else goes through the line-by-line parser,
which accepts every mix of separators and names the file and line of whatever it cannot read. The fast path
only ever returns what the line-by-line parser would, so which one ran never shows.
"""
from __future__ import annotations

import io
import re
from collections import Counter
import numpy as np

from lib.paths import check_plain_name

_SEPARATORS = re.compile(r"[,;\s]+")  # \s: any whitespace, as np.loadtxt splits it
_RARE_LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e"  # ASCII characters where str.splitlines() breaks a line and loadtxt does not


def fast_rows(text: str) -> np.ndarray | None:
    """``np.loadtxt`` of a text whose values are all separated by commas, or all by runs of whitespace (the kind is
    that of the first non-blank line): float64 (N, k). None when the text does not parse that way (or is empty)."""
    body = text.lstrip()
    if not body or not body.isascii() or any(c in body for c in _RARE_LINE_BREAKS):
        return None  # (non-ASCII text has more such characters: the line-by-line parser reads it)
    first = body[: body.find("\n")] if "\n" in body else body
    delimiter = "," if "," in first else None  # None: any run of whitespace
    try:
        return np.loadtxt(io.StringIO(body), delimiter=delimiter, comments=None, ndmin=2, dtype=np.float64)
    except ValueError:
        return None


def parse_rows(text: str, name: str, width: int | None = None) -> np.ndarray:
    """Rows of numbers separated by commas, tabs, spaces or ';' (mixed is fine) -> float64 (N, width).

    Blank lines are skipped. 'nan' (any case) is accepted and kept as NaN; anything else unparsable is an error
    naming file and line. Every row must have ``width`` values, or (``width=None``) as many as most rows: a row
    that does not is an error naming file and line.
    """
    rows = fast_rows(text)
    if rows is not None and (width is None or rows.shape[1] == width):
        return rows
    return _parse_rows_by_line(text, name, width)


def _parse_rows_by_line(text: str, name: str, width: int | None) -> np.ndarray:
    rows, line_numbers = [], []
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
        line_numbers.append((line_no, line))
    if width is None and rows:
        counts = Counter(len(r) for r in rows)
        width = counts.most_common(1)[0][0]  # on a tie, the width seen first
        for values, (line_no, line) in zip(rows, line_numbers):
            if len(values) != width:
                raise ValueError(f"{name}, line {line_no}: {len(values)} values, but {counts[width]} of the "
                                 f"{len(rows)} rows have {width}: {line!r}")
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), width or 0)


def parse_boxes(text: str, name: str) -> np.ndarray:
    """``x,y,w,h`` per line -> float64 (N, 4). An 8-value polygon per line becomes its axis-aligned box."""
    rows = parse_rows(text, name)
    if not len(rows):
        raise ValueError(f"{name}: no boxes (the file is empty)")
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


def parse_name_list(text: str, name: str) -> list[str]:
    """One sequence name per line of a list file (``name`` names the file) -> names; '#' starts a comment,
    surrounding whitespace and blank lines are skipped.

    A name from a list file becomes a folder under the dataset root (and a result file name), so it must be a plain
    name (``lib.paths.check_plain_name``): otherwise an error naming the file, line and entry.
    """
    names = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            names.append(check_plain_name(entry, f"{name}, line {line_no}"))
    return names


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
