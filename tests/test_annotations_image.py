import re

import cv2
import numpy as np
import pytest

from lib.utils import annotations, image
from lib.utils.annotations import (box_validity, clean_sentence, parse_boxes, parse_flags, parse_name_list, parse_rows,
                                   polygons_to_boxes)


def test_boxes_with_any_separator_are_parsed_exactly():
    text = "1.5,2,3.25,4\n5\t6\t7\t8\n9 10  11 12\n\n"
    np.testing.assert_array_equal(parse_boxes(text, "gt.txt"),
                                  [[1.5, 2, 3.25, 4], [5, 6, 7, 8], [9, 10, 11, 12]])


def test_nan_kept_and_marked_invalid_with_zero_size():
    boxes = parse_boxes("NaN,NaN,NaN,NaN\n1,2,0,4\n1,2,3,4\n", "gt.txt")
    assert np.isnan(boxes[0]).all()
    np.testing.assert_array_equal(box_validity(boxes), [False, False, True])


def test_bad_line_names_file_and_line():
    with pytest.raises(ValueError, match=r"gt.txt, line 2"):
        parse_boxes("1,2,3,4\n1,2,x,4\n", "gt.txt")
    with pytest.raises(ValueError, match=r"gt.txt, line 2: expected 4"):
        parse_rows("1,2,3,4\n1,2,3\n", "gt.txt", width=4)


def test_polygon_becomes_axis_aligned_box():
    poly = np.array([[10, 20, 30, 22, 28, 40, 8, 38]], float)
    np.testing.assert_array_equal(polygons_to_boxes(poly), [[8, 20, 22, 20]])
    np.testing.assert_array_equal(parse_boxes("10,20,30,22,28,40,8,38\n", "p"), [[8, 20, 22, 20]])


def test_flags_one_per_line_or_one_line():
    np.testing.assert_array_equal(parse_flags("0\n1\n0\n", "a"), [False, True, False])
    np.testing.assert_array_equal(parse_flags("0,1,1", "a"), [False, True, True])
    with pytest.raises(ValueError, match="absent.txt"):
        parse_flags("0\n2\n", "absent.txt")


def test_sentence_cleaning():
    assert clean_sentence("\n  a  red\tcar \nsecond line") == "a red car"
    assert clean_sentence("  \n") is None and clean_sentence(None) is None


@pytest.mark.parametrize("decoder", ["opencv", "jpeg4py"])
def test_decoders_read_rgb_and_name_corrupt_files(tmp_path, decoder):
    if decoder == "jpeg4py":
        image._decoder = None
        if image.decoder() != "jpeg4py":
            pytest.skip("jpeg4py / libturbojpeg not usable here")
    image.set_decoder(decoder)
    bgr = np.zeros((16, 24, 3), np.uint8)
    bgr[..., 2] = 200  # red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "a.jpg"), bgr)
    rgb = image.imread_rgb(tmp_path / "a.jpg")
    assert rgb.shape == (16, 24, 3) and rgb.dtype == np.uint8
    assert abs(int(rgb[..., 0].mean()) - 200) <= 3 and rgb[..., 2].mean() < 5
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(IOError, match="bad.jpg"):
        image.imread_rgb(tmp_path / "bad.jpg")
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        image.imread_rgb(tmp_path / "missing.jpg")
    image._decoder = None


def test_row_with_a_wrong_number_of_values_names_file_and_line():
    with pytest.raises(ValueError, match=r"gt.txt, line 3: 5 values, but 3 of the 4 rows have 4: '1,2,3,4,5'"):
        parse_boxes("1,2,3,4\n1,2,3,4\n1,2,3,4,5\n\n1,2,3,4\n", "gt.txt")
    with pytest.raises(ValueError, match=r"gt.txt, line 1: 3 values"):  # the odd row may be the first one
        parse_boxes("1,2,3\n1,2,3,4\n1,2,3,4\n", "gt.txt")


# clean files (fast path) and files only the line-by-line parser reads; both must give the same rows
PARSE_CASES = ["1.5,2,3.25,4\n5,6,7,8\n", "1\t2\t3\t4\n5\t6\t7\t8", "1 2  3 4\n\n 5 6 7 8 \n", "1, 2, 3, 4\r\n5,6,7,8\r\n",
               "nan,NaN,inf,-Infinity\n+1,.5,1e3,-0\n", "0\n1\n1\n", "0,1,1", "\n\n1,2,3,4\n", "1,2,3,4\n5\t6\t7\t8\n",
               "1;2;3;4\n", "1,,2,3,4\n", "1,2,3,4,\n", "1 2 3 4\x0c5 6 7 8\n", "1 2 3 4\r5 6 7 8\r",
               "1\xa02\xa03\xa04\n", "1_0,2,3,4\n", "  \n", ""]


@pytest.mark.parametrize("text", PARSE_CASES)
def test_fast_path_gives_what_the_line_by_line_parser_gives(text):
    expected = annotations._parse_rows_by_line(text, "f", None)
    got = parse_rows(text, "f")
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_clean_files_take_the_fast_path(monkeypatch):
    text = "".join(f"{i},{i + 1}.5,10,20\n" for i in range(700))
    monkeypatch.setattr(annotations, "_parse_rows_by_line", lambda *args: pytest.fail("line-by-line parser used"))
    assert parse_boxes(text, "gt.txt").shape == (700, 4)
    assert parse_flags("0\n1\n" * 350, "absent.txt").sum() == 350


def test_name_lists_keep_names_inside_the_root():
    assert parse_name_list(" GOT-10k_Val_000001 \n\nairplane-1\n", "list.txt") == ["GOT-10k_Val_000001", "airplane-1"]
    for bad in ("../../outside", "/tmp/outside", "class/class-1", "a\\b", "..", ".", "C:outside"):
        with pytest.raises(ValueError, match=rf"list.txt, line 2: sequence name {re.escape(repr(bad))} must be a plain"):
            parse_name_list(f"ok\n{bad}\n", "list.txt")


def test_empty_ground_truth_names_the_file():
    with pytest.raises(ValueError, match=r"gt.txt: no boxes"):
        parse_boxes(" \n\n", "gt.txt")
    assert parse_rows("", "f").shape == (0, 0) and parse_flags("", "absent.txt").shape == (0,)
