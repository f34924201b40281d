from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lib.models.language import TextTokenizer
from lib.train.data import EpochIndexSampler, TrackingProcessing, TrackingSampler, build_loader
from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno

NUM_SEQUENCES, NUM_FRAMES, IMAGE_HW = 3, 24, (72, 96)


def _box(seq: int, frame: int) -> list[float]:
    return [10.0 + 2 * frame + 5 * seq, 15.0 + frame, 18.0 + seq, 12.0]


@pytest.fixture(scope="module")
def video_root(tmp_path_factory) -> Path:
    """Small JPEG videos: a bright rectangle moving over noise."""
    root = tmp_path_factory.mktemp("tiny_videos")
    rng = np.random.default_rng(0)
    for s in range(NUM_SEQUENCES):
        (root / f"seq{s}").mkdir()
        for f in range(NUM_FRAMES):
            image = rng.integers(0, 120, (*IMAGE_HW, 3), dtype=np.uint8)
            x, y, w, h = (int(v) for v in _box(s, f))
            image[y:y + h, x:x + w] = 230
            cv2.imwrite(str(root / f"seq{s}" / f"{f:04d}.jpg"), image)
    return root


class TinyVideos(BaseVideoDataset):
    name = "tiny_videos"

    def __init__(self, root, absent: bool = False, video: bool = True):
        self.absent, self.video = absent, video
        super().__init__(root=root)

    def is_video_sequence(self) -> bool:
        return self.video

    def _list_sequences(self) -> list[str]:
        return [f"seq{s}" for s in range(NUM_SEQUENCES)]

    def _load_sequence(self, seq_name: str) -> SequenceAnno:
        s = int(seq_name[3:])
        return SequenceAnno(name=seq_name, bbox=np.array([_box(s, f) for f in range(NUM_FRAMES)]),
                            frames=[f"{seq_name}/{f:04d}.jpg" for f in range(NUM_FRAMES)],
                            absent=np.full(NUM_FRAMES, self.absent), language=f"the {s}th car on the left")


class NeverVisible(TinyVideos):
    name = "never_visible"

    def __init__(self, root):
        super().__init__(root, absent=True)


def make_sampler(root, seed=0, processing="tiny", **kwargs) -> TrackingSampler:
    if processing == "tiny":
        processing = TrackingProcessing(output_sz={"template": 32, "search": 64}, feat_stride=16)
    return TrackingSampler([TinyVideos(root)], samples_per_epoch=kwargs.pop("samples_per_epoch", 8),
                           processing=processing, seed=seed, **kwargs)


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_same_seed_same_pairs_different_index_different_pair(video_root):
    first, second = make_sampler(video_root), make_sampler(video_root)
    for index in (0, 5, 123456):
        assert_same(first[index], second[index])
    assert not torch.equal(first[0]["search_images"], first[1]["search_images"])
    assert not torch.equal(first[0]["search_images"], make_sampler(video_root, seed=1)[0]["search_images"])


def test_causal_frames_template_before_search_within_gap(video_root):
    sampler = make_sampler(video_root, processing=None, max_gap=3, num_template_frames=2, num_search_frames=2)
    for index in range(20):
        data = sampler[index]
        template = [int(b[1]) - 15 for b in data["template_anno"]]    # y = 15 + frame in every sequence
        search = [int(b[1]) - 15 for b in data["search_anno"]]
        assert len(template) == 2 and len(search) == 2 and len(data["search_images"]) == 2
        base = template[-1]                                          # the latest template frame
        assert base - 3 <= template[0] <= base < search[0] <= search[1] <= base + 3
        assert data["language"].endswith("on the left")
    assert sum(s["rejections"] for s in sampler.stats().values()) == 0


def test_image_dataset_uses_one_frame_for_template_and_search(video_root):
    sampler = TrackingSampler([TinyVideos(video_root, video=False)], samples_per_epoch=4, seed=0)
    data = sampler[2]
    assert torch.equal(data["template_anno"][0], data["search_anno"][0])
    np.testing.assert_array_equal(data["template_images"][0], data["search_images"][0])


def _epoch_batches(sampler, num_workers, epoch, batch_size=4):
    loader, index_sampler = build_loader(sampler, batch_size=batch_size, num_workers=num_workers, seed=0)
    index_sampler.set_epoch(epoch)
    return list(loader)


def test_loader_epochs_are_reproducible_and_worker_count_independent(video_root):
    tokenizer = TextTokenizer(max_len=16)
    processing = TrackingProcessing(output_sz={"template": 32, "search": 64}, tokenizer=tokenizer, max_text_len=16)
    sampler = make_sampler(video_root, processing=processing)
    epoch0 = _epoch_batches(sampler, 0, epoch=0)
    assert len(epoch0) == 2 and epoch0[0]["search_images"].shape == (4, 1, 3, 64, 64)
    assert epoch0[0]["text_ids"].shape == (4, 16) and epoch0[0]["text_valid"].all()
    for other in (_epoch_batches(sampler, 0, epoch=0), _epoch_batches(sampler, 2, epoch=0)):
        for a, b in zip(epoch0, other, strict=True):
            assert_same(a, b)
    epoch1 = _epoch_batches(sampler, 0, epoch=1)
    assert not torch.equal(epoch0[0]["search_images"], epoch1[0]["search_images"])


def test_ranks_get_disjoint_indices_and_epochs_move_on():
    rank0, rank1 = EpochIndexSampler(10, rank=0, world_size=2), EpochIndexSampler(10, rank=1, world_size=2)
    assert len(rank0) == len(rank1) == 5
    assert set(rank0).isdisjoint(rank1) and set(rank0) | set(rank1) == set(range(10))
    rank1.set_epoch(3)
    assert list(rank1) == [31, 33, 35, 37, 39]
    assert list(EpochIndexSampler(7, rank=2, world_size=3)) == [2, 5]   # the remainder (index 6) is dropped


def test_never_visible_dataset_raises_naming_it(video_root):
    sampler = TrackingSampler([NeverVisible(video_root)], samples_per_epoch=4, max_retries=7)
    with pytest.raises(RuntimeError, match=r"never_visible.*7 tries.*seq\d"):
        sampler[0]
    assert sampler.stats()["never_visible"] == {"draws": 7, "rejections": 7}


def test_rejected_pairs_are_redrawn_and_counted(video_root):
    processing = TrackingProcessing(output_sz={"template": 32, "search": 64})

    def flaky(data, rng):  # rejects about half of the pairs, deterministically from the sampler's rng
        return None if rng.random() < 0.5 else processing(data, rng)

    sampler = make_sampler(video_root, processing=flaky)
    for index in range(8):
        assert sampler[index]["search_images"].shape == (1, 3, 64, 64)
    stats = sampler.stats()["tiny_videos"]
    assert stats["rejections"] > 0 and stats["draws"] == 8 + stats["rejections"]


def test_io_errors_are_not_swallowed(video_root, tmp_path):
    (tmp_path / "seq0").mkdir()                                  # a dataset whose JPEGs are missing
    sampler = make_sampler(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"seq\d/\d{4}\.jpg"):
        sampler[0]
