"""SynthUAV splits made on first use: what the training reader and the test reader both call before reading one.

A split folder that an interrupted generation left short (its ``progress.json`` says incomplete) is completed with
the seed and count that run recorded, so no reader ever sees a silently smaller split; a missing one is generated
with the defaults (the training side) or left to the caller's error (the test side). Processes starting together
(torchrun ranks, test workers) take turns on a lock file beside the split, so one generates and the others wait and
then read the finished split.

The generator (``lib.synth``: renderer, OpenCV) is imported only when a split has to be made.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def split_folder_name(split: str, night: bool) -> str:
    return f"{split.lower()}_night" if night else split.lower()


def unfinished_generation(folder: Path) -> dict | None:
    """Arguments for ``generate_split`` that (re)generate ``folder``, or None when it is complete. A missing folder
    gets the defaults; a folder an interrupted run left unfinished is completed with the seed and count that run
    recorded (so a deliberate --num is kept). A folder without the generator's records is not ours to complete
    (None): the generator's own check names the problem if it is run."""
    from lib.synth import GENERATION_FILE, PROGRESS_FILE
    if not folder.is_dir():
        return {}
    record, progress = folder / GENERATION_FILE, folder / PROGRESS_FILE
    if not record.is_file() or not progress.is_file():
        return None
    state = json.loads(progress.read_text())
    if state["complete"]:
        return None
    return {"seed": int(json.loads(record.read_text())["seed"]), "num": int(state["num"])}


def check_generator_version(folder: Path) -> None:
    """A split made by another generator version holds other scenes under the same names: refuse to read it (results
    on it would not compare with anyone's), naming the folder and the command that remakes it."""
    from lib.synth import GENERATION_FILE
    record = folder / GENERATION_FILE
    version = json.loads(record.read_text()).get("version") if record.is_file() else None
    if version is None:  # no record (not a generated split) or one without a version: nothing to compare
        return
    from lib.synth import GenerationMismatchError
    from lib.synth.constants import GENERATOR_VERSION
    if version != GENERATOR_VERSION:
        raise GenerationMismatchError(
            f"SynthUAV split {folder} was made by generator version {version}; this code makes version "
            f"{GENERATOR_VERSION} (other scenes under the same names). Delete the folder and rerun, or remake it "
            f"with python tracking/make_synthetic.py --split {folder.name.replace('_night', '')}"
            f"{' --night' if folder.name.endswith('_night') else ''} --data_root {folder.parent.parent}")


def ensure_split(root: Path, split: str, night: bool = False, generate_missing: bool = True) -> None:
    """Make ``root/<split>[_night]`` complete: complete an interrupted generation, and generate a missing split
    when ``generate_missing``. A split in a read-only root is read as it is, unless it is incomplete (an error)."""
    root = Path(root)
    folder = root / split_folder_name(split, night)
    if not folder.is_dir() and not generate_missing:
        return
    check_generator_version(folder)
    if folder.is_dir() and not os.access(root, os.W_OK):  # nobody can be generating into it, nor can we
        todo = unfinished_generation(folder)
        if todo:
            raise ValueError(f"SynthUAV split {folder} is incomplete (an interrupted generation of {todo['num']} "
                             f"sequences) and {root} is read-only: complete it where it is writable with "
                             f"python tracking/make_synthetic.py --split {split}{' --night' if night else ''} "
                             f"--seed {todo['seed']} --num {todo['num']}")
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{folder.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        todo = unfinished_generation(folder)
        if todo is not None and (todo or generate_missing):
            from lib.synth import generate_split
            log.info("SynthUAV: %s split %r (night=%s) in %s", "completing" if todo else "generating", split,
                     night, root)
            generate_split(root, split, night=night, **todo)
