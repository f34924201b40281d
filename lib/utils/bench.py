"""What the benchmark scripts in ``tracking/`` share: running a command of some checkout of this project as a
subprocess and timing it from launch to exit (the user's view: imports and start-up included)."""
from __future__ import annotations

import os
import subprocess
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
