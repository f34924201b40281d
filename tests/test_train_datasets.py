"""Training-side dataset readers on tiny fixtures written in each dataset's real layout (see conftest.py)."""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lib.paths import DatasetNotFoundError
from lib.train.dataset import (NAT2021, DarkTrack2021, Got10k, Lasot, MSCOCOSeq, OTB99Lang, SynthUAV, TNL2k,
                               TrackingNet, UAVDark135, WebUAV3M, build_dataset, dataset_names)

SHARED_LASOT = Path(__file__).resolve().parents[1] / "../shared/data/lasot_sample"


def rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def assert_same_image(frame: np.ndarray, path: Path) -> None:
    """Same JPEG decoded here and by OpenCV (jpeg4py and OpenCV may differ by a rounding step)."""
    expected = rgb(path)
    assert frame.dtype == np.uint8 and frame.shape == expected.shape
    assert np.abs(frame.astype(int) - expected.astype(int)).max() <= 2


def assert_boxes(info: dict, boxes: np.ndarray) -> None:
    assert torch.equal(info["bbox"], torch.tensor(boxes, dtype=torch.float32))


def index_of(dataset, name: str) -> int:
    return dataset.sequence_list.index(name)


@pytest.fixture
def no_tracking_env(monkeypatch):
    for var in list(os.environ):
        if var.startswith("TRACKING_"):
            monkeypatch.delenv(var)
    return monkeypatch


# --- GOT-10k ---------------------------------------------------------------------------------------------------------

def test_got10k_boxes_flags_frames_sentence(tmp_path, train_dataset_writers):
    expected = train_dataset_writers.make_got10k(tmp_path)
    train_dataset_writers.write_jpeg(tmp_path / "train" / "not_listed" / "00000001.jpg", 0)  # list.txt wins
    ds = Got10k(tmp_path, split="train")
    assert ds.sequence_list == list(expected)
    name = "GOT-10k_Train_000002"
    boxes, absent = expected[name]
    i = index_of(ds, name)
    info = ds.get_sequence_info(i)
    assert_boxes(info, boxes)
    assert info["valid"].tolist() == [True] * 4
    assert info["visible"].tolist() == (~absent).tolist() == [True, False, False, True]
    frames, anno, meta = ds.get_frames(i, [0, 2, 3])
    assert len(frames) == 3 and len(ds.sequence(i).frames) == 4
    assert_same_image(frames[1], tmp_path / "train" / name / "00000003.jpg")
    assert not torch.equal(anno["bbox"][0], anno["bbox"][1])  # per-frame boxes, not frame 0's everywhere
    assert torch.equal(anno["bbox"][1], torch.tensor(boxes[2], dtype=torch.float32))
    assert meta["language"] == "ferret1, walking, musteline mammal, animal"
    assert meta["object_class_name"] == "ferret1"


def test_got10k_without_labels_list_or_meta(tmp_path, train_dataset_writers):
    names = ("GOT-10k_Val_000002", "GOT-10k_Val_000001")
    expected = train_dataset_writers.make_got10k(tmp_path, split="val", names=names, labels=False, meta=False,
                                                 list_txt=False)
    ds = Got10k(tmp_path, split="val")
    assert ds.sequence_list == sorted(names)  # sub-folders, sorted
    info = ds.get_sequence_info(0)
    assert_boxes(info, expected["GOT-10k_Val_000001"][0])
    assert info["visible"].all()
    assert ds.get_frames(0, [1])[2]["language"] is None


def test_got10k_seq_names_by_name_from_list_or_file(tmp_path, train_dataset_writers):
    train_dataset_writers.make_got10k(tmp_path, names=("A", "B", "C"), n=2)
    assert Got10k(tmp_path, seq_names=["C", "A"]).sequence_list == ["C", "A"]
    names_file = tmp_path / "names.txt"
    names_file.write_text("B\n\n# a comment\n")
    assert Got10k(tmp_path, seq_names=names_file).sequence_list == ["B"]
    with pytest.raises(KeyError, match="Z"):
        Got10k(tmp_path, seq_names=["A", "Z"])


