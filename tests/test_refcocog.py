"""RefCOCOg reader on a fixture in the refer toolkit's layout, its restricted unpickler, and the COCO-format code it
shares with MSCOCOSeq (whose own tests are in test_train_datasets.py)."""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lib.train.data.sampler import TrackingSampler
from lib.train.dataset import MSCOCOSeq, RefCOCOg, build_dataset
from lib.utils.plain_pickle import PlainPickleError, load_plain_pickle

PROJECT_ROOT = Path(__file__).resolve().parents[1]
IMAGES = Path("images/mscoco/images/train2014")  # where the refer toolkit puts COCO's train2014 folder


def ref(ref_id, ann_id, image_id, split, sentences, category_id=1):
    """A ref as the refer toolkit pickles it, sentences given as {sent_id: raw text}."""
    sents = [{"tokens": raw.lower().split(), "raw": raw, "sent_id": sent_id, "sent": raw.lower().strip(".")}
             for sent_id, raw in sentences.items()]
    return {"ref_id": ref_id, "ann_id": ann_id, "image_id": image_id, "split": split, "category_id": category_id,
            "sent_ids": list(sentences), "sentences": sents,
            "file_name": f"COCO_train2014_{image_id:012d}_{ann_id}.jpg"}  # names no file: the toolkit ignores it


REFS = [ref(10, 101, 9, "train", {1000: "The giraffe on the left.", 1001: "tallest giraffe"}),
        ref(11, 102, 25, "train", {1002: "man  in a red\tshirt"}, category_id=2),
        ref(12, 103, 25, "val", {1003: "the woman holding an umbrella"}, category_id=2)]

INSTANCES = {
    "images": [{"id": 9, "file_name": "COCO_train2014_000000000009.jpg", "height": 24, "width": 32},
               {"id": 25, "file_name": "COCO_train2014_000000000025.jpg", "height": 24, "width": 32}],
    "annotations": [
        {"id": 101, "image_id": 9, "category_id": 1, "bbox": [1.5, 2.25, 10.5, 7.75], "iscrowd": 0,
         "segmentation": [[1.5, 2.25, 12.0, 2.25, 12.0, 10.0]], "area": 40.0},
        {"id": 102, "image_id": 25, "category_id": 2, "bbox": [3, 4, 6.5, 5], "iscrowd": 0},
        {"id": 103, "image_id": 25, "category_id": 2, "bbox": [12, 1, 4, 9.25], "iscrowd": 0},
        {"id": 104, "image_id": 9, "category_id": 1, "bbox": [0, 0, 5, 5], "iscrowd": 0}],  # not referred to
    "categories": [{"id": 1, "name": "giraffe", "supercategory": "animal"},
                   {"id": 2, "name": "person", "supercategory": "person"}]}


def write_refcocog(root: Path, writers, refs=REFS, instances=INSTANCES, protocol: int = 2) -> Path:
    """The refer toolkit's data/ folder: refcocog/{refs(google).p, instances.json} and COCO's train2014 images."""
    (root / "refcocog").mkdir(parents=True, exist_ok=True)
    (root / "refcocog" / "refs(google).p").write_bytes(pickle.dumps(refs, protocol=protocol))
    writers.write_text(root / "refcocog" / "instances.json", json.dumps(instances))
    for image_id in (9, 25):
        writers.write_jpeg(root / IMAGES / f"COCO_train2014_{image_id:012d}.jpg", seed=image_id)
    return root


def rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


