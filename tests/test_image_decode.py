"""Every decode of a missing, empty or corrupt image is an error naming its path: both decoders, the folder and
LMDB storages, and the training reader's get_frames."""
from __future__ import annotations

import cv2
import lmdb
import numpy as np
import pytest

from lib.train.dataset import Got10k
from lib.train.dataset.storage import FolderStorage, LmdbStorage
from lib.utils import image


@pytest.fixture(params=["opencv", "jpeg4py"])
def decoder(request):
    previous = image._decoder
    if request.param == "jpeg4py":
        image._decoder = None
        if image.decoder() != "jpeg4py":
            pytest.skip("jpeg4py / libturbojpeg not usable here")
    image.set_decoder(request.param)
    yield request.param
    image._decoder = previous


def good_jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((16, 16, 3), 90, np.uint8))
    return data.tobytes()


BAD_IMAGES = {
    "empty": b"",
    "jpeg header only": b"\xff\xd8\xff",
    "truncated jpeg": None,  # filled in from a real JPEG
    "not an image": b"hello",
}


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
def test_bad_image_file_is_an_oserror_naming_the_path(tmp_path, decoder, kind):
    data = BAD_IMAGES[kind] if BAD_IMAGES[kind] is not None else good_jpeg()[:40]
    path = tmp_path / "frames" / "00000007.jpg"
    path.parent.mkdir()
    path.write_bytes(data)
    with pytest.raises(OSError) as err:
        image.imread_rgb(path)
    assert str(path) in str(err.value)


def test_zero_byte_file_says_it_is_empty(tmp_path, decoder):
    path = tmp_path / "000001.jpg"
    path.write_bytes(b"")
    with pytest.raises(OSError, match=r"empty.*000001\.jpg|000001\.jpg.*empty"):
        image.imread_rgb(path)


def test_missing_file_names_the_path(tmp_path, decoder):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        image.imread_rgb(tmp_path / "missing.jpg")


def test_storages_name_the_empty_image(tmp_path, decoder):
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / "0001.jpg").write_bytes(b"")
    with pytest.raises(OSError, match=str(tmp_path / "seq" / "0001.jpg")):
        FolderStorage(tmp_path).read_image("seq/0001.jpg")

    pack = tmp_path / "pack.lmdb"
    env = lmdb.open(str(pack), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"seq/0001.jpg", b"")
        txn.put(b"seq/0002.jpg", good_jpeg()[:30])
    env.close()
    storage = LmdbStorage(pack)
    for rel in ("seq/0001.jpg", "seq/0002.jpg"):
        with pytest.raises(OSError) as err:
            storage.read_image(rel)
        assert f"{pack}::{rel}" in str(err.value)


def test_training_reader_names_a_zero_byte_frame(tmp_path, train_dataset_writers, decoder):
    train_dataset_writers.make_got10k(tmp_path)
    frame = tmp_path / "train" / "GOT-10k_Train_000001" / "00000002.jpg"
    frame.write_bytes(b"")
    ds = Got10k(tmp_path, split="train")
    with pytest.raises(OSError, match=str(frame)):
        ds.get_frames(0, [0, 1])
