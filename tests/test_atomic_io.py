"""Atomic writes are durable (data fsync'ed before the rename, the folder after it) and the temp files of a write
that was killed are removed later, never those of a writer that is still running."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import torch

from lib.test.evaluation.results import claim_results_folder
from lib.train.trainers.checkpoint import save_checkpoint
from lib.utils import io


def test_data_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(io.os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                    real_fsync(fd)))
    monkeypatch.setattr(io.os, "replace", lambda src, dst: (events.append(("replace", str(dst))),
                                                            real_replace(src, dst)))
    target = tmp_path / "seq.txt"
    io.atomic_write(target, "1,2,3,4\n")
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"]
    assert events[0][1].startswith(str(tmp_path / ".seq.txt.")) and events[1][1] == str(target)
    assert events[2][1] == str(tmp_path) and target.read_text() == "1,2,3,4\n"

    events.clear()
    save_checkpoint(tmp_path / "ep0001.pth", {"w": torch.zeros(3)})
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"] and events[2][1] == str(tmp_path)


WRITER = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from lib.utils.io import atomic_path
    target, mode = Path(sys.argv[1]), sys.argv[2]
    with atomic_path(target) as tmp:
        tmp.write_text("written by " + mode)
        if mode == "killed":
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would, half-way through the write
        Path(str(target) + ".ready").touch()
        while not Path(str(target) + ".go").exists():  # a live writer, still busy with its temp file
            time.sleep(0.02)
""")


def temp_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_leftovers_of_a_killed_write_are_removed_but_not_a_live_writers(tmp_path):
    folder = tmp_path / "results"
    for name in ("a.txt", "c.txt"):
        assert subprocess.run([sys.executable, "-c", WRITER, str(folder / name), "killed"]).returncode == -9
    leftovers = temp_files(folder)
    assert [n.split(".tmp")[0][:7] for n in leftovers] == [".a.txt.", ".c.txt."]
    other_host = folder / ".b.txt.otherhost_12345.abcd1234.tmp"  # whether its writer runs cannot be told: kept
    other_host.write_text("x")

    live = subprocess.Popen([sys.executable, "-c", WRITER, str(folder / "a.txt"), "live"])
    try:
        deadline = time.monotonic() + 60
        while not (folder / "a.txt.ready").exists() and live.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        [live_temp] = [n for n in temp_files(folder) if n not in leftovers and n != other_host.name]

        io.atomic_write(folder / "a.txt", "written by the next write")  # the next write of the same target
        assert temp_files(folder) == sorted([live_temp, leftovers[1], other_host.name])  # the killed a.txt one: gone
        claim_results_folder(folder, {"tracker": "t"})  # a run starting: all dead writers' leftovers go
        assert temp_files(folder) == sorted([live_temp, other_host.name])
    finally:
        (folder / "a.txt.go").touch()
        assert live.wait(timeout=60) == 0
    assert (folder / "a.txt").read_text() == "written by live" and temp_files(folder) == [other_host.name]
