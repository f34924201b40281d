import numpy as np
import pytest
import torch

from lib.models.language import TextTokenizer
from lib.train.data import PairAugmentation, TrackingProcessing, flip_horizontal, swap_left_right
from lib.utils.heatmap import gaussian_heatmap

NO_JITTER = {"center_jitter": {"template": 0, "search": 0}, "scale_jitter": {"template": 0, "search": 0}}
TINY = {"output_sz": {"template": 64, "search": 128}}


def make_pair(box=(60.0, 40.0, 30.0, 20.0), size=(120, 160), sentence="the car left of the truck"):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(2)]
    return {"template_images": images[:1], "template_anno": [torch.tensor(box)],
            "search_images": images[1:], "search_anno": [torch.tensor(box)], "language": sentence}


# --- heat map ------------------------------------------------------------------------------------------------
def test_heatmap_peak_one_at_centre_cell_and_values_in_unit_range():
    boxes = torch.tensor([[0.40, 0.40, 0.20, 0.20], [0.05, 0.60, 0.50, 0.30], [0.0, 0.0, 0.01, 0.01]])
    heat = gaussian_heatmap(boxes, 16)
    assert heat.shape == (3, 16, 16) and heat.dtype == torch.float32
    assert heat.min() >= 0 and heat.max() <= 1
    for b, (x, y, w, h) in enumerate(boxes.tolist()):
        cx, cy = int((x + w / 2) * 16), int((y + h / 2) * 16)
        assert heat[b, cy, cx] == 1.0
        assert int(heat[b].argmax()) == cy * 16 + cx
    assert (heat[1] > 0).sum() > 1           # a big box gets a spread-out Gaussian


# --- language-aware flip -------------------------------------------------------------------------------------
def test_flip_mirrors_image_box_and_sentence():
    image = np.random.default_rng(1).integers(0, 256, (7, 11, 3), dtype=np.uint8)
    box = torch.tensor([2.5, 1.0, 3.25, 4.0], dtype=torch.float64)
    flipped, flipped_box, sentence = flip_horizontal(image, box, "the car left of the truck, turning Right")
    np.testing.assert_array_equal(flipped, image[:, ::-1])
    assert flipped_box.tolist() == [11 - 2.5 - 3.25, 1.0, 3.25, 4.0]
    assert sentence == "the car right of the truck, turning Left"


@pytest.mark.parametrize("before, after", [
    ("LEFTMOST boat, rightwards", "RIGHTMOST boat, leftwards"),
    ("the left-hand lane", "the right-hand lane"),
    ("Rightward moving bus", "Leftward moving bus"),
    ("leftover bright copyright frightened", "leftover bright copyright frightened"),
    ("", ""),
])
def test_swap_left_right_whole_words_only(before, after):
    assert swap_left_right(before) == after
    assert swap_left_right(None) is None


# --- processing ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer():
    return TextTokenizer(max_len=40)


def test_output_shapes_and_dtypes_tiny_config(tokenizer):
    processing = TrackingProcessing(**TINY, tokenizer=tokenizer)
    out = processing(make_pair(), np.random.default_rng(3))
    assert out is not None
    expected = {"template_images": ((1, 3, 64, 64), torch.float32), "template_anno": ((1, 4), torch.float32),
                "template_masks": ((1, 64, 64), torch.bool), "search_images": ((1, 3, 128, 128), torch.float32),
                "search_anno": ((1, 4), torch.float32), "search_masks": ((1, 128, 128), torch.bool),
                "search_heatmap": ((1, 8, 8), torch.float32), "text_ids": ((40,), torch.long),
                "text_mask": ((40,), torch.long), "text_valid": ((), torch.bool)}
    assert set(out) == set(expected)
    for key, (shape, dtype) in expected.items():
        assert tuple(out[key].shape) == shape and out[key].dtype == dtype, key
    assert bool(out["text_valid"])


def test_search_box_inside_unit_square_with_default_jitter():
    processing = TrackingProcessing(**TINY)
    accepted = 0
    for seed in range(20):
        out = processing(make_pair(), np.random.default_rng(seed))
        if out is None:
            continue
        accepted += 1
        x, y, w, h = out["search_anno"][0].tolist()
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= 1 + 1e-6 and y + h <= 1 + 1e-6
    assert accepted >= 15


@pytest.mark.parametrize("augment", [False, True])
def test_zero_jitter_centres_the_box(augment):
    processing = TrackingProcessing(**TINY, **NO_JITTER, augment=augment)
    for seed in range(4):
        out = processing(make_pair(), np.random.default_rng(seed))
        for mode in ("template", "search"):
            x, y, w, h = out[f"{mode}_anno"][0].double()
            assert abs(float(x + w / 2) - 0.5) < 1e-6 and abs(float(y + h / 2) - 0.5) < 1e-6


def test_flip_in_processing_mirrors_crops_boxes_and_text(tokenizer):
    pair = make_pair(box=(30.0, 40.0, 30.0, 20.0))
    results = {}
    for flip_prob in (0.0, 1.0):
        augmentation = PairAugmentation(grayscale_prob=0.0, flip_prob=flip_prob, brightness_jitter=0.0)
        processing = TrackingProcessing(**TINY, tokenizer=tokenizer, augmentation=augmentation)
        results[flip_prob] = processing(pair, np.random.default_rng(7))
    plain, flipped = results[0.0], results[1.0]
    assert torch.equal(flipped["search_images"], plain["search_images"].flip(-1))
    assert torch.equal(flipped["search_masks"], plain["search_masks"].flip(-1))
    x, y, w, h = plain["search_anno"][0]
    assert torch.allclose(flipped["search_anno"][0], torch.stack([1 - x - w, y, w, h]), atol=1e-6)
    assert torch.equal(flipped["text_ids"], tokenizer("the car right of the truck")["ids"])


def test_stride_downsampled_padding_rejects_with_the_given_stride():
    # a 10x10 image fills only crop pixels [48, 80) of the 128 search crop
    pair = make_pair(box=(0.0, 0.0, 10.0, 10.0), size=(10, 10))
    kwargs = dict(**TINY, **NO_JITTER, augment=False)
    assert TrackingProcessing(feat_stride=16, **kwargs)(pair, np.random.default_rng(0)) is not None
    assert TrackingProcessing(feat_stride=64, **kwargs)(pair, np.random.default_rng(0)) is None


def test_target_outside_crop_and_tiny_crop_are_rejected():
    far = TrackingProcessing(**TINY, center_jitter={"template": 0, "search": 40})
    assert any(far(make_pair(), np.random.default_rng(s)) is None for s in range(10))
    tiny_box = make_pair(box=(5.0, 5.0, 0.1, 0.1))
    assert TrackingProcessing(**TINY)(tiny_box, np.random.default_rng(0)) is None   # side 0.4 px < 1 px


@pytest.mark.parametrize("bad", [(1.0, 2.0, 0.0, 5.0), (float("nan"), 2.0, 3.0, 5.0)])
def test_invalid_boxes_never_reach_processing(bad):
    pair = make_pair()
    pair["search_anno"] = [torch.tensor(bad)]
    with pytest.raises(ValueError, match="search box 0"):
        TrackingProcessing(**TINY)(pair, np.random.default_rng(0))
