"""Image decoding: jpeg4py (libjpeg-turbo) when it works here, else OpenCV; RGB uint8 arrays either way.

The decoder is chosen once per process and logged once. A missing, empty (0 bytes) or undecodable image raises an
OSError naming it, whichever decoder runs and whatever the bytes came from (a file, an LMDB pack).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)
_decoder: str | None = None

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> list:
    """'img2.jpg' sorts before 'img10.jpg' (unpadded frame numbers are common in some benchmarks)."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]


def _choose_decoder() -> str:
    """'jpeg4py' if it imports and decodes a tiny JPEG here (it needs the libturbojpeg shared library)."""
    global _decoder
    if _decoder is None:
        _decoder = "opencv"
        try:
            import jpeg4py
            ok, probe = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
            jpeg4py.JPEG(np.frombuffer(probe.tobytes(), np.uint8)).decode()
            _decoder = "jpeg4py"
        except (ImportError, OSError, RuntimeError, AttributeError) as err:
            log.info("jpeg4py unavailable (%s); decoding images with OpenCV", err)
        log.info("image decoder: %s", _decoder)
    return _decoder


def set_decoder(name: str) -> None:
    """Force 'jpeg4py' or 'opencv' (benchmarks compare the two)."""
    global _decoder
    if name not in ("jpeg4py", "opencv"):
        raise ValueError(f"unknown image decoder {name!r}; use 'jpeg4py' or 'opencv'")
    _decoder = name


def decoder() -> str:
    return _choose_decoder()


def _is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Encoded image bytes -> HxWx3 RGB uint8. ``name`` (the path) is only used in error messages."""
    if not data:  # OpenCV asserts on an empty buffer, with a message that names no file
        raise IOError(f"empty image file (0 bytes): {name}")
    buf = np.frombuffer(data, np.uint8)
    if _is_jpeg(data) and _choose_decoder() == "jpeg4py":
        import jpeg4py
        jpeg = jpeg4py.JPEG(buf)
        try:
            img = jpeg.decode()
        except Exception as err:  # jpeg4py raises bare Exception subclasses on corrupt data
            # jpeg4py pools its TurboJPEG handles; one that failed stays broken and would fail every later
            # decode in this process, so destroy it instead of letting it return to the pool
            if jpeg.decompressor is not None:
                jpeg.decompressor.release()
                jpeg.decompressor = None
            raise IOError(f"corrupt or unreadable image: {name} ({err})") from err
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        return img
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as err:  # OpenCV's assertions name no file
        raise IOError(f"corrupt or unreadable image: {name} ({str(err).strip()})") from err
    if img is None:
        raise IOError(f"corrupt or unreadable image: {name}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def imread_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8; a missing or corrupt file is an error naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"image not found: {path}") from None
    return decode_image(data, str(path))
