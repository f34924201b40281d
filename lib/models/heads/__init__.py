from lib.models.heads.center import CenterHead, boxes_at_cells, decode_boxes

__all__ = ["CenterHead", "boxes_at_cells", "decode_boxes"]
