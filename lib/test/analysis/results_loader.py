"""Reading tracker result files (one ``x,y,w,h`` row per frame) for scoring.

Separators: commas, tabs or spaces (mixed within a file is fine); trailing blank lines are ignored. Under the
``webuav`` protocol an empty line or a lone ``0`` is the toolkit's "empty prediction" (target reported absent) and
becomes an all-NaN row (see ``protocols`` on mAcc); under the other protocols a blank line inside the file is an
error, because skipping it would silently shift every later frame. Any malformed row raises ``ValueError`` naming
the file and the line.

Speed: a clean file (the common case, ~700 rows) goes through ``np.loadtxt`` in well under a millisecond (the fast
path of ``lib.utils.annotations``); anything else falls back to the tolerant line-by-line parser, which also
produces the precise error.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from lib.test.evaluation.results import result_path
from lib.utils.annotations import fast_rows, parse_rows

_EMPTY_ROW = "nan,nan,nan,nan"
_MAX_NAMES = 10  # names listed in a "missing results" message


class MissingResultsError(FileNotFoundError):
    """Some sequences have no result file; the message lists them."""


def _fast_parse(body: str, lines: int) -> np.ndarray | None:
    """The clean-file fast path, when it gives ``lines`` x 4 rows (fewer rows: it skipped blank lines)."""
    rows = fast_rows(body)
    return rows if rows is not None and rows.shape == (lines, 4) else None


def _trailing_blank_lines(text: str, body: str) -> int:
    """How many blank lines follow the last non-blank one (``text`` has normalised newlines)."""
    tail = text[len(body):]
    newlines = tail.count("\n")
    if not body:
        return newlines + (0 if text.endswith("\n") or not text else 1)
    return max(newlines - 1, 0) if tail.endswith("\n") else newlines


def parse_result(text: str, where: str, empty_rows: bool = False, frames: int | None = None) -> np.ndarray:
    """Result text -> (N, 4) float64. ``where`` names the file in errors.

    ``empty_rows``: the webuav rule above. A trailing blank line is then ambiguous (an empty prediction for the last
    frame, or just the end of the file): with ``frames`` (the GT length) given, trailing blank lines count as empty
    predictions as far as needed to reach ``frames`` rows, and are ignored otherwise.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    body = text.rstrip()
    rows = _parse_body(body, where, empty_rows)
    if empty_rows and frames is not None and len(rows) < frames:
        pad = min(frames - len(rows), _trailing_blank_lines(text, body))
        rows = np.vstack([rows, np.full((pad, 4), np.nan)])
    return rows


def _parse_body(body: str, where: str, empty_rows: bool) -> np.ndarray:
    if not body:
        return np.zeros((0, 4))
    lines = body.split("\n")
    fast = _fast_parse(body, len(lines))
    if fast is not None:
        return fast
    for i, line in enumerate(lines):
        token = line.strip()
        if token == "" or (empty_rows and token == "0"):
            if not empty_rows:
                raise ValueError(f"{where}, line {i + 1}: blank line inside the file (an empty prediction is only "
                                 f"allowed with --protocol webuav)")
            lines[i] = _EMPTY_ROW
    return parse_rows("\n".join(lines), where, width=4)


def load_result(path: str | Path, name: str | None = None, empty_rows: bool = False,
                frames: int | None = None) -> np.ndarray:
    """The (N, 4) boxes of one result file; ``name`` (the sequence) is added to error messages."""
    path = Path(path)
    if not path.is_file():
        raise MissingResultsError(f"no result for sequence {name or path.stem!r}: {path} does not exist")
    return parse_result(read_result_text(path), describe(path, name), empty_rows, frames)


def read_result_text(path: Path) -> str:
    return decode_result(Path(path).read_bytes())


def decode_result(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def describe(path: Path, name: str | None) -> str:
    """How errors name a result file: its path and, when known, the sequence."""
    return f"{path} (sequence {name})" if name else str(path)


def check_results_exist(folder: str | Path, names: Iterable[str]) -> dict[str, Path]:
    """{sequence: result path}; raises MissingResultsError listing the sequences without a file."""
    paths = {n: result_path(Path(folder), n) for n in names}
    if paths and not Path(folder).is_dir():
        raise MissingResultsError(f"no result folder {folder} ({len(paths)} sequences to score; tracking/test.py "
                                  f"writes one <sequence>.txt per sequence there)")
    missing = [n for n, p in paths.items() if not p.is_file()]
    if missing:
        shown = ", ".join(missing[:_MAX_NAMES]) + (f", ... ({len(missing) - _MAX_NAMES} more)"
                                                   if len(missing) > _MAX_NAMES else "")
        raise MissingResultsError(f"{len(missing)} of {len(paths)} sequences have no result in {folder}: {shown}")
    return paths
