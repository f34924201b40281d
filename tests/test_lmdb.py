"""tracking/build_lmdb.py packs a dataset folder; every reader then reads the pack exactly like the folder."""
from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import lmdb
import numpy as np
import pytest
import torch

from lib.train.dataset import Got10k, Lasot, TNL2k, UAVDark135, WebUAV3M
from lib.train.dataset.storage import LISTING_PREFIX, LmdbStorage

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def build_lmdb():
    spec = importlib.util.spec_from_file_location("build_lmdb", PROJECT_ROOT / "tracking" / "build_lmdb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_tnl2k(root: Path, writers) -> None:
    for k, seq in enumerate(("Arrow_video_1", "Bike_2")):
        for f in range(3):
            writers.write_jpeg(root / seq / "imgs" / f"{f + 1:05d}.jpg", seed=k * 10 + f)
        writers.write_text(root / seq / "groundtruth.txt", writers.boxes_text(writers.fractional_boxes(3, k)))
        writers.write_text(root / seq / "language.txt", f"sentence for {seq}\n")


# (dataset folder name for build_lmdb, reader, fixture writer)
CASES = {
    "got10k": (Got10k, lambda root, w: w.make_got10k(root)),
    "lasot": (Lasot, lambda root, w: w.make_lasot(root)),
    "UAVDark135": (UAVDark135, lambda root, w: w.make_data_seq(root)),
    "WebUAV-3M": (lambda root: WebUAV3M(root, split="train"), lambda root, w: w.make_webuav(root / "Train")),
    "tnl2k": (TNL2k, write_tnl2k),
}


@pytest.mark.parametrize("dataset", sorted(CASES))
def test_pack_reads_like_the_folder(tmp_path, build_lmdb, train_dataset_writers, dataset):
    reader, write = CASES[dataset]
    folder, pack = tmp_path / dataset, tmp_path / f"{dataset}.lmdb"
    write(folder, train_dataset_writers)
    assert build_lmdb.main(["--dataset", dataset, "--root", str(folder), "--out", str(pack),
                            "--map_size_gb", "0.01"]) == 0
    assert (pack / "data.mdb").is_file() and not pack.with_name(pack.name + ".tmp").exists()

    from_folder, from_pack = reader(folder), reader(pack)
    assert isinstance(from_pack.storage, LmdbStorage)
    assert from_pack.sequence_list == from_folder.sequence_list
    for i in range(len(from_folder)):
        a, b = from_folder.get_sequence_info(i), from_pack.get_sequence_info(i)
        for key in ("bbox", "valid", "visible"):
            assert torch.equal(a[key], b[key])
        ids = list(range(len(from_folder.sequence(i).frames)))
        frames_a, _, meta_a = from_folder.get_frames(i, ids)
        frames_b, _, meta_b = from_pack.get_frames(i, ids)
        assert meta_a["language"] == meta_b["language"] and meta_a["object_class_name"] == meta_b["object_class_name"]
        for fa, fb in zip(frames_a, frames_b):
            np.testing.assert_array_equal(fa, fb)


def test_pack_keys_and_listings(tmp_path, build_lmdb, train_dataset_writers):
    root = tmp_path / "UAVDark135"
    train_dataset_writers.make_data_seq(root, names=("car1",), n=2)
    build_lmdb.pack(root, tmp_path / "u.lmdb", map_size_gb=0.01)
    env = lmdb.open(str(tmp_path / "u.lmdb"), readonly=True, lock=False)
    with env.begin() as txn:
        assert txn.get(LISTING_PREFIX.encode()).decode().split("\n") == ["anno/", "data_seq/"]
        assert txn.get(f"{LISTING_PREFIX}data_seq/car1".encode()).decode().split("\n") == [
            "._00001.jpg", "00001.jpg", "00002.jpg", "Thumbs.db"]  # everything is packed, hidden files too
        assert txn.get(b"anno/car1.txt") == (root / "anno" / "car1.txt").read_bytes()
        assert txn.get(b"data_seq/car1/00002.jpg") == (root / "data_seq" / "car1" / "00002.jpg").read_bytes()
    env.close()


def test_failed_build_leaves_no_pack(tmp_path, build_lmdb, train_dataset_writers, monkeypatch):
    root = tmp_path / "got10k"
    train_dataset_writers.make_got10k(root, n=4)
    out = tmp_path / "got10k.lmdb"
    monkeypatch.setattr(build_lmdb, "FILES_PER_COMMIT", 2)  # some batches are committed before the failure
    real_read, reads = build_lmdb.read_file, []

    def failing_read(path):
        reads.append(path)
        if len(reads) == 7:
            raise OSError(f"disk error reading {path}")
        return real_read(path)

    monkeypatch.setattr(build_lmdb, "read_file", failing_read)
    with pytest.raises(OSError, match="disk error"):
        build_lmdb.main(["--dataset", "got10k", "--root", str(root), "--out", str(out), "--map_size_gb", "0.01"])
    assert len(reads) == 7
    assert not out.exists() and not out.with_name(out.name + ".tmp").exists()


def test_existing_pack_needs_overwrite(tmp_path, build_lmdb, train_dataset_writers):
    root = tmp_path / "lasot"
    train_dataset_writers.make_lasot(root, seqs=(("cat", 1),), n=2)
    out = tmp_path / "lasot.lmdb"
    build_lmdb.pack(root, out, map_size_gb=0.01)
    (root / "cat" / "cat-1" / "nlp.txt").write_text("a changed sentence")
    with pytest.raises(FileExistsError, match="overwrite"):
        build_lmdb.pack(root, out, map_size_gb=0.01)
    build_lmdb.main(["--dataset", "lasot", "--root", str(root), "--out", str(out), "--map_size_gb", "0.01",
                     "--overwrite"])
    assert Lasot(out).sequence(0).language == "a changed sentence"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lasot", "lasot.lmdb"]  # no .tmp / .old left


def test_resolver_env_points_at_pack_and_pack_pickles(tmp_path, build_lmdb, train_dataset_writers, monkeypatch):
    folder = tmp_path / "got10k"
    expected = train_dataset_writers.make_got10k(folder, n=3)
    monkeypatch.setenv("TRACKING_DATA_GOT10K", str(folder))  # --root omitted: the resolver finds the folder
    build_lmdb.main(["--dataset", "got10k", "--out", str(tmp_path / "g.lmdb"), "--map_size_gb", "0.01"])
    monkeypatch.setenv("TRACKING_DATA_GOT10K", str(tmp_path / "g.lmdb"))
    ds = Got10k()
    assert isinstance(ds.storage, LmdbStorage)
    ds.get_frames(0, [0])  # opens the environment in this process
    clone = pickle.loads(pickle.dumps(ds))  # as DataLoader workers receive it
    boxes = expected["GOT-10k_Train_000001"][0]
    assert torch.equal(clone.get_sequence_info(0)["bbox"], torch.tensor(boxes, dtype=torch.float32))
    assert clone.get_frames(0, [2])[0][0].shape == (24, 32, 3)
    assert os.environ["TRACKING_DATA_GOT10K"].endswith("g.lmdb")


class _FramesOf(torch.utils.data.Dataset):
    """Frame 0 of each sequence, read in a DataLoader worker."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return torch.from_numpy(self.dataset.get_frames(i, [0])[0][0])


def test_one_pack_two_readers_and_forked_workers(tmp_path, build_lmdb, train_dataset_writers):
    folder, pack = tmp_path / "got10k", tmp_path / "got10k.lmdb"
    train_dataset_writers.make_got10k(folder, split="train", n=2)
    train_dataset_writers.make_got10k(folder, split="val", names=("V1",), n=2)
    build_lmdb.pack(folder, pack, map_size_gb=0.01)
    train, val = Got10k(pack, split="train"), Got10k(pack, split="val")  # both open the same environment
    assert val.get_frames(0, [1])[0][0].shape == train.get_frames(0, [1])[0][0].shape == (24, 32, 3)
    # the parent has the pack open; forked workers inherit it and must still be able to read
    loader = torch.utils.data.DataLoader(_FramesOf(train), batch_size=None, num_workers=1,
                                         multiprocessing_context="fork")
    frames = list(loader)
    assert len(frames) == 2
    assert torch.equal(frames[1], torch.from_numpy(Got10k(folder).get_frames(1, [0])[0][0]))
