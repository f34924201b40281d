"""What MLKD's enhanced-frame cache changes for the teacher: the same training pairs with the teacher's crops
enhanced every step (DarkLighter on the crop) and cut from the cached enhanced frames (the crop of the enhanced
frame), compared on pixels, on the teacher's outputs, and on time per pair.

    python tracking/bench_frame_cache.py --config synth_night_ml --save_dir OUT --data_root DATA [--pairs 256]

The config's teacher (``MLKD.TEACHER``: its trained checkpoint under the output root) and training data; the cache is
built first when missing. Printed: the mean absolute difference of the two enhanced crops (RGB in [0, 1]), the
teacher's IoU with the ground truth both ways, the IoU between its two predicted boxes, and the seconds per pair
of each path (loading, crops, enhancer, teacher), the two paths timed in turn per batch.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

import torch  # noqa: E402

from lib.paths import apply_cli_roots  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="synth_night_ml", help="an mlkd config with MLKD.TEACHER.FRAME_CACHE")
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save_dir", help="output root holding the teacher's checkpoint")
    parser.add_argument("--data_root", help="dataset root")
    args = parser.parse_args(argv)
    apply_cli_roots(args.data_root, args.save_dir)
    torch.set_num_threads(args.threads)
    from lib.config import load_config
    from lib.models.mlkd import build_teacher
    from lib.train.data.build import build_sampler
    from lib.train.data.transforms import IMAGENET_STD
    from lib.utils.box_ops import cxcywh_to_xyxy, iou_and_giou, xywh_to_xyxy

    cfg = load_config("mlkd", args.config)
    if not cfg.MLKD.TEACHER.FRAME_CACHE:
        raise SystemExit(f"mlkd/{args.config}: MLKD.TEACHER.FRAME_CACHE is off; nothing to compare")
    teacher_cfg = cfg.MLKD.TEACHER
    teacher = build_teacher(teacher_cfg.SCRIPT, teacher_cfg.CONFIG, teacher_cfg.CHECKPOINT or None,
                            teacher_cfg.ENHANCER)
    without_cache = copy.deepcopy(cfg)
    without_cache.MLKD.TEACHER.FRAME_CACHE = False
    # the same seed draws the same pairs: cutting the twins takes no random numbers
    samplers = {"on the fly": build_sampler(without_cache, "TRAIN", seed=0), "cached": build_sampler(cfg, "TRAIN", 0)}
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    seconds = {name: 0.0 for name in samplers}
    ious: dict[str, list[float]] = {name: [] for name in samplers}
    pixel_diffs, agreement = [], []
    for start in range(0, args.pairs, args.batch):
        indices = range(start, min(start + args.batch, args.pairs))
        boxes, search = {}, {}
        for name, sampler in samplers.items():  # the two paths in turn, batch by batch
            begin = time.perf_counter()
            batch = torch.utils.data.default_collate([sampler[i] for i in indices])
            if name == "cached":
                search[name] = batch["search_teacher_images"][:, 0]
                out = teacher(batch["template_teacher_images"][:, 0], search[name], enhanced=True)
            else:  # what Teacher.forward does without the cache, the enhanced search crop kept for the comparison
                search[name] = teacher.enhancer(batch["search_images"][:, 0])
                out = teacher(teacher.enhancer(batch["template_images"][:, 0]), search[name], enhanced=True)
            seconds[name] += time.perf_counter() - begin
            boxes[name] = cxcywh_to_xyxy(out["pred_boxes"][:, 0])
            ious[name] += iou_and_giou(boxes[name], xywh_to_xyxy(batch["search_anno"][:, 0]))[0].tolist()
        pixel_diffs.append(((search["on the fly"] - search["cached"]) * std).abs().mean().item())
        agreement += iou_and_giou(boxes["on the fly"], boxes["cached"])[0].tolist()
    result = {"pixel_mad": statistics.mean(pixel_diffs),
              "teacher_iou": {k: statistics.mean(v) for k, v in ious.items()},
              "box_agreement_iou": statistics.mean(agreement),
              "seconds_per_pair": {k: v / args.pairs for k, v in seconds.items()}}
    print(f"{args.pairs} training pairs of mlkd/{args.config}: enhanced search crops differ by "
          f"{result['pixel_mad']:.4f} (mean |difference|, RGB in [0, 1]) between on the fly and cached")
    for name in ious:
        print(f"  teacher IoU with the ground truth, {name}: {result['teacher_iou'][name]:.3f}; "
              f"{result['seconds_per_pair'][name] * 1e3:.1f} ms per pair (loading, crops, enhancer, teacher)")
    print(f"  IoU between the teacher's two boxes: {result['box_agreement_iou']:.3f}")
    return result


if __name__ == "__main__":
    main()
