"""The crops a tracker's network sees on a real sequence, for tools that study the network on real frames
(``tracking/profile_model.py --frames``, ``tracking/halting_map.py``): the template cropped from frame 0 around
its box, and the search regions of the next frames around their ground-truth boxes (the path a perfect tracker
takes), cropped as ``lib.test.tracker.ostrack`` crops them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.utils.crop import sample_target
from lib.utils.image import imread_rgb


@dataclass
class SequenceCrops:
    template: np.ndarray        # (H, W, 3) uint8 RGB
    searches: list[np.ndarray]  # one per frame
    frame_numbers: list[int]    # 0-based frame index of each search crop
    sentence: str | None
    source: str                 # 'dataset/name frames 0 and a..b', for reports


def sequence_crops(test_cfg, dataset: str, sequence: str | None, count: int) -> SequenceCrops:
    """Crops of ``sequence`` (default: the first) of test benchmark ``dataset`` (a name of
    ``lib.test.evaluation.datasets``, or ``vot:FOLDER``) at the sizes of ``test_cfg`` (a config's TEST): the template,
    and the search regions of the next ``count`` frames with a visible target."""
    from lib.test.evaluation.datasets import get_dataset, select_by_name
    sequences = get_dataset(dataset)
    seq = select_by_name(sequences, [sequence])[0] if sequence else sequences[0]
    if not seq.visible[0]:
        raise ValueError(f"{dataset}/{seq.name}: no box in the first frame ({seq.ground_truth_file})")
    later = [i for i in range(1, len(seq.frames)) if seq.visible[i]][:count]
    if not later:
        raise ValueError(f"{dataset}/{seq.name}: no later frame with a visible target ({seq.ground_truth_file})")

    def crop(index: int, factor: float, size: int) -> np.ndarray:
        return sample_target(imread_rgb(seq.frames[index]), seq.ground_truth[index], factor, size)[0]

    return SequenceCrops(template=crop(0, test_cfg.TEMPLATE_FACTOR, test_cfg.TEMPLATE_SIZE),
                         searches=[crop(i, test_cfg.SEARCH_FACTOR, test_cfg.SEARCH_SIZE) for i in later],
                         frame_numbers=later, sentence=seq.language,
                         source=f"{seq.dataset}/{seq.name} frames 0 and {later[0]}..{later[-1]}")
