"""What DarkLighter costs MLKD's teacher on this CPU: per training pair (its crops enhanced every step) against once
per frame (a dataset enhanced once and cached), to size the enhanced-frame cache.

    python tracking/bench_enhancer.py [--repeats 5] [--threads 2]

Random weights (the cost does not depend on them), no autograd, batch of 64 pairs, in both memory layouts
(``FrozenEnhancer`` runs channels-last, which oneDNN's CPU convolutions prefer). Rows: the SynthUAV crops
(template 64, search 128), the paper's crops (128 / 256) and one SynthUAV frame (320 x 240). The last lines turn
them into the cost of one 8 x 3,072-pair SynthUAV training run with crops enhanced on the fly, against enhancing
the 12,007 frames of the SynthUAV night train split once.
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

from lib.models.enhancer import DarkLighter  # noqa: E402
from lib.synth.constants import FRAME_H, FRAME_W  # noqa: E402

PAIRS_PER_RUN = 8 * 3072
TRAIN_FRAMES = 12_007


def median_seconds(model: torch.nn.Module, shape: tuple[int, ...], repeats: int) -> dict[str, float]:
    """{layout: median seconds of one forward}, the two layouts timed in turn."""
    x = torch.rand(*shape)
    inputs = {"contiguous": x, "channels_last": x.contiguous(memory_format=torch.channels_last)}
    models = {"contiguous": model, "channels_last": copy.deepcopy(model).to(memory_format=torch.channels_last)}
    times: dict[str, list[float]] = {layout: [] for layout in inputs}
    with torch.inference_mode():
        for layout in inputs:
            models[layout](inputs[layout])  # warm-up
        for _ in range(repeats):
            for layout in inputs:
                start = time.perf_counter()
                models[layout](inputs[layout])
                times[layout].append(time.perf_counter() - start)
    return {layout: statistics.median(t) for layout, t in times.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64, help="pairs per step (default 64)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = DarkLighter().eval()
    rows = {}
    for name, (template, search) in {"SynthUAV crops 64 / 128": (64, 128), "paper crops 128 / 256": (128, 256)}.items():
        z = median_seconds(model, (args.batch, 3, template, template), args.repeats)
        x = median_seconds(model, (args.batch, 3, search, search), args.repeats)
        rows[name] = {layout: (z[layout] + x[layout]) / args.batch for layout in z}
    rows["SynthUAV frame"] = median_seconds(model, (1, 3, FRAME_H, FRAME_W), args.repeats)
    for name, row in rows.items():
        unit = "per frame" if name.endswith("frame") else "per pair"
        print(f"{name}: {row['contiguous'] * 1e3:.1f} ms {unit} contiguous, {row['channels_last'] * 1e3:.1f} ms "
              f"channels-last ({row['contiguous'] / row['channels_last']:.2f}x)")
    on_the_fly = rows["SynthUAV crops 64 / 128"]["channels_last"] * PAIRS_PER_RUN
    once = rows["SynthUAV frame"]["channels_last"] * TRAIN_FRAMES
    print(f"channels-last: one SynthUAV run ({PAIRS_PER_RUN:,} pairs) with crops enhanced every step spends "
          f"{on_the_fly / 60:.1f} min in DarkLighter; the night train split ({TRAIN_FRAMES:,} frames) enhanced once "
          f"takes {once / 60:.1f} min, then costs nothing for every later run")
    return {"rows_s": rows, "run_on_the_fly_s": on_the_fly, "split_once_s": once}


if __name__ == "__main__":
    main()
