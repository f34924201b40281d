import math

import pytest
import torch

from lib.models.heads import CenterHead, boxes_at_cells, decode_boxes


@pytest.mark.parametrize("in_channels,channels,side", [(64, 32, 8), (192, 64, 16), (128, 256, 5)])
def test_head_shapes_and_prior(in_channels, channels, side):
    head = CenterHead(in_channels, channels).eval()
    out = head(torch.randn(2, in_channels, side, side))
    assert out["score_logits"].shape == (2, 1, side, side)
    assert out["size_map"].shape == out["offset_map"].shape == (2, 2, side, side)
    assert ((out["size_map"] > 0) & (out["size_map"] < 1)).all()
    assert head.score[-1].bias.item() == pytest.approx(math.log(0.1 / 0.9))


def test_head_rejects_bad_width():
    with pytest.raises(ValueError, match="multiple of 8"):
        CenterHead(64, 30)


def test_decode_reads_the_argmax_cell():
    side = 4
    score = torch.zeros(1, 1, side, side)
    score[0, 0, 2, 3] = 5.0                                    # row 2, column 3
    size = torch.zeros(1, 2, side, side)
    size[0, :, 2, 3] = torch.tensor([0.25, 0.5])
    offset = torch.zeros(1, 2, side, side)
    offset[0, :, 2, 3] = torch.tensor([0.5, 0.25])
    box = decode_boxes(score, size, offset)
    assert torch.allclose(box, torch.tensor([[(3 + 0.5) / 4, (2 + 0.25) / 4, 0.25, 0.5]]))
    assert torch.equal(boxes_at_cells(size, offset, torch.tensor([2 * side + 3])), box)