BAD_NAMES = {"../../outside": "'..'", "/etc/passwd": "absolute", "GOT-10k_Train_000001/../../x": "'..'",
             "train/GOT-10k_Train_000001": "separator", "a\\b": "separator", "..": "'..'"}


@pytest.mark.parametrize("entry", list(BAD_NAMES))
def test_got10k_list_txt_names_stay_inside_the_root(tmp_path, train_dataset_writers, entry):
    train_dataset_writers.make_got10k(tmp_path, names=("A", "B"), n=2)
    list_file = tmp_path / "train" / "list.txt"
    list_file.write_text(f"A\n{entry}\nB\n")
    with pytest.raises(ValueError) as err:
        Got10k(tmp_path, split="train")
    message = str(err.value)
    assert str(list_file) in message and "line 2" in message and repr(entry) in message
    assert BAD_NAMES[entry] in message


def test_sequence_name_lists_from_files_and_arguments_are_checked(tmp_path, train_dataset_writers):
    train_dataset_writers.make_got10k(tmp_path, names=("A", "B"), n=2)
    names_file = tmp_path / "names.txt"
    names_file.write_text("# wanted\nA\n../B\n")
    with pytest.raises(ValueError, match=rf"{names_file}, line 3: .*'\.\./B'"):
        Got10k(tmp_path, seq_names=names_file)
    with pytest.raises(ValueError, match=r"seq_names, entry 2: .*'/abs'"):
        Got10k(tmp_path, seq_names=["A", "/abs"])


def test_lasot_protocol_list_names_are_checked(tmp_path, train_dataset_writers):
    train_dataset_writers.make_lasot(tmp_path, images=False)
    (tmp_path / "testing_set.txt").write_text("bird-5\nbird/bird-2\n")
    with pytest.raises(ValueError) as err:
        Lasot(tmp_path, split="train")
    assert str(tmp_path / "testing_set.txt") in str(err.value) and "line 2" in str(err.value)
    assert "'bird/bird-2'" in str(err.value)


# --- LaSOT -----------------------------------------------------------------------------------------------------------

def test_lasot_boxes_absence_sentence_frames(tmp_path, train_dataset_writers):
    expected = train_dataset_writers.make_lasot(tmp_path)
    (tmp_path / "testing_set.txt").write_text("bird-5\n")
    ds = Lasot(tmp_path)
    assert ds.sequence_list == ["bird-2", "bird-5", "car-1"]
    boxes, absent, sentence = expected["car-1"]
    i = index_of(ds, "car-1")
    info = ds.get_sequence_info(i)
    assert_boxes(info, boxes)
    assert info["visible"].tolist() == (~absent).tolist() == [True, False, True, False]
    frames, anno, meta = ds.get_frames(i, [0, 2])
    assert_same_image(frames[1], tmp_path / "car" / "car-1" / "img" / "00000003.jpg")
    assert not torch.equal(anno["bbox"][0], anno["bbox"][1])
    assert meta["language"] == sentence and meta["object_class_name"] == "car"
    assert Lasot(tmp_path, split="train").sequence_list == ["bird-2", "car-1"]  # all but testing_set.txt
    assert Lasot(tmp_path, split="test").sequence_list == ["bird-5"]
    assert Lasot(tmp_path, split=["car-1"], seq_names=None).sequence_list == ["car-1"]


def test_lasot_train_split_without_protocol_files_is_explained(tmp_path, train_dataset_writers):
    train_dataset_writers.make_lasot(tmp_path, images=False)
    with pytest.raises(FileNotFoundError, match="testing_set.txt"):
        Lasot(tmp_path, split="train")