# --- the reader ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_one_sequence_per_expression_with_its_box_sentence_and_image(tmp_path, train_dataset_writers, protocol):
    root = write_refcocog(tmp_path, train_dataset_writers, protocol=protocol)
    ds = RefCOCOg(root)
    assert not ds.is_video_sequence() and ds.get_name() == "refcocog"
    assert ds.sequence_list == ["10_1000", "10_1001", "11_1002"]  # <ref_id>_<sent_id>; the val ref left out
    for k, box in enumerate([[1.5, 2.25, 10.5, 7.75]] * 2 + [[3, 4, 6.5, 5]]):
        info = ds.get_sequence_info(k)
        assert torch.equal(info["bbox"], torch.tensor([box], dtype=torch.float32))
        assert info["valid"].tolist() == [True] and info["visible"].tolist() == [True]
    frames, anno, meta = ds.get_frames(1, [0, 0])
    expected = rgb(root / IMAGES / "COCO_train2014_000000000009.jpg")
    assert len(frames) == 2 and frames[0].shape == expected.shape
    assert np.abs(frames[0].astype(int) - expected.astype(int)).max() <= 2
    assert torch.equal(anno["bbox"][0], torch.tensor([1.5, 2.25, 10.5, 7.75]))
    assert meta["language"] == "tallest giraffe" and meta["object_class_name"] == "giraffe"
    assert meta["sequence_name"] == "10_1001" and meta["dataset"] == "refcocog"
    third = ds.get_frames(2, [0])
    assert third[2]["language"] == "man in a red shirt" and third[2]["object_class_name"] == "person"
    assert np.abs(third[0][0].astype(int) - rgb(root / IMAGES / "COCO_train2014_000000000025.jpg")).max() <= 2


def test_splits_and_the_registered_name(tmp_path, train_dataset_writers):
    root = write_refcocog(tmp_path, train_dataset_writers)
    val = RefCOCOg(root, split="val")
    assert val.sequence_list == ["12_1003"]
    assert torch.equal(val.get_sequence_info(0)["bbox"], torch.tensor([[12, 1, 4, 9.25]]))
    assert val.get_frames(0, [0])[2]["language"] == "the woman holding an umbrella"
    with pytest.raises(ValueError) as err:
        RefCOCOg(root, split="test")  # the Google split released no test refs
    msg = str(err.value)
    assert str(root / "refcocog" / "refs(google).p") in msg and "'test'" in msg and "train, val" in msg
    registered = build_dataset("REFCOCOG", root=root)
    assert isinstance(registered, RefCOCOg) and registered.split == "train" and len(registered) == 3


def test_resolver_finds_it_under_the_data_root(tmp_path, train_dataset_writers, monkeypatch):
    for var in [v for v in os.environ if v.startswith("TRACKING_")]:
        monkeypatch.delenv(var)
    write_refcocog(tmp_path / "data" / "refcocog", train_dataset_writers)
    monkeypatch.setenv("TRACKING_DATA_ROOT", str(tmp_path / "data"))
    assert len(build_dataset("REFCOCOG")) == 3
    monkeypatch.setenv("TRACKING_DATA_REFCOCOG", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="TRACKING_DATA_REFCOCOG.*refs\\(google\\).p"):
        build_dataset("REFCOCOG")


def test_other_layouts_the_extracted_zip_as_root_and_a_train2014_folder(tmp_path, train_dataset_writers):
    write_refcocog(tmp_path, train_dataset_writers)
    root = tmp_path / "refcocog"  # refcocog.zip extracted: its two files at the root, the images beside them
    shutil.move(tmp_path / IMAGES, root / "train2014")
    ds = RefCOCOg(root)
    assert ds.image_folder == "train2014" and len(ds) == 3
    assert ds.get_frames(2, [0])[0][0].shape == (24, 32, 3)


def test_expressions_of_a_zero_size_box_or_an_empty_sentence_are_left_out(tmp_path, train_dataset_writers):
    instances = json.loads(json.dumps(INSTANCES))
    instances["annotations"][1]["bbox"] = [3, 4, 0, 5]  # ann 102: no target to find
    refs = [ref(10, 101, 9, "train", {1000: "The giraffe on the left.", 1001: "  \n"})] + REFS[1:]
    ds = RefCOCOg(write_refcocog(tmp_path, train_dataset_writers, refs=refs, instances=instances))
    assert ds.sequence_list == ["10_1000"]


