"""Data-pipeline throughput on SynthUAV: training pairs/s through the DataLoader, and JPEG decode speed.

    python tracking/bench_data.py                                   # template 128 / search 256 (default config)
    python tracking/bench_data.py --template_size 64 --search_size 128   # tiny config

Pairs/s is measured after the first batch (worker start-up and first file reads are reported separately).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

import torch  # noqa: E402

from lib.paths import apply_cli_roots  # noqa: E402
from lib.train.data import TrackingProcessing, TrackingSampler, build_loader  # noqa: E402
from lib.utils import image as image_io  # noqa: E402

DECODE_REPEATS = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--num_pairs", type=int, default=320, help="pairs drawn per worker setting")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader num_workers to try")
    parser.add_argument("--template_size", type=int, default=128)
    parser.add_argument("--search_size", type=int, default=256)
    parser.add_argument("--feat_stride", type=int, default=16)
    parser.add_argument("--no_text", action="store_true", help="skip tokenising the sentences")
    parser.add_argument("--decode_images", type=int, default=300, help="frames decoded per decoder")
    parser.add_argument("--decode_folder", default=None,
                        help="also time decoding the JPEGs of this folder (e.g. real 1080p UAV frames)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--data_root", default=None, help="folder holding synth_uav/ (default: the resolver's)")
    return parser.parse_args()


def bench_loader(sampler: TrackingSampler, batch_size: int, num_workers: int) -> dict:
    loader, index_sampler = build_loader(sampler, batch_size=batch_size, num_workers=num_workers,
                                         persistent_workers=False)
    index_sampler.set_epoch(0)
    start = time.perf_counter()
    batches = iter(loader)
    next(batches)
    first = time.perf_counter()
    steady_batches = sum(1 for _ in batches)
    end = time.perf_counter()
    steady_pairs = steady_batches * batch_size
    return {"first_batch_s": first - start, "pairs": (steady_batches + 1) * batch_size,
            "pairs_per_s": steady_pairs / (end - first) if steady_pairs else float("nan"),
            "overall_pairs_per_s": (steady_batches + 1) * batch_size / (end - start)}


def encoded_frames(dataset, count: int) -> list[tuple[str, bytes]]:
    """Raw bytes of up to ``count`` frames, spread over the sequences (read once, so only decoding is timed)."""
    out: list[tuple[str, bytes]] = []
    num_sequences = dataset.get_num_sequences()
    per_sequence = max(1, -(-count // num_sequences))
    for seq_id in range(num_sequences):
        frames = dataset.sequence(seq_id).frames
        step = max(1, len(frames) // per_sequence)
        for rel in list(frames)[::step][:per_sequence]:
            out.append((rel, dataset.storage.read_bytes(rel)))
            if len(out) == count:
                return out
    return out


def bench_decoder(name: str, frames: list[tuple[str, bytes]]) -> dict | str:
    image_io.set_decoder(name)
    try:
        image_io.decode_image(frames[0][1], frames[0][0])  # warm-up; also tells whether the decoder works here
    except (ImportError, OSError) as err:
        return f"unavailable ({err})"
    best = float("inf")
    for _ in range(DECODE_REPEATS):  # best of a few passes: the machine may be shared
        start = time.perf_counter()
        pixels = 0
        for rel, data in frames:
            pixels += image_io.decode_image(data, rel).size // 3
        best = min(best, time.perf_counter() - start)
    return {"images_per_s": len(frames) / best, "megapixels_per_s": pixels / best / 1e6}


def main() -> None:
    args = parse_args()
    apply_cli_roots(args.data_root)
    from lib.train.dataset import SynthUAV  # the reader generates the split on first use

    t0 = time.perf_counter()
    dataset = SynthUAV(split=args.split)
    print(f"SynthUAV {args.split}: {dataset.get_num_sequences()} sequences at {dataset.root} "
          f"(ready in {time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    for seq_id in range(dataset.get_num_sequences()):  # cache annotations first: every setting starts equal
        dataset.get_sequence_info(seq_id)
    print(f"annotations of all sequences cached in {time.perf_counter() - t0:.1f} s")

    tokenizer = None
    if not args.no_text:
        from lib.models.language import TextTokenizer
        tokenizer = TextTokenizer()
        tokenizer("warm up")  # loads transformers (~2 s) before timing; forked workers inherit it
    processing = TrackingProcessing(output_sz={"template": args.template_size, "search": args.search_size},
                                    feat_stride=args.feat_stride, tokenizer=tokenizer)
    sampler = TrackingSampler([dataset], samples_per_epoch=args.num_pairs, processing=processing, seed=0)

    print(f"\nTraining pairs (template {args.template_size}, search {args.search_size}, batch {args.batch_size}, "
          f"text {'on' if tokenizer else 'off'})")
    print(f"{'workers':>8} {'pairs':>6} {'first batch s':>14} {'pairs/s':>9} {'incl. start-up':>15}")
    for num_workers in args.workers:
        r = bench_loader(sampler, args.batch_size, num_workers)
        print(f"{num_workers:>8} {r['pairs']:>6} {r['first_batch_s']:>14.2f} {r['pairs_per_s']:>9.1f} "
              f"{r['overall_pairs_per_s']:>15.1f}")
    if 0 in args.workers:
        print("rejections (main process, workers=0):", sampler.stats())
        print(f"(workers=0 also collates in the main process, with {torch.get_num_threads()} torch threads: on a busy "
              f"machine torch.stack's thread hand-offs dominate there; workers use 1 thread)")

    print_decoder_table(f"{args.decode_images} SynthUAV frames", encoded_frames(dataset, args.decode_images))
    if args.decode_folder:
        files = sorted(Path(args.decode_folder).glob("*.jpg"))[: args.decode_images]
        if not files:
            raise SystemExit(f"bench_data: no .jpg files in {args.decode_folder}")
        print_decoder_table(f"{len(files)} frames of {args.decode_folder}", [(str(f), f.read_bytes()) for f in files])


def print_decoder_table(what: str, frames: list[tuple[str, bytes]]) -> None:
    default_decoder = image_io.decoder()
    print(f"\nJPEG decoding ({what}, best of {DECODE_REPEATS} passes, one process; default here: {default_decoder})")
    print(f"{'decoder':>8} {'images/s':>9} {'Mpixel/s':>9}")
    for name in ("jpeg4py", "opencv"):
        r = bench_decoder(name, frames)
        if isinstance(r, str):
            print(f"{name:>8} {r}")
        else:
            print(f"{name:>8} {r['images_per_s']:>9.1f} {r['megapixels_per_s']:>9.1f}")
    image_io.set_decoder(default_decoder)


if __name__ == "__main__":
    main()