def test_lasot_shared_sample_sentence_and_absence(tmp_path):
    if not SHARED_LASOT.is_dir():
        pytest.skip(f"shared LaSOT sample not present at {SHARED_LASOT.resolve()}")
    names = sorted(p.name for p in SHARED_LASOT.iterdir() if p.is_dir())
    for name in names:  # LaSOT layout: <class>/<class>-<n>/, annotations only (frame paths come from the GT count)
        dst = tmp_path / name.rsplit("-", 1)[0] / name
        dst.mkdir(parents=True)
        for f in ("groundtruth.txt", "nlp.txt", "absent.txt"):
            shutil.copy(SHARED_LASOT / name / f, dst / f)
    ds = Lasot(tmp_path)
    assert sorted(ds.sequence_list) == names
    for name in names:
        src = SHARED_LASOT / name
        absent = np.array([int(v) for v in (src / "absent.txt").read_text().split()], bool)
        gt_lines = [line for line in (src / "groundtruth.txt").read_text().splitlines() if line.strip()]
        i = index_of(ds, name)
        info, seq = ds.get_sequence_info(i), ds.sequence(i)
        assert len(seq.frames) == len(gt_lines) == len(absent)
        assert seq.frames[0] == f"{name.rsplit('-', 1)[0]}/{name}/img/00000001.jpg"
        assert info["bbox"][0].tolist() == [float(v) for v in gt_lines[0].split(",")]
        assert torch.equal(info["visible"], torch.as_tensor(~absent) & info["valid"])
        assert int(info["visible"].sum()) == int((~absent & info["valid"].numpy()).sum())
        assert seq.language == " ".join((src / "nlp.txt").read_text().split())


# --- TrackingNet -----------------------------------------------------------------------------------------------------

def make_trackingnet(root: Path, writers, n: int = 3) -> dict:
    expected = {}
    for k, (chunk, video) in enumerate([("TRAIN_0", "vidA"), ("TRAIN_0", "vidB"), ("TRAIN_11", "vidC")]):
        for f in range(n):  # 0-based, unpadded names
            writers.write_jpeg(root / chunk / "frames" / video / f"{f}.jpg", seed=300 + 10 * k + f)
        boxes = writers.fractional_boxes(n, shift=k)
        writers.write_text(root / chunk / "anno" / f"{video}.txt", writers.boxes_text(boxes))
        expected[f"{chunk}/{video}"] = boxes
    return expected


def test_trackingnet_sets_frames_and_class_map(tmp_path, train_dataset_writers):
    expected = make_trackingnet(tmp_path, train_dataset_writers)
    class_map = tmp_path / "classes.txt"
    class_map.write_text("vidA\tzebra\nvidC,boat\n")
    ds = TrackingNet(tmp_path, class_map=class_map)
    assert ds.sequence_list == ["TRAIN_0/vidA", "TRAIN_0/vidB", "TRAIN_11/vidC"]
    i = index_of(ds, "TRAIN_11/vidC")
    assert_boxes(ds.get_sequence_info(i), expected["TRAIN_11/vidC"])
    frames, anno, meta = ds.get_frames(i, [0, 2])
    assert_same_image(frames[0], tmp_path / "TRAIN_11" / "frames" / "vidC" / "0.jpg")
    assert_same_image(frames[1], tmp_path / "TRAIN_11" / "frames" / "vidC" / "2.jpg")
    assert meta["language"] == "boat"
    assert ds.get_frames(index_of(ds, "TRAIN_0/vidB"), [0])[2]["language"] is None
    assert TrackingNet(tmp_path, sets=[11]).sequence_list == ["TRAIN_11/vidC"]
    with pytest.raises(FileNotFoundError, match="TRAIN_5"):
        TrackingNet(tmp_path, sets=["TRAIN_5"])


# --- COCO ------------------------------------------------------------------------------------------------------------

