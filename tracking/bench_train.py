"""Training throughput of what the user runs, for this checkout and optionally older ones side by side.

    python tracking/bench_train.py                                  # ostrack/synth_tiny, 3 alternating rounds
    python tracking/bench_train.py --code . /tmp/old --repeats 5    # beside `git worktree add /tmp/old <commit>`

Two figures per checkout, each measured in every round, the checkouts alternating within a round (the machine is
shared and its speed drifts, so only ratios from one run mean anything):

* ``data``: training pairs/s of the config's DataLoader alone (sampling, decoding, cropping, augmentation, heat
  maps, collation; ``TRAIN.NUM_WORKER`` as configured), after the first batch;
* ``train``: ``python tracking/train.py --script S --config C --epochs E`` from launch to exit, and the pairs/s
  its epoch summaries report (training iterations only; the wall time also has imports, validation and
  checkpoints).

Every command runs as a subprocess with ``PYTHONPATH`` set to its checkout. SynthUAV is read from the data root
(``--data_root``, else the usual resolver) and made there first if missing.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from lib.paths import PROJECT_ROOT, apply_cli_roots, data_root
from lib.utils.bench import child_env, timed

DATA_PROBE = '''
import json, sys, time
from lib.config import load_config
from lib.train.data.build import build_loaders
cfg = load_config(sys.argv[1], sys.argv[2])
entry = build_loaders(cfg, rank=0, world_size=1, seed=0)["train"]
loader = entry[0] if isinstance(entry, (tuple, list)) else entry
batches = iter(loader)
next(batches)  # worker start-up and first file reads are not throughput
start, count = time.perf_counter(), 0
for _ in range(int(sys.argv[3])):
    count += len(next(batches)["search_images"])
print(json.dumps({"pairs_per_s": count / (time.perf_counter() - start)}))
'''


def data_pairs_per_s(code: Path, script: str, config: str, batches: int, env: dict) -> float:
    _, out = timed([sys.executable, "-c", DATA_PROBE, script, config, str(batches)], env)
    return json.loads(out.strip().splitlines()[-1])["pairs_per_s"]


def train_run(code: Path, script: str, config: str, epochs: int, save_dir: Path, env: dict) -> tuple[float, float]:
    """(wall seconds, mean training pairs/s over the epochs) of one tracking/train.py run into ``save_dir``."""
    cmd = [sys.executable, str(code / "tracking" / "train.py"), "--script", script, "--config", config,
           "--epochs", str(epochs), "--save_dir", str(save_dir), "--no_progress"]
    seconds, _ = timed(cmd, env)
    name = Path(config).stem
    summaries = [json.loads(line) for line in (save_dir / "logs" / script / f"{name}.jsonl").read_text().splitlines()
                 if line.strip()]
    return seconds, statistics.mean(s["pairs_per_s"] for s in summaries)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--script", default="ostrack")
    parser.add_argument("--config", default="synth_tiny")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per training run (default 1)")
    parser.add_argument("--data_batches", type=int, default=24, help="batches timed by the data probe")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; each round runs every checkout once")
    parser.add_argument("--code", nargs="+", type=Path, default=[PROJECT_ROOT],
                        help="project checkouts to time (default: this one)")
    parser.add_argument("--data_root", help="folder holding synth_uav/ (default: the resolver's)")
    args = parser.parse_args(argv)
    apply_cli_roots(args.data_root, None)
    root = data_root()
    codes = [c.resolve() for c in args.code]
    results: dict[int, dict[str, list[float]]] = {i: {"data": [], "train": [], "wall": []} for i in range(len(codes))}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for i, code in enumerate(codes):
                env = {**child_env(code), "TRACKING_DATA_ROOT": str(root)}
                results[i]["data"].append(data_pairs_per_s(code, args.script, args.config, args.data_batches, env))
                save_dir = Path(tmp) / f"run_{i}_{rep}"
                wall, pairs = train_run(code, args.script, args.config, args.epochs, save_dir, env)
                shutil.rmtree(save_dir, ignore_errors=True)
                results[i]["train"].append(pairs)
                results[i]["wall"].append(wall)
                print(f"round {rep + 1}: {code.name or code}: data {results[i]['data'][-1]:.0f} pairs/s, train "
                      f"{pairs:.0f} pairs/s, {wall:.1f} s", file=sys.stderr, flush=True)
    print(f"\n{args.script}/{args.config}, {args.epochs} epoch(s) per run, {args.repeats} alternating rounds; "
          f"median (min-max) of the rounds, ratio to the first checkout's median:")
    base = {k: statistics.median(v) for k, v in results[0].items()}
    for i, code in enumerate(codes):
        cells = []
        for key, unit in (("data", "pairs/s"), ("train", "pairs/s"), ("wall", "s")):
            values = results[i][key]
            median = statistics.median(values)
            cells.append(f"{key} {median:6.1f} {unit} ({min(values):.1f}-{max(values):.1f}, "
                         f"{median / base[key]:.2f}x)")
        print(f"  {str(code.name or code):<12} " + "   ".join(cells))


if __name__ == "__main__":
    main()
