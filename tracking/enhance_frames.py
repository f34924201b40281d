"""DarkLighter on night frames: a before / after picture (and, with --save_dir, the enhanced frames).

    python tracking/enhance_frames.py --input ../shared/data/uavdark_person11 --out docs/darklighter.jpg
    python tracking/enhance_frames.py --input data/synth_uav/test_night/synth_test_0000/img --num 4 --out night.png

Frames are read as RGB in [0, 1], scaled so the longer side is at most --max_side (DarkLighter runs at full
resolution, about 75k multiply-adds per pixel), enhanced with the weights of --weights (default
pretrained_models/darklighter/Epoch193.pth) and clamped to [0, 1]. The picture shows --num frames spread over the
folder, the originals on top and the enhanced frames below, each with its mean brightness.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from lib.models.enhancer.darklighter import WEIGHTS_FILE, FrozenEnhancer  # noqa: E402
from lib.test.evaluation.data import list_images  # noqa: E402
from lib.utils.image import imread_rgb  # noqa: E402
from lib.utils.io import atomic_write  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True, help="a folder of frames (jpg / png)")
    parser.add_argument("--weights", default=WEIGHTS_FILE, help=f"DarkLighter weights (default {WEIGHTS_FILE} under "
                                                                f"pretrained_models/, or a path)")
    parser.add_argument("--out", type=Path, required=True, help="the before / after picture (.png or .jpg)")
    parser.add_argument("--num", type=int, default=3, help="frames shown (default 3)")
    parser.add_argument("--max_side", type=int, default=640, help="longer side of each shown frame (default 640)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.num < 1 or args.max_side < 16:
        parser.error("--num must be at least 1 and --max_side at least 16")
    return args


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    return out


def main(argv=None) -> Path:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    frames = list_images(args.input) if args.input.is_dir() else []
    if not frames:
        raise SystemExit(f"--input {args.input}: no jpg / png frames there")
    enhancer = FrozenEnhancer.from_file(args.weights)
    picked = [frames[i] for i in np.linspace(0, len(frames) - 1, min(args.num, len(frames))).round().astype(int)]
    top, bottom = [], []
    for path in picked:
        image = imread_rgb(path)
        scale = min(1.0, args.max_side / max(image.shape[:2]))
        if scale < 1.0:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        bright = enhancer.enhance_image(image)
        top.append(labelled(image, f"{Path(path).name}  mean {image.mean() / 255:.3f}"))
        bottom.append(labelled(bright, f"DarkLighter  mean {bright.mean() / 255:.3f}"))
    height = min(t.shape[0] for t in top)
    rows = [np.concatenate([t[:height] for t in row], axis=1) for row in (top, bottom)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(args.out.suffix, cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    if not ok:
        raise SystemExit(f"could not encode the picture as {args.out.suffix!r} for {args.out}")
    atomic_write(args.out, encoded.tobytes())
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