def test_coco_one_frame_sequences_from_json(tmp_path, train_dataset_writers):
    w = train_dataset_writers
    w.write_jpeg(tmp_path / "images" / "train2017" / "000000000009.jpg", seed=1)
    w.write_jpeg(tmp_path / "images" / "train2017" / "000000000025.jpg", seed=2)
    data = {"images": [{"id": 9, "file_name": "000000000009.jpg"}, {"id": 25, "file_name": "000000000025.jpg"}],
            "categories": [{"id": 1, "name": "giraffe", "supercategory": "animal"}],
            "annotations": [{"id": 11, "image_id": 25, "category_id": 1, "bbox": [1.5, 2.25, 10.5, 7.75], "iscrowd": 0},
                            {"id": 12, "image_id": 9, "category_id": 1, "bbox": [0, 0, 5, 5], "iscrowd": 1},
                            {"id": 13, "image_id": 9, "category_id": 1, "bbox": [3, 4, 0, 5], "iscrowd": 0},
                            {"id": 14, "image_id": 9, "category_id": 1, "bbox": [3.5, 4, 6, 5], "iscrowd": 0}]}
    w.write_text(tmp_path / "annotations" / "instances_train2017.json", json.dumps(data))
    ds = MSCOCOSeq(tmp_path)
    assert not ds.is_video_sequence()
    assert ds.sequence_list == ["11", "14"]  # crowd and zero-size annotations dropped
    assert_boxes(ds.get_sequence_info(0), [[1.5, 2.25, 10.5, 7.75]])
    frames, anno, meta = ds.get_frames(0, [0, 0])
    assert_same_image(frames[0], tmp_path / "images" / "train2017" / "000000000025.jpg")
    assert meta["language"] == "giraffe, animal" and meta["object_class_name"] == "giraffe"
    shutil.move(tmp_path / "images" / "train2017", tmp_path / "train2017")  # the other accepted layout
    assert len(MSCOCOSeq(tmp_path).get_frames(1, [0])[0]) == 1


