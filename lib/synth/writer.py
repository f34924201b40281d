"""Writing SynthUAV splits to disk in the WebUAV-3M layout, one sequence at a time and atomically.

<root>/<split>[_night]/<seq>/{img/000001.jpg, groundtruth_rect.txt, absent.txt, attributes.txt, language.txt}
and <root>/<split>[_night]/generation.json with the generator's parameters.

A sequence is written into a hidden sibling folder and renamed into place when complete, so a sequence
folder that exists is complete: a rerun skips it, and a crash loses at most the sequences in progress (their
temporary folders are removed by the next run). A split folder made with other parameters (seed, version,
...) is never added to: mixing two generations in one split would be silent corruption.

``progress.json`` = {"num": N, "complete": bool} says that the split is sequences 0..N-1 and whether all of them
are on disk; the training reader completes a split whose file says false. It never claims more than the folder
holds: N is the largest of the count asked for, the count recorded before and the sequences present, so a
``num`` smaller than what the folder already holds deletes nothing and changes nothing (the split stays as
big as it is; delete the folder, or use another root, for a smaller one).
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .attributes import compute_attributes
from .constants import (ABSENT_MAX_VISIBLE, DAY_NOISE_SIGMA, DEFAULT_COUNTS, FRAME_H, FRAME_W, GENERATOR_NAME,
                        GENERATOR_VERSION, JPEG_QUALITY, MAX_ABSENT_FRACTION, NIGHT_SUFFIX, SEQUENCE_LENGTHS,
                        SPLITS)
from .language import describe
from .night import NightRenderer
from .render import Renderer
from .scene import build_scene, sequence_rngs

TEMP_PREFIX = ".tmp_"
SEQUENCE_FILES = ("groundtruth_rect.txt", "absent.txt", "attributes.txt", "language.txt")
GENERATION_FILE = "generation.json"
PROGRESS_FILE = "progress.json"  # {"num": sequences of the split, "complete": bool}: lets a reader finish a crashed run


class GenerationMismatchError(RuntimeError):
    """A split folder already holds a generation made with other parameters."""


@dataclass(frozen=True)
class SequenceTask:
    root: str
    split: str
    index: int
    seed: int
    night: bool


def sequence_name(split: str, index: int) -> str:
    return f"synth_{split}_{index:04d}"


def split_dir(root: str | os.PathLike, split: str, night: bool = False) -> Path:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return Path(root) / (split + (NIGHT_SUFFIX if night else ""))


def generation_params(seed: int, split: str, night: bool) -> dict:
    """What a split folder's content depends on (not how many sequences: a rerun may add more)."""
    return {
        "generator": GENERATOR_NAME, "version": GENERATOR_VERSION, "seed": seed, "split": split, "night": night,
        "frame_size": [FRAME_W, FRAME_H], "sequence_length": list(SEQUENCE_LENGTHS[split]),
        "jpeg_quality": JPEG_QUALITY, "day_noise_sigma": DAY_NOISE_SIGMA,
        "absent_max_visible": ABSENT_MAX_VISIBLE, "max_absent_fraction": MAX_ABSENT_FRACTION,
    }


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(TEMP_PREFIX + path.name)
    tmp.write_text(text)
    os.replace(tmp, path)


def _check_generation(folder: Path, params: dict) -> None:
    """Record the parameters of a new split folder; refuse to add to one made with other parameters."""
    record = folder / GENERATION_FILE
    if record.exists():
        try:
            existing = json.loads(record.read_text())
        except (OSError, ValueError) as err:
            raise GenerationMismatchError(f"{record}: unreadable generation record ({err}); delete {folder} "
                                          f"to regenerate") from err
        if existing != params:
            diff = ", ".join(f"{k}: {existing.get(k)!r} there vs {params.get(k)!r} now"
                             for k in sorted(set(existing) | set(params)) if existing.get(k) != params.get(k))
            raise GenerationMismatchError(
                f"{folder} already holds a SynthUAV generation with other parameters ({diff}); refusing to mix "
                f"two generations. Delete {folder}, or write to another --data_root.")
        return
    if any(p.name.startswith("synth_") for p in folder.iterdir()):
        raise GenerationMismatchError(f"{folder} holds sequences but no {GENERATION_FILE}: unknown generation; "
                                      f"delete it or write to another --data_root")
    _write_atomic(record, json.dumps(params, indent=2, sort_keys=True) + "\n")


def _check_day_twin(root: Path, split: str, params: dict) -> None:
    """A night split must come from the same scenes as the day split beside it (if that exists)."""
    day_record = split_dir(root, split) / GENERATION_FILE
    if not day_record.exists():
        return
    day = json.loads(day_record.read_text())
    for key in ("seed", "version"):
        if day.get(key) != params[key]:
            raise GenerationMismatchError(
                f"{split_dir(root, split, True)}: night twin with {key}={params[key]!r} but the day split "
                f"{day_record.parent} was made with {key}={day.get(key)!r}; use the same {key}")


def remove_stale_temps(folder: Path) -> list[str]:
    """Delete temporary sequence folders left by an interrupted run; returns their names."""
    removed = []
    for p in sorted(folder.glob(TEMP_PREFIX + "*")):
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
        removed.append(p.name)
    return removed


