import cv2
import numpy as np
import pytest

from lib.utils import image
from lib.utils.annotations import (box_validity, clean_sentence, parse_boxes, parse_flags, parse_rows,
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