def test_coco_file_names_stay_inside_the_image_folder(tmp_path, train_dataset_writers):
    (tmp_path / "images" / "train2017").mkdir(parents=True)
    data = {"images": [{"id": 9, "file_name": "../../secret.jpg"}], "categories": [],
            "annotations": [{"id": 11, "image_id": 9, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": 0}]}
    ann_file = tmp_path / "annotations" / "instances_train2017.json"
    train_dataset_writers.write_text(ann_file, json.dumps(data))
    with pytest.raises(ValueError) as err:
        MSCOCOSeq(tmp_path)
    assert str(ann_file) in str(err.value) and "image id 9" in str(err.value) and "'../../secret.jpg'" in str(err.value)


# --- TNL2K -----------------------------------------------------------------------------------------------------------

def test_tnl2k_split_folder_listed_images_and_sentence(tmp_path, train_dataset_writers):
    w = train_dataset_writers
    seq = tmp_path / "TNL2K_train_subset" / "Arrow_video_1"
    for f in (1, 10):  # unpadded names: natural order 1, 2, 10, with a png among them
        w.write_jpeg(seq / "imgs" / f"{f}.jpg", seed=f)
    cv2.imwrite(str(seq / "imgs" / "2.png"), cv2.imread(str(seq / "imgs" / "1.jpg")))
    boxes = w.fractional_boxes(3)
    w.write_text(seq / "groundtruth.txt", w.boxes_text(boxes))
    w.write_text(seq / "language.txt", "the arrow   flying to the target\n")
    ds = TNL2k(tmp_path, split="train")
    assert ds.sequence_list == ["Arrow_video_1"]
    assert [Path(f).name for f in ds.sequence(0).frames] == ["1.jpg", "2.png", "10.jpg"]
    assert_boxes(ds.get_sequence_info(0), boxes)
    frames, _, meta = ds.get_frames(0, [2])
    assert_same_image(frames[0], seq / "imgs" / "10.jpg")
    assert meta["language"] == "the arrow flying to the target"
    assert TNL2k(tmp_path / "TNL2K_train_subset").sequence_list == ["Arrow_video_1"]
    with pytest.raises(FileNotFoundError, match="test"):
        TNL2k(tmp_path, split="test")


# --- WebUAV-3M and SynthUAV ------------------------------------------------------------------------------------------

def test_webuav3m_split_absence_attributes_sentence(tmp_path, train_dataset_writers):
    expected = train_dataset_writers.make_webuav(tmp_path / "Val")
    train_dataset_writers.make_webuav(tmp_path / "Train", names=("uav_bus_009",), absent_file=False)
    ds = WebUAV3M(tmp_path, split="val")
    assert ds.sequence_list == sorted(expected)
    boxes, absent, sentence, attributes = expected["uav_car_001"]
    i = index_of(ds, "uav_car_001")
    info = ds.get_sequence_info(i)
    assert_boxes(info, boxes)
    assert info["valid"].tolist() == [True, False, True, True]
    assert info["visible"].tolist() == (~absent).tolist()
    frames, _, meta = ds.get_frames(i, [3])
    assert_same_image(frames[0], tmp_path / "Val" / "uav_car_001" / "img" / "000004.jpg")
    assert meta["language"] == sentence
    np.testing.assert_array_equal(ds.sequence(i).extra["attributes"], attributes)
    train = WebUAV3M(tmp_path, split="TRAIN")  # no absent.txt: absent where the box is 0,0,0,0
    assert train.sequence(0).absent.tolist() == [False, True, False, False]


def test_synth_uav_reads_its_layout_and_night_twin(tmp_path, train_dataset_writers):
    day = train_dataset_writers.make_webuav(tmp_path / "val", names=("synth_car_000",))
    night = train_dataset_writers.make_webuav(tmp_path / "val_night", names=("synth_car_000",), n=3)
    (tmp_path / "val" / ".tmp_synth_car_001" / "img").mkdir(parents=True)  # left by an interrupted generation
    ds = SynthUAV(tmp_path, split="val", generate=False)
    assert ds.sequence_list == ["synth_car_000"]
    assert_boxes(ds.get_sequence_info(0), day["synth_car_000"][0])
    ds_night = SynthUAV(tmp_path, split="val", night=True, generate=False)
    assert_boxes(ds_night.get_sequence_info(0), night["synth_car_000"][0])
    frames, _, meta = ds_night.get_frames(0, [2])
    assert_same_image(frames[0], tmp_path / "val_night" / "synth_car_000" / "img" / "000003.jpg")
    assert meta["language"] == night["synth_car_000"][2]
    with pytest.raises(FileNotFoundError, match="train"):
        SynthUAV(tmp_path, split="train", generate=False)


def test_synth_uav_generates_a_missing_split(tmp_path, monkeypatch, train_dataset_writers):
    calls = []

    def fake_generate_split(root, split, num=None, seed=0, night=False, workers=2):
        calls.append((Path(root), split, night))
        folder = f"{split}_night" if night else split
        train_dataset_writers.make_webuav(Path(root) / folder, names=("synth_000",), n=2)
        mark_generated(Path(root) / folder, seed=0, num=1, complete=True)

    monkeypatch.setitem(sys.modules, "lib.synth", fake_synth_module(fake_generate_split))
    monkeypatch.setenv("TRACKING_DATA_SYNTH_UAV", str(tmp_path / "synth"))
    ds = SynthUAV(split="train", night=True)  # root from the resolver, folder not there yet
    assert calls == [(tmp_path / "synth", "train", True)]
    assert ds.sequence_list == ["synth_000"] and len(ds.sequence(0).frames) == 2
    SynthUAV(split="train", night=True)
    assert len(calls) == 1  # present now: not generated again


def fake_synth_module(generate_split):
    return types.SimpleNamespace(generate_split=generate_split, GENERATION_FILE="generation.json",
                                 PROGRESS_FILE="progress.json")


def mark_generated(folder, seed, num, complete):
    (folder / "generation.json").write_text(f'{{"seed": {seed}}}')
    (folder / "progress.json").write_text(f'{{"num": {num}, "complete": {str(complete).lower()}}}')


def test_synth_uav_completes_a_split_an_interrupted_run_left(tmp_path, monkeypatch, train_dataset_writers):
    calls = []

    def fake_generate_split(root, split, num=None, seed=0, night=False, workers=2):
        calls.append((split, seed, num))
        train_dataset_writers.make_webuav(Path(root) / split, names=("synth_000", "synth_001"), n=2)
        mark_generated(Path(root) / split, seed=seed, num=num, complete=True)

    train_dataset_writers.make_webuav(tmp_path / "val", names=("synth_000",), n=2)
    mark_generated(tmp_path / "val", seed=7, num=2, complete=False)
    monkeypatch.setitem(sys.modules, "lib.synth", fake_synth_module(fake_generate_split))
    assert SynthUAV(tmp_path, split="val").sequence_list == ["synth_000", "synth_001"]
    assert calls == [("val", 7, 2)]  # completed with the seed and count the interrupted run recorded
    SynthUAV(tmp_path, split="val")
    assert len(calls) == 1


def test_synth_uav_concurrent_constructions_generate_once(tmp_path, monkeypatch, train_dataset_writers):
    calls = []

    def slow_generate_split(root, split, num=None, seed=0, night=False, workers=2):
        calls.append(split)
        (Path(root) / split).mkdir(parents=True)  # the real generator makes the folder first, then fills it
        mark_generated(Path(root) / split, seed=0, num=2, complete=False)
        time.sleep(0.3)
        train_dataset_writers.make_webuav(Path(root) / split, names=("synth_000", "synth_001"), n=2)
        mark_generated(Path(root) / split, seed=0, num=2, complete=True)

    monkeypatch.setitem(sys.modules, "lib.synth", fake_synth_module(slow_generate_split))
    results = []
    threads = [threading.Thread(target=lambda: results.append(SynthUAV(tmp_path, split="val").sequence_list))
               for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # the second starts while the first is generating
    for thread in threads:
        thread.join()
    assert calls == ["val"]
    assert results == [["synth_000", "synth_001"]] * 2  # the waiting one saw the finished split


# --- OTB99-LANG ------------------------------------------------------------------------------------------------------

def test_otb99_lang_split_offsets_and_sentences(tmp_path, train_dataset_writers):
    w = train_dataset_writers
    for f in range(1, 8):  # BlurCar3: 7 images, ground truth from image 3
        w.write_jpeg(tmp_path / "BlurCar3" / "img" / f"{f:04d}.jpg", seed=f)
    blur_boxes = w.fractional_boxes(5)
    w.write_text(tmp_path / "BlurCar3" / "groundtruth_rect.txt", w.boxes_text(blur_boxes, sep="\t"))
    for f in range(1, 4):  # Board uses 5-digit names
        w.write_jpeg(tmp_path / "Board" / "img" / f"{f:05d}.jpg", seed=20 + f)
    board_boxes = w.fractional_boxes(3, shift=1)
    w.write_text(tmp_path / "Board" / "groundtruth_rect.txt", w.boxes_text(board_boxes, sep=" "))
    w.write_text(tmp_path / "OTB_query_train" / "BlurCar3.txt", "black car driving on the road\n")
    w.write_text(tmp_path / "OTB_query_test" / "Board.txt", "circuit board held by a hand\n")

    ds = OTB99Lang(tmp_path, split="train")
    assert ds.sequence_list == ["BlurCar3"]
    assert_boxes(ds.get_sequence_info(0), blur_boxes)
    assert ds.sequence(0).frames[0] == "BlurCar3/img/0003.jpg" and len(ds.sequence(0).frames) == 5
    frames, anno, meta = ds.get_frames(0, [0, 2])
    assert_same_image(frames[1], tmp_path / "BlurCar3" / "img" / "0005.jpg")
    assert meta["language"] == "black car driving on the road"
    test = OTB99Lang(tmp_path, split="test")
    assert test.sequence_list == ["Board"]
    assert_boxes(test.get_sequence_info(0), board_boxes)
    assert_same_image(test.get_frames(0, [2])[0][0], tmp_path / "Board" / "img" / "00003.jpg")


# --- the data_seq family ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, sub", [(UAVDark135, ""), (DarkTrack2021, ""), (NAT2021, "test"), (NAT2021, "")])
def test_data_seq_family(tmp_path, train_dataset_writers, cls, sub):
    expected = train_dataset_writers.make_data_seq(tmp_path / sub if sub else tmp_path, separators=(" ", ",", "\t"))
    ds = cls(tmp_path)
    assert ds.sequence_list == sorted(expected)
    i = index_of(ds, "person11")
    assert_boxes(ds.get_sequence_info(i), expected["person11"])
    frames, anno, meta = ds.get_frames(i, [0, 2])
    base = tmp_path / sub if sub else tmp_path
    assert_same_image(frames[1], base / "data_seq" / "person11" / "00003.jpg")
    assert not torch.equal(anno["bbox"][0], anno["bbox"][1])
    assert meta["language"] is None and len(ds.sequence(i).frames) == 3  # Thumbs.db, ._00001.jpg are not frames


# --- bad input -------------------------------------------------------------------------------------------------------

def test_missing_root_names_dataset_path_and_variable(tmp_path, no_tracking_env):
    no_tracking_env.setenv("TRACKING_DATA_ROOT", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as err:
        Got10k()
    msg = str(err.value)
    assert "got10k" in msg and str(tmp_path / "got10k") in msg and "TRACKING_DATA_GOT10K" in msg
    with pytest.raises(DatasetNotFoundError, match="WebUAV-3M"):
        WebUAV3M(tmp_path / "nowhere")


def test_corrupt_and_missing_images_name_the_path(tmp_path, train_dataset_writers):
    train_dataset_writers.make_data_seq(tmp_path)
    bad = tmp_path / "data_seq" / "car1" / "00002.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"garbage" * 10)
    ds = UAVDark135(tmp_path)
    with pytest.raises(IOError, match="00002.jpg"):
        ds.get_frames(index_of(ds, "car1"), [1])
    # a corrupt JPEG must not break the decoder for the images read after it
    assert_same_image(ds.get_frames(index_of(ds, "car1"), [0])[0][0], tmp_path / "data_seq" / "car1" / "00001.jpg")
    bad.write_bytes(b"not an image at all")
    with pytest.raises(IOError, match="00002.jpg"):
        ds.get_frames(index_of(ds, "car1"), [1])
    (tmp_path / "data_seq" / "car1" / "00003.jpg").unlink()
    ds = Lasot(_lasot_without_one_image(tmp_path / "lasot", train_dataset_writers))
    with pytest.raises(FileNotFoundError, match="00000002.jpg"):
        ds.get_frames(0, [1])


def _lasot_without_one_image(root: Path, writers) -> Path:
    writers.make_lasot(root, seqs=(("cat", 1),), n=3)
    (root / "cat" / "cat-1" / "img" / "00000002.jpg").unlink()
    return root


def test_nan_and_zero_size_boxes_are_invalid_frames(tmp_path, train_dataset_writers):
    train_dataset_writers.make_lasot(tmp_path, seqs=(("cat", 1),), n=4)
    (tmp_path / "cat" / "cat-1" / "groundtruth.txt").write_text("1.5,2,3,4\nNaN,NaN,NaN,NaN\n1,2,0,4\n1,2,3,-1\n")
    ds = Lasot(tmp_path)
    info = ds.get_sequence_info(0)
    assert info["valid"].tolist() == [True, False, False, False]
    assert not info["visible"][1:].any()
    frames, anno, _ = ds.get_frames(0, [1])
    assert len(frames) == 1 and torch.isnan(anno["bbox"][0]).all()


def test_unparsable_line_names_file_and_line(tmp_path, train_dataset_writers):
    train_dataset_writers.make_got10k(tmp_path, names=("S1",), n=3)
    gt = tmp_path / "train" / "S1" / "groundtruth.txt"
    gt.write_text("1,2,3,4\n1,2,3,4\n1,2,three,4\n")
    ds = Got10k(tmp_path)
    with pytest.raises(ValueError, match=r"groundtruth.txt, line 3"):
        ds.get_sequence_info(0)


def test_flag_count_mismatch_names_file(tmp_path, train_dataset_writers):
    train_dataset_writers.make_lasot(tmp_path, seqs=(("cat", 1),), n=4, images=False)
    (tmp_path / "cat" / "cat-1" / "out_of_view.txt").write_text("0,0,1")
    with pytest.raises(ValueError, match=r"out_of_view.txt: 3 flags"):
        Lasot(tmp_path).get_sequence_info(0)


def test_box_and_frame_count_mismatch_names_sequence(tmp_path, train_dataset_writers):
    train_dataset_writers.make_data_seq(tmp_path, names=("car1",), n=3)
    (tmp_path / "data_seq" / "car1" / "00003.jpg").unlink()
    with pytest.raises(ValueError, match=r"'car1': 3 boxes .* but 2 images"):
        DarkTrack2021(tmp_path).get_sequence_info(0)


def test_empty_sentence_is_none_and_long_sentence_kept(tmp_path, train_dataset_writers):
    train_dataset_writers.make_lasot(tmp_path, seqs=(("cat", 1), ("dog", 2)), n=2, images=False)
    (tmp_path / "cat" / "cat-1" / "nlp.txt").write_text("  \n\n")
    long_sentence = " ".join(f"word{i}" for i in range(3000))
    (tmp_path / "dog" / "dog-2" / "nlp.txt").write_text(long_sentence)
    ds = Lasot(tmp_path)
    assert ds.sequence(index_of(ds, "cat-1")).language is None
    assert ds.sequence(index_of(ds, "dog-2")).language == long_sentence


# --- registry --------------------------------------------------------------------------------------------------------

def test_registry_unknown_name_lists_valid_names():
    with pytest.raises(KeyError) as err:
        build_dataset("GOT10K_vottrain")
    for name in ("LASOT", "GOT10K_train", "WEBUAV3M_val", "SYNTH_UAV_val_night", "UAVDARK135", "DARKTRACK2021_val"):
        assert name in str(err.value)
    assert len(dataset_names()) == 19


def test_registry_builds_with_defaults_and_overrides(tmp_path, train_dataset_writers):
    train_dataset_writers.make_got10k(tmp_path / "got10k", split="val", names=("V1",), n=2)
    ds = build_dataset("GOT10K_val", root=tmp_path / "got10k")
    assert isinstance(ds, Got10k) and ds.split == "val" and ds.sequence_list == ["V1"]
    train_dataset_writers.make_webuav(tmp_path / "synth" / "val_night", names=("n1",), n=2)
    night = build_dataset("SYNTH_UAV_val_night", root=tmp_path / "synth")
    assert night.night and night.sequence_list == ["n1"]
    seq = tmp_path / "tnl2k" / "Seq_1"  # the documented layout tnl2k/<seq>/ is the training subset itself
    train_dataset_writers.write_jpeg(seq / "imgs" / "00001.jpg", 0)
    train_dataset_writers.write_text(seq / "groundtruth.txt", "1,2,3,4\n")
    assert build_dataset("TNL2K_train", root=tmp_path / "tnl2k").sequence_list == ["Seq_1"]