def is_complete(seq_dir: Path) -> bool:
    return seq_dir.is_dir() and (seq_dir / "img").is_dir() and all((seq_dir / f).is_file() for f in SEQUENCE_FILES)


def _format_box(box: np.ndarray, absent: bool) -> str:
    return "0,0,0,0" if absent else ",".join(f"{v:.2f}" for v in box)


def write_sequence(task: SequenceTask) -> str:
    """Generate one sequence into a temporary folder and move it into place; returns its name."""
    name = sequence_name(task.split, task.index)
    final = split_dir(task.root, task.split, task.night) / name
    tmp = final.with_name(TEMP_PREFIX + name)
    try:
        scene, ann = build_scene(task.seed, task.split, task.index, name)
        rngs = sequence_rngs(task.seed, task.split, task.index)
        renderer = Renderer(scene)
        night = NightRenderer(scene, rngs["night"], renderer) if task.night else None
        if tmp.exists():
            shutil.rmtree(tmp)
        (tmp / "img").mkdir(parents=True)
        params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        for t in range(scene.n_frames):
            rgb = night.frame(t) if night is not None else renderer.day(t, rngs["day"])
            path = tmp / "img" / f"{t + 1:06d}.jpg"
            if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params):
                raise OSError(f"cv2.imwrite failed for {path}")
        (tmp / "groundtruth_rect.txt").write_text(
            "".join(_format_box(b, a) + "\n" for b, a in zip(ann.boxes, ann.absent)))
        (tmp / "absent.txt").write_text("".join(f"{int(a)}\n" for a in ann.absent))
        (tmp / "attributes.txt").write_text(",".join(str(v) for v in compute_attributes(scene, ann)) + "\n")
        (tmp / "language.txt").write_text(describe(scene, rngs["language"]))
        os.rename(tmp, final)
    except Exception as err:  # add the sequence to whatever went wrong; the temp folder is left for cleanup
        raise RuntimeError(f"{final}: generation failed: {type(err).__name__}: {err}") from err
    return name


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already


def read_progress(folder: Path) -> dict | None:
    """The split's ``progress.json`` ({"num", "complete"}), None when there is none (or it is unreadable)."""
    try:
        state = json.loads((folder / PROGRESS_FILE).read_text())
        return {"num": int(state["num"]), "complete": bool(state["complete"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _present_indices(folder: Path, split: str) -> list[int]:
    """Indices of the sequence folders in ``folder`` (complete or not; temporary folders are hidden)."""
    pattern = re.compile(rf"^{re.escape(sequence_name(split, 0)[:-4])}(\d{{4,}})$")
    return sorted(int(m.group(1)) for p in folder.iterdir() if p.is_dir() and (m := pattern.match(p.name)))


def _write_progress(folder: Path, num: int, complete: bool) -> None:
    _write_atomic(folder / PROGRESS_FILE, json.dumps({"num": num, "complete": complete}) + "\n")


def generate_split(root: str | os.PathLike, split: str, num: int | None = None, seed: int = 0, night: bool = False,
                   workers: int = 2, progress: bool = True) -> list[str]:
    """Write the missing sequences among 0..num-1 of ``split`` ('train', 'val', 'test'; the night twin into
    '<split>_night') under ``root``, skipping complete ones. Returns the names of the complete sequences the split
    folder holds afterwards: more than ``num`` when it already held more (those are left as they are)."""
    folder = split_dir(root, split, night)
    num = DEFAULT_COUNTS[split] if num is None else int(num)
    if num < 0 or seed < 0:
        raise ValueError(f"num and seed must be >= 0, got num={num}, seed={seed}")
    params = generation_params(seed, split, night)
    if night:
        _check_day_twin(Path(root), split, params)
    folder.mkdir(parents=True, exist_ok=True)
    _check_generation(folder, params)
    remove_stale_temps(folder)
    recorded, present = read_progress(folder), _present_indices(folder, split)
    target = max(num, recorded["num"] if recorded else 0, present[-1] + 1 if present else 0)
    todo = []
    for i in range(num):
        seq_dir = folder / sequence_name(split, i)
        if seq_dir.exists() and not is_complete(seq_dir):
            raise RuntimeError(f"{seq_dir} exists but is incomplete (missing files); delete it and rerun")
        if not seq_dir.exists():
            todo.append(SequenceTask(str(root), split, i, seed, night))
    if todo:
        _write_progress(folder, target, False)
    bar = tqdm(total=len(todo), desc=f"synth {folder.name}", unit="seq", disable=not progress)
    with bar:
        if workers <= 1 or len(todo) <= 1:
            for task in todo:
                write_sequence(task)
                bar.update()
        else:
            with mp.get_context("spawn").Pool(min(workers, len(todo)), initializer=_init_worker) as pool:
                for _ in pool.imap_unordered(write_sequence, todo):
                    bar.update()
    names = [sequence_name(split, i) for i in range(target)]
    done = [name for name in names if is_complete(folder / name)]
    _write_progress(folder, target, len(done) == target)
    return done
