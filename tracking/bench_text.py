"""What encoding the sentence costs in training, with and without the sentence cache of a frozen text encoder.

    python tracking/bench_text.py [--encoder all-MiniLM-L6-v2] [--threads 2] [--batch 64] [--max_len 40]

The sentences are SynthUAV train's (seed 0, the ones ``make_synthetic.py --split train`` writes, made here without
rendering a frame); batches draw sequences uniformly, as the sampler does with one dataset. Figures, per batch:
the encoder alone; the cache cold (a new cache: the batch's distinct sentences encoded in one call) and warm (the
same batch again: every row a hit); then ``--batches`` consecutive batches from a new cache against the encoder
alone, which is what a training epoch sees. Best of ``--repeats`` for the single batches. The machine is shared:
run it twice.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from lib.models.language.encoder import SentenceCache, TextEncoder


def synth_uav_sentences(count: int, seed: int = 0) -> list[str]:
    """The ``language.txt`` of SynthUAV train sequences 0..count-1 (the scene and language generators only)."""
    from lib.synth.language import describe
    from lib.synth.scene import build_scene, sequence_rngs
    return [describe(build_scene(seed, "train", i)[0], sequence_rngs(seed, "train", i)["language"])
            for i in range(count)]


def best_seconds(fn, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return min(seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2", help="MODEL.LANGUAGE.ENCODER (default MiniLM)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--batch", type=int, default=64, help="pairs per batch (default 64)")
    parser.add_argument("--max_len", type=int, default=40, help="tokens per sentence (default 40)")
    parser.add_argument("--sequences", type=int, default=200, help="SynthUAV train sequences drawn from (default 200)")
    parser.add_argument("--batches", type=int, default=20, help="batches of the epoch-like run (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per single-batch figure (best; default 5)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    encoder = TextEncoder(args.encoder)
    tokenizer = encoder.tokenizer(args.max_len)
    pool = tokenizer.batch(synth_uav_sentences(args.sequences))
    rng = np.random.default_rng(0)
    picks = [torch.from_numpy(rng.integers(0, args.sequences, args.batch)) for _ in range(args.batches)]
    batches = [(pool["ids"][p], pool["mask"][p]) for p in picks]
    ids, mask = batches[0]

    with torch.no_grad():
        encoder(ids, mask)  # warm-up: first-call allocations
        plain = best_seconds(lambda: encoder(ids, mask), args.repeats)
        cold = best_seconds(lambda: SentenceCache(encoder)(ids, mask), args.repeats)
        warm_cache = SentenceCache(encoder)
        warm_cache(ids, mask)
        warm = best_seconds(lambda: warm_cache(ids, mask), args.repeats)

        start = time.perf_counter()
        for batch_ids, batch_mask in batches:
            encoder(batch_ids, batch_mask)
        epoch_plain = time.perf_counter() - start
        cache = SentenceCache(encoder)
        start = time.perf_counter()
        for batch_ids, batch_mask in batches:
            cache(batch_ids, batch_mask)
        epoch_cached = time.perf_counter() - start

    distinct = len({bytes(r.numpy()) for r in ids})
    print(f"text encoder {encoder.identity['name']} ({encoder.hidden_size}-d), {args.threads} threads, batch "
          f"{args.batch} x {args.max_len} tokens, SynthUAV train sentences of {args.sequences} sequences")
    print(f"{'per batch':<44} {'ms':>8} {'ms/pair':>8}")
    for label, seconds in [("encoder, no cache", plain),
                           (f"cache cold ({distinct} distinct sentences encoded)", cold),
                           ("cache warm (all hits)", warm)]:
        print(f"{label:<44} {1e3 * seconds:8.2f} {1e3 * seconds / args.batch:8.3f}")
    print(f"{args.batches} batches in a row: no cache {epoch_plain:.2f} s, cache {epoch_cached:.2f} s "
          f"({cache.misses} sentences encoded, {cache.hits} hits; {epoch_plain / epoch_cached:.1f}x)")
    print(f"median sentence length: {statistics.median(pool['mask'].sum(1).tolist()):.0f} tokens")


if __name__ == "__main__":
    main()
