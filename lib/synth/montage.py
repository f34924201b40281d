"""A picture of a generated split: first frames of a few sequences with the box and the sentence."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import cv2
import numpy as np

BOX_COLOUR = (0, 255, 0)  # BGR
CAPTION_LINES = 3
LINE_HEIGHT = 12
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.33
# noisy photos compress badly as PNG: tiles are shrunk, lightly smoothed and their low 2 bits dropped
# (a 2 x 6 sheet stays under ~400 KB; captions stay crisp)
TILE_SCALE = 0.7
DROPPED_BITS = 2


def _tile(seq_dir: Path, label: str) -> np.ndarray:
    """First frame (BGR) with its box, a label on top and the wrapped sentence below."""
    img_path = seq_dir / "img" / "000001.jpg"
    img = cv2.imread(str(img_path))
    if img is None:
        raise FileNotFoundError(f"cannot read {img_path}")
    img = cv2.resize(img, None, fx=TILE_SCALE, fy=TILE_SCALE, interpolation=cv2.INTER_AREA)
    img = (cv2.bilateralFilter(img, 5, 25, 3) >> DROPPED_BITS) << DROPPED_BITS
    first = (seq_dir / "groundtruth_rect.txt").read_text().splitlines()[0]
    x, y, w, h = (float(v) * TILE_SCALE for v in first.split(","))
    cv2.rectangle(img, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))), BOX_COLOUR, 1)
    cv2.putText(img, label, (3, 11), FONT, FONT_SCALE, (255, 255, 255), 1, cv2.LINE_AA)
    sentence = (seq_dir / "language.txt").read_text()
    chars = int(img.shape[1] / (FONT_SCALE * 20))  # Hershey simplex is ~20 px per char at scale 1
    lines = textwrap.wrap(sentence, chars)[:CAPTION_LINES]
    caption = np.full((CAPTION_LINES * LINE_HEIGHT + 5, img.shape[1], 3), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(caption, line, (3, 11 + i * LINE_HEIGHT), FONT, FONT_SCALE, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([img, caption], 0)


def make_montage(root: str | os.PathLike, out_png: str | os.PathLike, splits=("test", "test_night"),
                 n: int = 6) -> Path:
    """One row per split folder under ``root`` (e.g. 'test', 'test_night'), ``n`` sequences each, as PNG."""
    root = Path(root)
    rows = []
    for split in splits:
        folder = root / split
        seqs = sorted(p for p in folder.glob("synth_*") if p.is_dir()) if folder.is_dir() else []
        if not seqs:
            raise FileNotFoundError(f"no sequences in {folder}; generate the split first")
        tiles = [_tile(s, f"{split}/{s.name}") for s in seqs[:n]]
        while len(tiles) < n:
            tiles.append(np.full_like(tiles[0], 255))
        gap = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
        rows.append(np.concatenate([t for tile in tiles for t in (tile, gap)][:-1], 1))
    sheet = np.concatenate([r for row in rows for r in (row, np.full((4, row.shape[1], 3), 255, np.uint8))][:-1], 0)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_png), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"cv2.imwrite failed for {out_png}")
    return out_png
