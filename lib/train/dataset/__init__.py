"""Training-side dataset readers; each reads a folder or an LMDB pack of it (``root=<pack>.lmdb``)."""
from lib.train.dataset.base_video_dataset import BaseVideoDataset, SequenceAnno
from lib.train.dataset.coco_seq import MSCOCOSeq
from lib.train.dataset.data_seq import NAT2021, DarkTrack2021, DataSeqDataset, UAVDark135
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.lasot import Lasot
from lib.train.dataset.otb99_lang import OTB99Lang
from lib.train.dataset.refcocog import RefCOCOg
from lib.train.dataset.registry import DATASETS, build_dataset, dataset_names
from lib.train.dataset.synth_uav import SynthUAV
from lib.train.dataset.tnl2k import TNL2k
from lib.train.dataset.trackingnet import TrackingNet
from lib.train.dataset.webuav import WebUAV3M, WebUAVLayoutDataset

__all__ = ["BaseVideoDataset", "SequenceAnno", "Got10k", "Lasot", "TrackingNet", "MSCOCOSeq", "RefCOCOg", "TNL2k",
           "WebUAV3M", "WebUAVLayoutDataset", "OTB99Lang", "DataSeqDataset", "NAT2021", "DarkTrack2021", "UAVDark135",
           "SynthUAV", "DATASETS", "build_dataset", "dataset_names"]
