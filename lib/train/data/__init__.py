from lib.train.data.loader import EpochIndexSampler, build_loader, worker_init_fn
from lib.train.data.processing import TrackingProcessing
from lib.train.data.sampler import TrackingSampler
from lib.train.data.transforms import (IMAGENET_MEAN, IMAGENET_STD, PairAugmentation, PairRoll, flip_box,
                                       flip_horizontal, normalize_image, swap_left_right, to_grayscale)

__all__ = ["EpochIndexSampler", "build_loader", "worker_init_fn", "TrackingProcessing", "TrackingSampler",
           "IMAGENET_MEAN", "IMAGENET_STD", "PairAugmentation", "PairRoll", "flip_box", "flip_horizontal",
           "normalize_image", "swap_left_right", "to_grayscale"]
