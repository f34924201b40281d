"""What the pruned halting path costs per frame, and what it should do about the prepacked Linear.

    python tracking/bench_halting.py [--config avltrack_tiny_224] [--mean_depths 3 6 9] [--repeats 30]

The backbone of the config (``HaltingViT``, random weights, batch 1, at the TEST sizes) with its tokens forced to
halt spread over the blocks: for a mean depth d, depths drawn uniformly from d - k .. d + k (k = the widest spread
that stays within 1..L). ``static`` keeps one depth map for every frame (each block sees the same token count
every time); ``varying`` draws a new map per frame (counts change from frame to frame, as when tracking). The
prepacked Linear (``lib/models/layers/linear.py``) packs its weight once per row count and keeps two, so varying
counts make it re-pack; the variants of the pruned path:

* ``packed``: the Linear as it is (re-packs when a block's count changes);
* ``unpacked``: plain GEMMs on the pruned path (``HaltingViT.pack_linear = False``);
* ``bucket<k>``: packed, each pruned sequence padded to a multiple of k tokens (padding masked as keys).

Baselines in the same run: ``full`` (halting off, every token through every block; packed Linear, and
``full_unpacked`` with plain GEMMs) and ``masked`` (halting on without dropping tokens: what the reference
computes). Every repeat times each variant once, in turn,
so all see the same machine load; medians are reported. The machine may be shared: compare within a run.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

import torch  # noqa: E402

from lib.config import load_config  # noqa: E402
from lib.models.backbones.vit_halting import HaltingViT, spread_depths  # noqa: E402
from lib.models.layers.linear import packed_linear  # noqa: E402
from tracking.profile_model import MachineLoad  # noqa: E402


def build(cfg) -> HaltingViT:
    bb, halting = cfg.MODEL.BACKBONE, cfg.MODEL.HALTING
    return HaltingViT(template_size=cfg.TEST.TEMPLATE_SIZE, search_size=cfg.TEST.SEARCH_SIZE,
                      patch_size=bb.PATCH_SIZE, embed_dim=bb.EMBED_DIM, depth=bb.DEPTH, num_heads=bb.NUM_HEADS,
                      mlp_ratio=bb.MLP_RATIO, drop_path_rate=0.0, gate_scale=halting.GATE_SCALE,
                      gate_bias=halting.GATE_BIAS, eps=halting.EPS).eval()


def variants(buckets: list[int]) -> dict[str, dict]:
    """name -> backbone attributes (``packing``: the process-wide prepacked-Linear switch, on unless said)."""
    out = {"full": {"halting": False}, "full_unpacked": {"halting": False, "packing": False},
           "masked": {"halting": True, "prune": False, "pack_linear": True, "bucket": 0},
           "packed": {"halting": True, "prune": True, "pack_linear": True, "bucket": 0},
           "unpacked": {"halting": True, "prune": True, "pack_linear": False, "bucket": 0}}
    out.update({f"bucket{k}": {"halting": True, "prune": True, "pack_linear": True, "bucket": k} for k in buckets})
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="avltrack_tiny_224", help="experiments/avltrack/<config>.yaml")
    parser.add_argument("--mean_depths", type=int, nargs="+", default=[3, 6, 9])
    parser.add_argument("--buckets", type=int, nargs="*", default=[32, 64])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config("avltrack", args.config)
    torch.manual_seed(0)
    model = build(cfg)
    depth = len(model.blocks)
    size_z, size_x = cfg.TEST.TEMPLATE_SIZE, cfg.TEST.SEARCH_SIZE
    inputs = (torch.randn(1, 3, size_z, size_z), torch.randn(1, 3, size_x, size_x))
    num_tokens = model.num_template_tokens + model.num_search_tokens
    generator = torch.Generator().manual_seed(0)
    static = {d: spread_depths(d, depth, num_tokens, generator) for d in args.mean_depths}
    runs = [("full", None, "-"), ("full_unpacked", None, "-")] + [
        (name, d, regime) for d in args.mean_depths for regime in ("static", "varying")
        for name in variants(args.buckets) if not name.startswith("full")]
    settings = variants(args.buckets)

    def forward(name: str, mean: int | None, regime: str) -> float:
        attributes = dict(settings[name])
        packing = attributes.pop("packing", True)
        for key, value in attributes.items():
            setattr(model, key, value)
        if mean is not None:
            model.force_depth(static[mean] if regime == "static" else
                              spread_depths(mean, depth, num_tokens, generator))
        with packed_linear(packing):
            start = time.perf_counter()
            model(*inputs)
            return time.perf_counter() - start

    times: dict[tuple, list[float]] = {run: [] for run in runs}
    with torch.inference_mode():
        for run in runs:
            for _ in range(args.warmup):
                forward(*run)
        load = MachineLoad()
        for repeat in range(args.repeats):
            order = runs[repeat % len(runs):] + runs[:repeat % len(runs)]  # a different variant first each time
            for run in order:
                times[run].append(forward(*run))
        machine = load.stop()

    full = statistics.median(times[runs[0]]) * 1e3
    full_unpacked = statistics.median(times[runs[1]]) * 1e3
    bb = cfg.MODEL.BACKBONE
    print(f"HaltingViT of {args.config}: embed {bb.EMBED_DIM}, {depth} blocks, {bb.NUM_HEADS} heads, {num_tokens} "
          f"tokens (template {size_z}, search {size_x}), batch 1, {args.threads} threads, median of {args.repeats} "
          f"interleaved repeats")
    print(f"full depth (halting off): packed Linear {full:.2f} ms, plain GEMMs {full_unpacked:.2f} ms; pruned "
          f"and masked paths below, in ms and as a share of the packed full depth:")
    rows = []
    for d in args.mean_depths:
        for regime in ("static", "varying"):
            cells = []
            for name in settings:
                if name.startswith("full"):
                    continue
                ms = statistics.median(times[(name, d, regime)]) * 1e3
                rows.append({"mean_depth": d, "regime": regime, "variant": name, "ms": ms, "of_full": ms / full})
                cells.append(f"{name} {ms:.2f} ({ms / full:.0%})")
            print(f"mean depth {d:2d} {regime:7s}: " + "  ".join(cells))
    if machine is not None:
        print(f"during timing: other processes used {machine['other_processes'] * 100:.1f}% of the CPUs, the "
              f"hypervisor stole {machine['steal'] * 100:.1f}%")
    result = {"config": args.config, "full_ms": full, "full_unpacked_ms": full_unpacked, "rows": rows,
              "machine_load": machine, "threads": args.threads, "repeats": args.repeats}
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