def test_the_sampled_sentence_depends_on_the_sample_index_only(tmp_path, train_dataset_writers):
    ds = RefCOCOg(write_refcocog(tmp_path, train_dataset_writers))
    expected = {"the giraffe on the left": [1.5, 2.25, 10.5, 7.75], "tallest giraffe": [1.5, 2.25, 10.5, 7.75],
                "man in a red shirt": [3, 4, 6.5, 5]}
    sampler = TrackingSampler([ds], samples_per_epoch=30, seed=3)
    first = [sampler[i] for i in range(30)]
    again = TrackingSampler([ds], samples_per_epoch=30, seed=3)
    for i in reversed(range(30)):  # another order, another sampler object: the same pairs
        assert again[i]["language"] == first[i]["language"]
    for pair in first:  # each pair's box is its sentence's object, on one image twice
        assert torch.equal(pair["search_anno"][0], torch.tensor(expected[pair["language"]], dtype=torch.float32))
        assert np.array_equal(pair["template_images"][0], pair["search_images"][0])
    assert {pair["language"] for pair in first} == set(expected)  # every expression is drawn


# --- bad input -------------------------------------------------------------------------------------------------------

class RunsCode:
    """Unpickling this calls exec(): what a crafted refs file could do to pickle.load."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def test_a_crafted_refs_file_is_refused_and_runs_nothing(tmp_path, train_dataset_writers):
    root = write_refcocog(tmp_path / "data", train_dataset_writers)
    marker = tmp_path / "marker"
    crafted = pickle.dumps([REFS[0], RunsCode(marker)], protocol=2)
    pickle.loads(crafted)  # the file is dangerous: a plain pickle.load runs its code
    assert marker.exists()
    marker.unlink()
    refs_file = root / "refcocog" / "refs(google).p"
    refs_file.write_bytes(crafted)
    with pytest.raises(PlainPickleError) as err:
        RefCOCOg(root)
    assert not marker.exists()
    assert str(refs_file) in str(err.value) and "__builtin__.exec" in str(err.value)  # protocol 2's name for it
    # any class, even a harmless one, is refused: the file holds plain containers only
    refs_file.write_bytes(pickle.dumps([dict(REFS[0], sentences=tuple(REFS[0]["sentences"])), Path("x")]))
    with pytest.raises(PlainPickleError, match="pathlib"):
        RefCOCOg(root)


def test_plain_pickle_reads_python2_strings_and_names_an_unreadable_file():
    # a Python 2 pickle ([{'sent': 'café'}], protocol 2): its str is bytes (SHORT_BINSTRING), decoded as UTF-8
    py2 = b"\x80\x02]q\x00}q\x01U\x04sentq\x02U\x05caf\xc3\xa9q\x03sa."
    assert load_plain_pickle(py2, "refs.p") == [{"sent": "café"}]
    data = pickle.dumps([{"a": (1, 2.5, None, True, -2**70)}], protocol=2)
    assert load_plain_pickle(data, "refs.p") == [{"a": (1, 2.5, None, True, -2**70)}]
    for bad in (b"", b"<html>not found</html>", data[:-5]):
        with pytest.raises(PlainPickleError, match="^/d/refs.p: not a readable pickle"):
            load_plain_pickle(bad, "/d/refs.p")


def test_missing_files_are_named(tmp_path, train_dataset_writers):
    root = write_refcocog(tmp_path, train_dataset_writers)
    (root / "refcocog" / "instances.json").unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(root / "refcocog" / "instances.json"))):
        RefCOCOg(root)
    shutil.rmtree(root / "images")
    with pytest.raises(FileNotFoundError) as err:
        RefCOCOg(root)
    assert "COCO train2014 images" in str(err.value) and str(root / IMAGES) in str(err.value)
    assert str(root / "train2014") in str(err.value)
    (root / "refcocog" / "refs(google).p").unlink()
    with pytest.raises(FileNotFoundError) as err:
        RefCOCOg(root)
    msg = str(err.value)
    assert "RefCOCOg refs" in msg and str(root / "refcocog" / "refs(google).p") in msg
    assert str(root / "refs(google).p") in msg


def test_bad_refs_and_instances_are_named(tmp_path, train_dataset_writers):
    refs_file = tmp_path / "refcocog" / "refs(google).p"
    no_sentences = {k: v for k, v in REFS[1].items() if k != "sentences"}
    write_refcocog(tmp_path, train_dataset_writers, refs=[REFS[0], no_sentences])
    with pytest.raises(ValueError, match=r"refs\(google\).p, ref #1: 'sentences' missing"):
        RefCOCOg(tmp_path)
    bad_sentence = dict(REFS[0], sentences=[{"sent_id": 5, "sent": None}])
    write_refcocog(tmp_path, train_dataset_writers, refs=[bad_sentence])
    with pytest.raises(ValueError, match=r"ref_id 10, sentence #0: 'sent' missing or not a str"):
        RefCOCOg(tmp_path)
    refs_file.write_bytes(pickle.dumps({"refs": REFS}))
    with pytest.raises(ValueError, match="holds a dict, not the list of refs"):
        RefCOCOg(tmp_path)
    write_refcocog(tmp_path, train_dataset_writers, refs=[ref(13, 999, 9, "train", {1: "a thing"})])
    with pytest.raises(ValueError) as err:
        RefCOCOg(tmp_path)
    assert str(refs_file) in str(err.value) and "ref_id 13" in str(err.value) and "ann_id 999" in str(err.value)
    write_refcocog(tmp_path, train_dataset_writers, refs=[ref(14, 102, 9, "train", {1: "a man"})])
    with pytest.raises(ValueError, match="ref_id 14: image_id 9, but its ann_id 102 is on image 25"):
        RefCOCOg(tmp_path)


def test_image_file_names_stay_inside_the_image_folder(tmp_path, train_dataset_writers):
    instances = json.loads(json.dumps(INSTANCES))
    instances["images"][0]["file_name"] = "../../../secret.jpg"
    write_refcocog(tmp_path, train_dataset_writers, instances=instances)
    with pytest.raises(ValueError) as err:
        RefCOCOg(tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "refcocog" / "instances.json") in msg and "image id 9" in msg
    assert "'../../../secret.jpg'" in msg


@pytest.mark.parametrize("reader", ["coco", "refcocog"])
def test_a_bad_instances_entry_names_the_file_for_both_readers(tmp_path, train_dataset_writers, reader):
    instances = json.loads(json.dumps(INSTANCES))
    del instances["annotations"][2]["bbox"]
    if reader == "coco":
        train_dataset_writers.write_jpeg(tmp_path / "images" / "train2017" / "000000000009.jpg", seed=1)
        path = tmp_path / "annotations" / "instances_train2017.json"
        train_dataset_writers.write_text(path, json.dumps(instances))
        make = MSCOCOSeq
    else:
        write_refcocog(tmp_path, train_dataset_writers, instances=instances)
        path, make = tmp_path / "refcocog" / "instances.json", RefCOCOg
    with pytest.raises(ValueError) as err:
        make(tmp_path)
    assert str(path) in str(err.value) and "annotation #2" in str(err.value) and "bbox" in str(err.value)


def test_an_lmdb_pack_reads_like_the_folder(tmp_path, train_dataset_writers):
    spec = importlib.util.spec_from_file_location("build_lmdb", PROJECT_ROOT / "tracking" / "build_lmdb.py")
    build_lmdb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_lmdb)
    root = write_refcocog(tmp_path / "refcocog", train_dataset_writers)
    build_lmdb.pack(root, tmp_path / "refcocog.lmdb")
    folder, packed = RefCOCOg(root), RefCOCOg(tmp_path / "refcocog.lmdb")
    assert packed.sequence_list == folder.sequence_list
    a, b = folder.get_frames(2, [0]), packed.get_frames(2, [0])
    assert np.array_equal(a[0][0], b[0][0]) and a[2]["language"] == b[2]["language"]
