"""Test-side benchmark readers (lib.test.evaluation): each dataset on a tiny fixture written in its layout."""
from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from lib.test.evaluation import Sequence, dataset_names, get_dataset
from lib.utils.annotations import polygons_to_boxes

VOT_BAG = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "vot_bag"
LASOT_SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lasot_sample"

BOXES = np.array([[1.5, 2.25, 10.75, 8.5], [0, 0, 0, 0], [3.5, 4.0, 12.0, 9.25], [5.0, 6.5, 7.25, 3.0]])


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def boxes_text(boxes=BOXES, sep=",") -> str:
    return "".join(sep.join(repr(float(v)) for v in row) + "\n" for row in boxes)


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_DATA_ROOT", str(tmp_path))
    return tmp_path


def check_boxes(seq: Sequence, absent=(1,), boxes=BOXES):
    expected = boxes.astype(float).copy()
    expected[list(absent)] = np.nan
    np.testing.assert_array_equal(seq.ground_truth, expected)
    assert seq.visible.tolist() == [i not in absent for i in range(len(boxes))]
    np.testing.assert_array_equal(seq.init_box, boxes[0])
    assert len(seq.frames) == len(boxes)


def by_name(seqs):
    return {s.name: s for s in seqs}


# -- WebUAV layout ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,split", [("synth_uav", "test"), ("synth_uav_night", "test_night"),
                                        ("synth_uav_val", "val"), ("synth_uav_val_night", "val_night")])
def test_synth_uav(data_root, name, split):
    seq = data_root / "synth_uav" / split / "s001"
    write(seq / "groundtruth_rect.txt", boxes_text(sep="\t"))
    write(seq / "absent.txt", "0\n1\n0\n1\n")  # the flags win over the boxes: frame 3 absent despite its box
    write(seq / "attributes.txt", ",".join(str(v) for v in [1] + [0] * 13 + [2, 1, 0]) + "\n")
    write(seq / "language.txt", "  a white  car on the road \n")
    write(data_root / "synth_uav" / split / "s000_no_gt" / "x.txt", "")
    seqs = get_dataset(name)
    assert [s.name for s in seqs] == ["s001"]
    s = seqs[0]
    assert s.dataset == name
    check_boxes(s, absent=(1, 3))
    assert s.frames[0] == str(seq / "img" / "000001.jpg") and s.frames[-1].endswith("img/000004.jpg")
    assert s.language == "a white car on the road" and s.ground_truth_file == str(seq / "groundtruth_rect.txt")
    assert s.attributes["Low_resolution"] == 1 and s.attributes["complexity"] == 2 and s.attributes["length"] == 0
    assert len(s.attributes) == 17


def test_webuav3m_zero_boxes_are_absent(data_root):
    seq = data_root / "WebUAV-3M" / "Test" / "uav_0001"
    write(seq / "groundtruth_rect.txt", boxes_text(sep=" "))
    write(seq / "language.txt", "the drone\n")
    s, = get_dataset("webuav3m")
    check_boxes(s, absent=(1,))
    assert s.language == "the drone" and s.attributes is None
    assert s.frames[2].endswith("uav_0001/img/000003.jpg")
    assert s.ground_truth_file == str(seq / "groundtruth_rect.txt")


def test_missing_root_names_layout(data_root):
    with pytest.raises(FileNotFoundError, match="synth_uav"):
        get_dataset("synth_uav")


# -- VOT --------------------------------------------------------------------------------------------------------

def test_vot_bag():
    if not (VOT_BAG / "groundtruth.txt").is_file():
        pytest.skip(f"shared VOT fixture not found at {VOT_BAG}")
    s, = get_dataset(f"vot:{VOT_BAG}")
    assert len(s.frames) == 196 and s.ground_truth.shape == (196, 4)
    assert s.frames[0].endswith("00000001.jpg") and s.frames[-1].endswith("00000196.jpg")
    assert all(Path(f).is_file() for f in s.frames[:3])
    polys = np.loadtxt(VOT_BAG / "groundtruth.txt", delimiter=",")
    xs, ys = polys[:, 0::2], polys[:, 1::2]
    np.testing.assert_allclose(s.ground_truth[:, 0], xs.min(1))
    np.testing.assert_allclose(s.ground_truth[:, 1], ys.min(1))
    np.testing.assert_allclose(s.ground_truth[:, 0] + s.ground_truth[:, 2], xs.max(1))
    np.testing.assert_allclose(s.ground_truth[:, 1] + s.ground_truth[:, 3], ys.max(1))
    assert s.visible.all()


