"""Picture of A-ViT token halting: how many blocks each template and search token ran, over real frames.

    python tracking/halting_map.py avltrack synth_tiny_halting --dataset synth_uav --sequence synth_test_0003
    python tracking/halting_map.py avltrack synth_tiny_halting --checkpoint CK --num_frames 6 --out halting.png

The trained tracker (config + checkpoint, as ``tracking/test.py`` builds it, halting on) sees the template of frame
0 and the search regions of the next frames, cropped around their ground-truth boxes (``lib.test.tracker.crops``),
with the sequence's sentence. Top row: the crops; bottom row: the same crops under each token's depth (blocks run
before it halted, 1 = after the first block). Default output: <output root>/halting_map/<sequence>_<config>.png.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lib.paths import apply_cli_roots, output_root  # noqa: E402
from lib.utils.io import atomic_path  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker", help="tracker family with token halting (avltrack)")
    parser.add_argument("param", help="its config, with MODEL.HALTING.ENABLED true (e.g. synth_tiny_halting)")
    parser.add_argument("--checkpoint", help="checkpoint path (default: epoch TEST.EPOCH of this config)")
    parser.add_argument("--dataset", default="synth_uav", help="test benchmark (default synth_uav) or vot:FOLDER")
    parser.add_argument("--sequence", help="sequence name (default: the first)")
    parser.add_argument("--num_frames", type=int, default=4, help="search frames shown (default 4)")
    parser.add_argument("--stride", type=int, default=10, help="frames between the search frames shown")
    parser.add_argument("--out", type=Path, help="PNG file (default <output root>/halting_map/...)")
    parser.add_argument("--data_root", help="dataset root (else TRACKING_DATA_ROOT, else <project>/data)")
    parser.add_argument("--save_dir", help="output root (else TRACKING_OUTPUT_ROOT, else <project>/output)")
    args = parser.parse_args(argv)
    if args.num_frames < 1 or args.stride < 1:
        parser.error("--num_frames and --stride must be at least 1")
    return args


def token_depths(tracker, template: np.ndarray, search: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(template depth grid, search depth grid): blocks each token ran, in the crops' patch layout."""
    out = tracker.network(tracker._to_input(template), tracker._to_input(search))
    depth = out["backbone"]["halting"]["depth"][0].float().cpu().numpy()
    num_template = tracker.net.backbone.num_template_tokens
    side_z, side_x = math.isqrt(num_template), math.isqrt(len(depth) - num_template)
    return depth[:num_template].reshape(side_z, side_z), depth[num_template:].reshape(side_x, side_x)


def draw(crops: list[np.ndarray], depths: list[np.ndarray], titles: list[str], blocks: int, heading: str,
         path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ratios = [c.shape[1] for c in crops]
    fig, axes = plt.subplots(2, len(crops), figsize=(2.4 * len(crops) + 0.8, 5.2), squeeze=False,
                             gridspec_kw={"width_ratios": ratios})
    image = None
    for column, (crop, depth, title) in enumerate(zip(crops, depths, titles)):
        size = crop.shape[0]
        axes[0, column].imshow(crop)
        axes[0, column].set_title(title, fontsize=8)
        axes[1, column].imshow(crop)
        image = axes[1, column].imshow(depth, cmap="viridis", vmin=1, vmax=blocks, alpha=0.7,
                                       interpolation="nearest", extent=(0, size, size, 0))
        axes[1, column].set_title(f"mean depth {depth.mean():.2f}", fontsize=8)
        for ax in axes[:, column]:
            ax.set_xticks([])
            ax.set_yticks([])
    bar = fig.colorbar(image, ax=axes[1, :].tolist(), fraction=0.02, pad=0.01)
    bar.set_label("blocks run before halting")
    fig.suptitle(heading, fontsize=9)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def main(argv=None) -> Path:
    args = parse_args(argv)
    apply_cli_roots(args.data_root, args.save_dir)
    from lib.models.avltrack import has_halting
    from lib.test.tracker.build import build_tracker, test_config
    from lib.test.tracker.crops import sequence_crops
    cfg = test_config(args.tracker, args.param)
    if cfg is None or not has_halting(cfg):
        raise SystemExit(f"{args.tracker}/{args.param} has no token halting (MODEL.HALTING.ENABLED false)")
    torch.set_num_threads(2)
    tracker = build_tracker(args.tracker, args.param, args.checkpoint, halting=True)
    try:
        crops = sequence_crops(cfg.TEST, args.dataset, args.sequence, args.num_frames * args.stride)
    except (KeyError, ValueError, FileNotFoundError) as err:
        raise SystemExit(f"--dataset {args.dataset}: {err}") from None
    picked = list(range(args.stride - 1, len(crops.searches), args.stride))[:args.num_frames] or [0]
    tracker.encode_sentence(crops.sentence)
    with torch.inference_mode():
        grids = [token_depths(tracker, crops.template, crops.searches[i]) for i in picked]
    blocks = len(tracker.net.backbone.blocks)
    template_depth = np.mean([z for z, _ in grids], axis=0)  # the template's tokens halt a little differently per frame
    images = [crops.template] + [crops.searches[i] for i in picked]
    depths = [template_depth] + [x for _, x in grids]
    titles = ["template (frame 0)"] + [f"search, frame {crops.frame_numbers[i]}" for i in picked]
    name = crops.source.split(" frames")[0]
    heading = (f"{args.tracker}/{args.param} on {name}: {blocks} blocks; sentence: "
               f"{crops.sentence!r}" if crops.sentence else f"{args.tracker}/{args.param} on {name}: no sentence")
    out = args.out or output_root() / "halting_map" / f"{name.split('/')[-1]}_{args.param}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    draw(images, depths, titles, blocks, heading, out)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
