"""What the benchmark and evidence scripts in ``tracking/`` share: running a command of some checkout of this project
as a subprocess and timing it from launch to exit (the user's view: imports and start-up included), and running
the steps of a multi-command script (train, test, score) with each command echoed and a failure stopping it."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def child_env(code: Path) -> dict:
    """The environment of a timed command: ``code``'s ``lib`` first, no dataset or output overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    env["PYTHONPATH"] = str(code)
    return env


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    """Wall seconds from launch to exit, and stdout; a failed command stops the benchmark with its stderr."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def run_step(cmd: list) -> str:
    """Run one step (echoed to stderr as ``$ cmd``) and return its stdout; a failure stops the script with the
    command and the end of its stderr."""
    print("$", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr[-3000:]}")
    return proc.stdout


def webuav_scores(dataset: str, labels: list[str], roots: list, sequences: list[str] | None = None) -> dict:
    """{label: scores} of finished results on ``dataset`` (``tracking/analysis_results.py --protocol webuav``)."""
    from lib.paths import PROJECT_ROOT
    subset = ["--sequence", *sequences] if sequences else []
    return json.loads(run_step([sys.executable, PROJECT_ROOT / "tracking" / "analysis_results.py", "--dataset",
                                dataset, "--protocol", "webuav", "--format", "json", "--trackers", *labels, *subset,
                                *roots]))


def mean_std(values: list[float]) -> str:
    """'mean ± sample standard deviation' (± 0 for one value), three decimals: evidence tables."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def evidence_parser(doc: str, name: str) -> argparse.ArgumentParser:
    """The options every evidence script takes: ``--seeds``, ``--out`` (default ``<output root>/<name>``),
    ``--data_root``, ``--threads``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, help=f"output folder (default <output root>/{name})")
    parser.add_argument("--data_root", help="folder holding synth_uav/ (default: the resolver's)")
    parser.add_argument("--threads", type=int, default=2, help="test worker processes")
    return parser