def test_vot_color_folder_and_boxes(tmp_path):
    (tmp_path / "seq" / "color").mkdir(parents=True)
    write(tmp_path / "seq" / "groundtruth.txt", boxes_text(BOXES[[0, 2, 3]]))
    s, = get_dataset(f"vot:{tmp_path / 'seq'}")
    check_boxes(s, absent=(), boxes=BOXES[[0, 2, 3]])
    assert s.frames[1] == str(tmp_path / "seq" / "color" / "00000002.jpg")
    assert s.ground_truth_file == str(tmp_path / "seq" / "groundtruth.txt")
    polys = np.array([[1, 2, 5, 2, 5, 7, 1, 7.5]], dtype=float)
    write(tmp_path / "stack" / "p" / "groundtruth.txt", "1,2,5,2,5,7,1,7.5\n")
    s, = get_dataset(f"vot:{tmp_path / 'stack'}")
    np.testing.assert_array_equal(s.ground_truth, polygons_to_boxes(polys))


# -- LaSOT, TNL2K, OTB99-lang -----------------------------------------------------------------------------------

def test_lasot_class_layout(data_root):
    seq = data_root / "lasot" / "car" / "car-3"
    write(seq / "groundtruth.txt", boxes_text())
    write(seq / "full_occlusion.txt", "0,0,1,0\n")
    write(seq / "out_of_view.txt", "0,0,0,1\n")
    write(seq / "nlp.txt", "red car")
    write(seq / "att.txt", ",".join(["1"] + ["0"] * 13))
    write(data_root / "lasot" / "car" / "car-4" / "groundtruth.txt", boxes_text())
    write(data_root / "lasot" / "testing_set.txt", "car-3\n")
    s, = get_dataset("lasot")
    check_boxes(s, absent=(1, 2, 3))
    assert s.language == "red car" and s.attributes["Illumination_variation"] == 1
    assert s.frames[0] == str(seq / "img" / "00000001.jpg")
    assert s.ground_truth_file == str(seq / "groundtruth.txt")


def test_lasot_shared_sample(monkeypatch):
    if not LASOT_SAMPLE.is_dir():
        pytest.skip(f"shared LaSOT sample not found at {LASOT_SAMPLE}")
    monkeypatch.setenv("TRACKING_DATA_LASOT", str(LASOT_SAMPLE))
    seqs = by_name(get_dataset("lasot"))
    assert set(seqs) == {"airplane-1", "bird-2", "drone-13", "person-5"}
    for name, s in seqs.items():
        absent = np.loadtxt(LASOT_SAMPLE / name / "absent.txt").astype(bool).reshape(-1)
        assert (s.visible <= ~absent).all() and np.isnan(s.ground_truth[absent]).all()
        assert s.language and len(s.attributes) == 14


def test_tnl2k(data_root):
    seq = data_root / "tnl2k" / "advSamp_Baseball"
    write(seq / "groundtruth.txt", boxes_text(sep="\t"))
    write(seq / "language.txt", "the baseball player\n")
    for i in range(4):
        write(seq / "imgs" / f"{i + 1}.png", "")
    write(data_root / "tnl2k" / "noimgs" / "groundtruth.txt", boxes_text())
    seqs = by_name(get_dataset("tnl2k"))
    s = seqs["advSamp_Baseball"]
    check_boxes(s)
    assert s.language == "the baseball player"
    assert s.frames == [str(seq / "imgs" / f"{i}.png") for i in range(1, 5)]
    assert s.ground_truth_file == str(seq / "groundtruth.txt")
    assert seqs["noimgs"].frames[0].endswith("noimgs/imgs/00001.jpg") and seqs["noimgs"].language is None


