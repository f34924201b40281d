import numpy as np
import pytest
import torch

from lib.utils.crop import CropTransform, crop_square, crop_transform, sample_target


def test_box_round_trip_is_exact():
    transform = crop_transform((123.4567, 45.678), side=77.7123, output_sz=256)
    boxes = np.array([[10.25, 20.5, 33.3, 12.7], [0.0, 0.0, 1e-3, 5e3], [-50.1, 300.9, 7.0, 8.0]])
    np.testing.assert_allclose(transform.box_to_image(transform.box_to_crop(boxes)), boxes, rtol=0, atol=1e-9)
    as_tensor = torch.tensor(boxes, dtype=torch.float64)
    back = transform.box_to_image(transform.box_to_crop(as_tensor))
    assert isinstance(back, torch.Tensor) and back.dtype == torch.float64
    assert torch.allclose(back, as_tensor, rtol=0, atol=1e-9)


def test_crop_centre_maps_to_crop_centre():
    transform = crop_transform((31.3, 17.9), side=20.0, output_sz=64)
    centre_box = transform.box_to_crop([31.3, 17.9, 0.0, 0.0])
    np.testing.assert_allclose(centre_box[:2], [32.0, 32.0], atol=1e-12)
    assert transform.scale == pytest.approx(64 / 20.0)


def test_bright_rectangle_lands_where_box_to_crop_says():
    image = np.full((240, 320, 3), 20, np.uint8)
    box = (101.0, 62.0, 57.0, 31.0)                      # pixels 101..157 x 62..92
    image[62:93, 101:158] = 250
    crop, mask, transform = sample_target(image, box, area_factor=2.7, output_sz=128)
    assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8 and not mask.any()
    x, y, w, h = transform.box_to_crop(box)
    ys, xs = np.nonzero(crop[..., 0] > 135)              # above the mid level between background and rectangle
    assert abs(xs.min() - x) <= 1 and abs(xs.max() + 1 - (x + w)) <= 1
    assert abs(ys.min() - y) <= 1 and abs(ys.max() + 1 - (y + h)) <= 1


def test_padding_mask_exactly_outside_image_at_unit_scale():
    image = np.full((40, 50, 3), 255, np.uint8)
    # side 32 around (10, 5): the crop spans x in [-6, 26), y in [-11, 21); crop pixel u is image pixel u - 6
    crop, mask, _ = crop_square(image, (10.0, 5.0), 32.0, 32)
    expected = np.zeros((32, 32), bool)
    expected[:11, :] = True
    expected[:, :6] = True
    np.testing.assert_array_equal(mask, expected)
    assert (crop[~expected] == 255).all() and (crop[expected] == 0).all()


def test_padding_mask_matches_crop_content_at_fractional_scale():
    image = np.full((60, 80, 3), 255, np.uint8)
    crop, mask, _ = crop_square(image, (70.3, 3.7), 61.3, 97)
    assert mask.any() and not mask.all()
    # a pixel centre inside the image takes >= half its value from the image, one outside takes < half
    assert crop[..., 0][~mask].min() >= 120
    assert crop[..., 0][mask].max() <= 135


def test_crop_side_below_one_pixel_is_an_error():
    image = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="0.5"):
        crop_square(image, (5.0, 5.0), 0.5, 16)
    with pytest.raises(ValueError, match="side"):
        sample_target(image, (5.0, 5.0, 0.1, 0.1), area_factor=2.0, output_sz=16)


@pytest.mark.parametrize("box", [(1.0, 2.0, 0.0, 3.0), (1.0, float("nan"), 2.0, 3.0), (1.0, 2.0, -4.0, 3.0)])
def test_invalid_box_is_an_error_naming_it(box):
    with pytest.raises(ValueError, match="box"):
        sample_target(np.zeros((10, 10, 3), np.uint8), box, area_factor=2.0, output_sz=16)


def test_crop_transform_is_a_plain_dataclass():
    transform = CropTransform(scale=2.0, offset=(1.0, -3.0))
    np.testing.assert_allclose(transform.box_to_crop([1.0, 2.0, 3.0, 4.0]), [3.0, 1.0, 6.0, 8.0])
