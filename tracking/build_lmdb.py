"""Pack a dataset folder into an LMDB that ``lib.train.dataset.storage.LmdbStorage`` reads.

    python tracking/build_lmdb.py --dataset lasot --out /fast/lasot.lmdb [--root DIR] [--map_size_gb 64]

Keys: each file's path relative to the dataset root (posix) -> its bytes; and for every folder, the root
included (empty relative path), ``LISTING_PREFIX + <folder>`` -> its entries, one per line, sub-folders ending
with '/'. The pack is written to ``OUT.tmp`` and renamed to ``OUT`` only when complete, so an interrupted build
never leaves a half-written OUT. Then read it with any reader: ``Lasot(root='/fast/lasot.lmdb')``, or set
``TRACKING_DATA_LASOT=/fast/lasot.lmdb``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Iterator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # runnable as a script without installing the package
    sys.path.insert(0, str(PROJECT_ROOT))

from lib.paths import DATASET_LAYOUTS, resolve_root  # noqa: E402
from lib.train.dataset.storage import LISTING_PREFIX  # noqa: E402

FILES_PER_COMMIT = 1000


def walk_dataset(root: Path, skip: set[Path]) -> Iterator[tuple[str, list[str], list[str]]]:
    """(relative posix folder, sub-folder names, file names) for every folder under ``root``, sorted.

    Symbolic links are followed (datasets are often assembled from links); ``skip`` holds folders to leave out
    (the output itself, should it live inside the dataset root).
    """
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if (Path(folder) / d).resolve() not in skip)
        rel = Path(folder).relative_to(root).as_posix()
        yield ("" if rel == "." else rel), dirs, sorted(files)


def read_file(path: Path) -> bytes:
    return path.read_bytes()


def write_tree(env, root: Path, skip: set[Path], map_size_gb: float) -> int:
    """Write every file and folder listing under ``root`` into ``env``, committing every FILES_PER_COMMIT files."""
    import lmdb
    from tqdm import tqdm

    count = 0
    txn = env.begin(write=True)
    try:
        with tqdm(unit="file", desc=f"packing {root.name}", dynamic_ncols=True) as progress:
            for rel, dirs, files in walk_dataset(root, skip):
                listing = [d + "/" for d in dirs] + files
                txn.put((LISTING_PREFIX + rel).encode("utf-8"), "\n".join(listing).encode("utf-8"))
                for name in files:
                    key = f"{rel}/{name}" if rel else name
                    try:
                        txn.put(key.encode("utf-8"), read_file(root / key))
                    except lmdb.MapFullError:
                        raise RuntimeError(f"LMDB map full at {root / key}: rerun with a larger --map_size_gb "
                                           f"(now {map_size_gb})") from None
                    except lmdb.BadValsizeError as err:
                        raise ValueError(f"cannot store {root / key} (key too long for LMDB?): {err}") from None
                    count += 1
                    progress.update()
                    if count % FILES_PER_COMMIT == 0:
                        txn.commit()
                        txn = env.begin(write=True)
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    return count


def pack(root: Path, out: Path, map_size_gb: float = 64, overwrite: bool = False) -> int:
    """Pack ``root`` into the LMDB folder ``out`` (built as ``out.tmp``, then renamed); returns the file count."""
    import lmdb

    root, out = Path(root).resolve(), Path(out).resolve()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists (use --overwrite to replace it)")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # left over from an interrupted build
    try:
        env = lmdb.open(str(tmp), map_size=int(map_size_gb * 2**30), subdir=True, readahead=False, meminit=False)
        try:
            count = write_tree(env, root, {out, tmp}, map_size_gb)
            env.sync(True)
        finally:
            env.close()
    except BaseException:  # including Ctrl-C: never leave a partial pack behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():  # --overwrite: move the old pack aside, put the new one in place, then delete the old one
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old)
    else:
        os.replace(tmp, out)
    return count


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, choices=sorted(DATASET_LAYOUTS), metavar="NAME",
                        help="dataset folder name from lib/paths.py: " + ", ".join(sorted(DATASET_LAYOUTS)))
    parser.add_argument("--root", default=None, help="dataset folder (default: from the root resolver)")
    parser.add_argument("--out", required=True, help="output LMDB folder, e.g. lasot.lmdb")
    parser.add_argument("--map_size_gb", type=float, default=64, help="LMDB map size (an upper bound, sparse)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = resolve_root(args.dataset, args.root)
    count = pack(root, Path(args.out), args.map_size_gb, args.overwrite)
    print(f"packed {count} files from {root} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