def test_otb99_lang(data_root):
    root = data_root / "otb99_lang"
    for name in ("David", "Biker", "Train_only"):
        write(root / name / "groundtruth_rect.txt", boxes_text())
    write(root / "OTB_query_test" / "David.txt", "a man walking\n")
    write(root / "OTB_query_test" / "Biker.txt", "the biker\n")
    write(root / "OTB_query_train" / "Train_only.txt", "x\n")
    seqs = by_name(get_dataset("otb99_lang"))
    assert set(seqs) == {"David", "Biker"}
    assert seqs["David"].frames[0].endswith("David/img/0300.jpg") and seqs["David"].language == "a man walking"
    assert seqs["Biker"].frames[3].endswith("Biker/img/0004.jpg")
    check_boxes(seqs["Biker"])
    assert seqs["Biker"].ground_truth_file == str(root / "Biker" / "groundtruth_rect.txt")


def test_otb_two_target_videos_read_their_numbered_ground_truth(data_root):
    root = data_root / "otb99_lang"
    write(root / "Jogging" / "groundtruth_rect.1.txt", boxes_text())
    write(root / "Jogging" / "groundtruth_rect.2.txt", boxes_text(BOXES[::-1]))
    write(root / "OTB_query_test" / "Jogging-1.txt", "the left jogger\n")
    write(root / "OTB_query_test" / "Jogging-2.txt", "the right jogger\n")
    seqs = by_name(get_dataset("otb99_lang"))
    check_boxes(seqs["Jogging-1"])
    check_boxes(seqs["Jogging-2"], absent=(2,), boxes=BOXES[::-1])
    assert seqs["Jogging-2"].frames[0].endswith("Jogging/img/0001.jpg")
    assert seqs["Jogging-2"].language == "the right jogger"
    assert seqs["Jogging-2"].ground_truth_file == str(root / "Jogging" / "groundtruth_rect.2.txt")


def test_empty_root_is_an_error_and_release_folder_names_are_accepted(data_root):
    (data_root / "DTB70" / "not_a_sequence").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no sequence found"):
        get_dataset("dtb70")
    write(data_root / "WebUAV-3M" / "Test" / "uav1" / "groundtruth_rect.txt", boxes_text())
    assert [s.name for s in get_dataset("WebUAV-3M")] == ["uav1"]


# -- UAV family -------------------------------------------------------------------------------------------------

def test_dtb70_and_nlp(data_root):
    write(data_root / "DTB70" / "Animal1" / "groundtruth_rect.txt", boxes_text())
    write(data_root / "DTB70" / "Car2" / "groundtruth_rect.txt", boxes_text(sep=" "))
    write(data_root / "DTB70-NLP" / "Animal1" / "language.txt", "the deer\n")
    seqs = by_name(get_dataset("dtb70"))
    assert set(seqs) == {"Animal1", "Car2"}
    check_boxes(seqs["Car2"])
    assert seqs["Animal1"].frames[0] == str(data_root / "DTB70" / "Animal1" / "img" / "00001.jpg")
    assert seqs["Animal1"].ground_truth_file == str(data_root / "DTB70" / "Animal1" / "groundtruth_rect.txt")
    s, = get_dataset("dtb70_nlp")
    assert (s.name, s.language, s.dataset) == ("Animal1", "the deer", "dtb70_nlp")


def test_uav123_subsequences(data_root):
    for folder in ("UAV123", "UAV123_10fps"):
        for name in ("bird1_2", "uav1_3", "car5"):
            write(data_root / folder / "anno" / folder / f"{name}.txt", boxes_text())
    seqs = by_name(get_dataset("uav123"))
    check_boxes(seqs["bird1_2"])
    assert seqs["bird1_2"].frames[0] == str(data_root / "UAV123" / "data_seq" / "UAV123" / "bird1" / "000775.jpg")
    assert seqs["bird1_2"].frames[-1].endswith("bird1/000778.jpg")
    assert seqs["uav1_3"].frames[0].endswith("uav1/002473.jpg")
    assert seqs["car5"].frames[0].endswith("UAV123/car5/000001.jpg")
    assert seqs["car5"].ground_truth_file == str(data_root / "UAV123" / "anno" / "UAV123" / "car5.txt")
    seqs = by_name(get_dataset("uav123_10fps"))
    assert seqs["bird1_2"].frames[0].endswith("UAV123_10fps/bird1/000259.jpg")
    assert seqs["uav1_3"].frames[0].endswith("uav1/000825.jpg")
    # an explicit table in the root replaces the built-in one
    write(data_root / "UAV123" / "uav123_subsequences.txt", "# custom\ncar5 carvideo 10\n")
    seqs = by_name(get_dataset("uav123"))
    assert seqs["car5"].frames[0].endswith("carvideo/000010.jpg") and seqs["bird1_2"].frames[0].endswith(
        "bird1_2/000001.jpg")


def test_uav20l_and_nlp(data_root):
    write(data_root / "UAV20L" / "anno" / "UAV20L" / "bird1.txt", boxes_text())
    write(data_root / "UAV20L" / "anno" / "UAV20L" / "car1.txt", boxes_text())
    write(data_root / "UAV20L-NLP" / "car1" / "language.txt", "a car\n")
    seqs = by_name(get_dataset("uav20l"))
    assert seqs["bird1"].frames[0] == str(data_root / "UAV20L" / "data_seq" / "UAV123" / "bird1" / "000001.jpg")
    check_boxes(seqs["bird1"])
    s, = get_dataset("uav20l_nlp")
    assert (s.name, s.language) == ("car1", "a car")


def test_uav20l_in_the_official_uav123_folder(data_root):
    write(data_root / "UAV123" / "anno" / "UAV20L" / "bird1.txt", boxes_text())
    s, = get_dataset("uav20l")
    assert s.frames[0] == str(data_root / "UAV123" / "data_seq" / "UAV123" / "bird1" / "000001.jpg")
    check_boxes(s)


def test_uavdt_visdrone_and_nlp(data_root):
    write(data_root / "UAVDT" / "anno" / "S0101_gt.txt", boxes_text())
    write(data_root / "UAVDT-NLP" / "S0101" / "language.txt", "white car\n")
    write(data_root / "VisDrone2019-SOT-test-dev" / "annotations" / "uav0000009_03358_s.txt", boxes_text(sep="\t"))
    write(data_root / "VisDrone-NLP" / "uav0000009_03358_s" / "language.txt", "a person\n")
    s, = get_dataset("uavdt")
    assert s.name == "S0101" and s.frames[0] == str(data_root / "UAVDT" / "data_seq" / "S0101" / "img000001.jpg")
    assert s.ground_truth_file == str(data_root / "UAVDT" / "anno" / "S0101_gt.txt")
    check_boxes(s)
    assert get_dataset("uavdt_nlp")[0].language == "white car"
    s, = get_dataset("visdrone")
    assert s.frames[1].endswith("sequences/uav0000009_03358_s/img0000002.jpg")
    assert s.ground_truth_file.endswith("annotations/uav0000009_03358_s.txt")
    check_boxes(s)
    assert get_dataset("visdrone_nlp")[0].language == "a person"


def test_night_sets(data_root):
    text = boxes_text().replace("0.0,0.0,0.0,0.0", "NaN,NaN,NaN,NaN")
    write(data_root / "UAVDark135" / "anno" / "person11.txt", text)
    write(data_root / "DarkTrack2021" / "anno" / "car_1.txt", boxes_text(sep=" "))
    for i in range(4):
        write(data_root / "DarkTrack2021" / "data_seq" / "car_1" / f"{i + 1:04d}.jpg", "")
    write(data_root / "NAT2021" / "test" / "anno" / "N01.txt", boxes_text())
    write(data_root / "NAT2021" / "test_L" / "anno" / "L01.txt", boxes_text())
    s, = get_dataset("uavdark135")
    check_boxes(s)
    assert s.frames[0] == str(data_root / "UAVDark135" / "data_seq" / "person11" / "00001.jpg")
    assert s.ground_truth_file == str(data_root / "UAVDark135" / "anno" / "person11.txt")
    s, = get_dataset("darktrack2021")
    check_boxes(s)
    assert s.frames[3].endswith("car_1/0004.jpg")
    assert get_dataset("nat2021")[0].frames[0].endswith("test/data_seq/N01/000001.jpg")
    assert get_dataset("nat2021_l")[0].name == "L01"


def test_got10k(data_root):
    val = data_root / "got10k" / "val" / "GOT-10k_Val_000001"
    write(val / "groundtruth.txt", boxes_text())
    write(val / "absence.label", "0\n0\n0\n1\n")
    write(data_root / "got10k" / "val" / "list.txt", "GOT-10k_Val_000001\n")
    s, = get_dataset("got10k_val")
    check_boxes(s, absent=(1, 3))
    assert s.frames[0] == str(val / "00000001.jpg") and s.ground_truth_file == str(val / "groundtruth.txt")
    test = data_root / "got10k" / "test" / "GOT-10k_Test_000001"
    write(test / "groundtruth.txt", boxes_text(BOXES[:1]))
    for i in range(3):
        write(test / f"{i + 1:08d}.jpg", "")
    s, = get_dataset("got10k_test")
    assert len(s.frames) == 3 and s.visible.tolist() == [True, False, False]
    assert s.ground_truth_file == str(test / "groundtruth.txt")
    np.testing.assert_array_equal(s.init_box, BOXES[0])


# -- registry ---------------------------------------------------------------------------------------------------

def test_unknown_dataset_lists_names():
    with pytest.raises(KeyError) as err:
        get_dataset("no_such_set")
    message = str(err.value)
    for name in ("synth_uav", "webuav3m", "lasot", "uav123", "vot:<folder>"):
        assert name in message
    assert "dtb70_nlp" in dataset_names()


def test_names_accept_folder_spelling(data_root):
    write(data_root / "DTB70" / "A" / "groundtruth_rect.txt", boxes_text())
    assert get_dataset("DTB70")[0].name == "A"


# -- sequence names from list files -----------------------------------------------------------------------------

def _outside_sequence(data_root) -> Path:
    """A readable sequence outside every dataset root, which an escaping list entry would reach."""
    outside = data_root / "outside"
    write(outside / "groundtruth.txt", boxes_text())
    write(outside / "groundtruth_rect.txt", boxes_text())
    write(outside / "00000001.jpg", "")
    return outside


@pytest.mark.parametrize("entry", ["../../outside", "ABSOLUTE", "sub/GOT-10k_Val_000001"])
@pytest.mark.parametrize("dataset,list_file,good", [
    ("got10k_val", "got10k/val/list.txt", "got10k/val/GOT-10k_Val_000001"),
    ("got10k_test", "got10k/test/list.txt", "got10k/test/GOT-10k_Test_000001"),
    ("lasot", "lasot/testing_set.txt", "lasot/car/car-1"),
    ("vot", "vot_stack/list.txt", "vot_stack/bag"),
])
def test_list_file_names_must_stay_inside_the_root(data_root, dataset, list_file, good, entry):
    outside = _outside_sequence(data_root)
    write(data_root / good / "groundtruth.txt", boxes_text())
    write(data_root / good / "00000001.jpg", "")
    entry = str(outside) if entry == "ABSOLUTE" else entry
    write(data_root / list_file, f"{Path(good).name}\n{entry}\n")
    name = f"vot:{data_root / 'vot_stack'}" if dataset == "vot" else dataset
    with pytest.raises(ValueError) as err:
        get_dataset(name)
    assert str(err.value).startswith(f"{data_root / list_file}, line 2: sequence name {entry!r}")


def test_uav123_table_videos_must_stay_inside_the_root(data_root):
    write(data_root / "UAV123" / "anno" / "UAV123" / "car5.txt", boxes_text())
    write(data_root / "UAV123" / "uav123_subsequences.txt", "# custom\ncar5 ../../outside 1\n")
    with pytest.raises(ValueError, match=r"uav123_subsequences.txt, line 2: sequence name '../../outside'"):
        get_dataset("uav123")


# -- lazy frame paths -------------------------------------------------------------------------------------------

def test_frame_paths_behave_as_a_list_and_pickle_small(data_root):
    seq = data_root / "WebUAV-3M" / "Test" / "long"
    write(seq / "groundtruth_rect.txt", "1,2,3,4\n" * 20000)
    s, = get_dataset("webuav3m")
    paths = [str(seq / "img" / f"{i:06d}.jpg") for i in range(1, 20001)]
    assert len(s) == len(s.frames) == 20000 and s.frames == paths and list(s.frames) == paths
    assert s.frames[0] == paths[0] and s.frames[-1] == paths[-1] and s.frames[1:] == paths[1:]
    assert s.frames[5:1:-2] == paths[5:1:-2] and s.frames != paths[:-1]
    with pytest.raises(IndexError):
        s.frames[20000]
    assert len(pickle.dumps(s.frames)) < 300  # a list of these paths pickles to about 1 MB
    again = pickle.loads(pickle.dumps(s))
    assert again.frames == paths and again.ground_truth_file == s.ground_truth_file


def test_listed_image_folders_keep_a_plain_list(data_root):
    seq = data_root / "tnl2k" / "a"
    write(seq / "groundtruth.txt", boxes_text())
    for name in ("1.png", "2.png", "10.png", "3.jpg"):
        write(seq / "imgs" / name, "")
    s, = get_dataset("tnl2k")
    assert type(s.frames) is list and s.frames == [str(seq / "imgs" / n) for n in ("1.png", "2.png", "3.jpg", "10.png")]


# -- SynthUAV test split left incomplete ------------------------------------------------------------------------

def test_synth_uav_test_split_left_incomplete_is_completed(data_root):
    from lib.synth import generate_split
    root = data_root / "synth_uav"
    generate_split(root, "test", num=2, seed=3, workers=1, progress=False)
    shutil.rmtree(root / "test" / "synth_test_0001")  # as if the run had been killed before writing it
    (root / "test" / "progress.json").write_text('{"num": 2, "complete": false}\n')
    seqs = get_dataset("synth_uav")
    assert [s.name for s in seqs] == ["synth_test_0000", "synth_test_0001"]
    assert json.loads((root / "test" / "progress.json").read_text())["complete"] is True
    redone = (root / "test" / "synth_test_0001" / "groundtruth_rect.txt").read_text()
    generate_split(data_root / "fresh", "test", num=2, seed=3, workers=1, progress=False)
    assert redone == (data_root / "fresh" / "test" / "synth_test_0001" / "groundtruth_rect.txt").read_text()


def test_synth_uav_missing_test_split_is_an_error_not_generated(data_root):
    (data_root / "synth_uav").mkdir()
    with pytest.raises(FileNotFoundError, match=r"make_synthetic.py --split test --night"):
        get_dataset("synth_uav_night")
    assert not (data_root / "synth_uav" / "test_night").exists()


def test_synth_uav_incomplete_split_in_a_read_only_root_is_an_error(data_root, monkeypatch):
    import lib.synth_on_demand as on_demand
    folder = data_root / "synth_uav" / "test"
    write(folder / "synth_test_0000" / "groundtruth_rect.txt", boxes_text())
    write(folder / "generation.json", '{"seed": 4}')
    write(folder / "progress.json", '{"num": 30, "complete": false}')
    monkeypatch.setattr(on_demand.os, "access", lambda path, mode: False)
    with pytest.raises(ValueError, match=r"incomplete .* read-only: .*make_synthetic.py --split test --seed 4 --num 30"):
        get_dataset("synth_uav")


def test_synth_uav_split_of_another_generator_version_is_refused(data_root):
    """Version 1 and 2 make different scenes under the same names: reading an old split would mix generations."""
    from lib.synth.constants import GENERATOR_VERSION
    folder = data_root / "synth_uav" / "test"
    write(folder / "synth_test_0000" / "groundtruth_rect.txt", boxes_text())
    write(folder / "generation.json", f'{{"seed": 0, "version": {GENERATOR_VERSION - 1}}}')
    write(folder / "progress.json", '{"num": 1, "complete": true}')
    old = GENERATOR_VERSION - 1
    with pytest.raises(Exception, match=rf"{folder}.*version {old}.*make_synthetic.py --split test"):
        get_dataset("synth_uav")
