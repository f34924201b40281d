"""The onnxruntime backend of the test-time trackers: the exported per-frame network, called as the PyTorch one is.

``attach_onnx_backend`` gives a built tracker (``lib/test/tracker``) an ``OnnxNetwork`` in place of its PyTorch
forward: same crops, window and box decoding, only the network runs in onnxruntime. The file is the one given
(refused when missing or exported from other weights or settings) or, by default, ``<checkpoint stem>[-halting_off]
.onnx`` next to the checkpoint, exported on the fly when missing or stale (it is derived from the checkpoint, so
re-exporting loses nothing).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lib.deploy.frame_network import OUTPUT_NAMES, FrameNetwork
from lib.deploy.onnx_export import OnnxFileError, check_onnx_file, export_frame_network
from lib.models.avltrack import EncodedText, has_halting
from lib.utils.io import file_digest


def network_record(tracker: str, cfg, checkpoint: str | Path) -> dict:
    """What an exported frame network depends on: the family, the checkpoint (by content) and the test-time
    settings that change the graph."""
    test = cfg.TEST
    return {"tracker": tracker, "checkpoint_blake2b": file_digest(checkpoint),
            "template_size": int(test.TEMPLATE_SIZE), "search_size": int(test.SEARCH_SIZE),
            "halting": bool(test.HALTING) if has_halting(cfg) else None,
            "student": int(test.STUDENT) if "STUDENT" in test else None}


def default_onnx_path(checkpoint: str | Path, record: dict) -> Path:
    checkpoint = Path(checkpoint)
    tag = "-halting_off" if record["halting"] is False else ""
    tag += f"-student{record['student']}" if record["student"] is not None else ""
    return checkpoint.with_name(f"{checkpoint.stem}{tag}.onnx")


class OnnxNetwork:
    """An exported frame network in an onnxruntime session; ``net(template, search, text=None)`` returns the maps
    as the PyTorch network's forward does (torch tensors on ``device``)."""

    def __init__(self, path: str | Path, threads: int | None = None, device: str | torch.device = "cpu"):
        import onnxruntime  # only this backend needs it
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.device = torch.device(device)

    def __call__(self, template: Tensor, search: Tensor, text: EncodedText | None = None) -> dict:
        values = [template, search]
        if len(self.input_names) > 2:  # a language tracker's graph
            if text is None:
                raise ValueError(f"{self.path} reads a sentence: pass the encoded text")
            values += [text.tokens, text.mask, text.valid]
        feeds = {name: np.ascontiguousarray(v.detach().cpu().numpy()) for name, v in zip(self.input_names, values)}
        outputs = self.session.run(list(OUTPUT_NAMES), feeds)
        return {name: torch.from_numpy(value).to(self.device) for name, value in zip(OUTPUT_NAMES, outputs)}


@torch.inference_mode()
def map_differences(frame_net: FrameNetwork, runner: OnnxNetwork, frames, text: EncodedText | None = None
                    ) -> dict[str, float]:
    """{map name: largest absolute difference} between PyTorch (``frame_net``) and ``runner`` over ``frames``, a list
    of (template, search) crops, with an encoded sentence for a language tracker."""
    worst = dict.fromkeys(OUTPUT_NAMES, 0.0)
    for template, search in frames:
        expected = dict(zip(OUTPUT_NAMES, frame_net(*frame_net.inputs(template, search, text))))
        got = runner(template, search, text)
        for name in OUTPUT_NAMES:
            worst[name] = max(worst[name], float((got[name] - expected[name]).abs().max()))
    return worst


def ensure_exported(built, record: dict, onnx: str | Path | None, checkpoint: str | Path, max_text_len=None) -> Path:
    """The ONNX file of a built tracker: ``onnx`` if its record matches, else an error; without ``onnx``, the
    default file next to the checkpoint, exported first when missing or stale."""
    if onnx is not None:
        check_onnx_file(onnx, record)
        return Path(onnx)
    path = default_onnx_path(checkpoint, record)
    try:
        check_onnx_file(path, record)
        return path
    except OnnxFileError as err:
        reason = "missing" if not path.is_file() else f"stale ({err})"
    print(f"exporting the frame network to {path} ({reason})", file=sys.stderr)
    frame_net = FrameNetwork(built.net)
    try:
        export_frame_network(frame_net, frame_net.example_inputs(built.test, max_text_len), path, record)
    except OSError as err:  # e.g. a read-only folder of downloaded weights
        raise OnnxFileError(f"cannot write the ONNX file beside the checkpoint ({err}); export it elsewhere with "
                            f"'python tracking/export_onnx.py ... --out FILE' and pass --onnx FILE") from None
    return path


def attach_onnx_backend(built, tracker: str, cfg, checkpoint: str | Path, onnx: str | Path | None = None) -> Path:
    """Make a built tracker run its network in onnxruntime; returns the ONNX file used."""
    record = network_record(tracker, cfg, checkpoint)
    path = ensure_exported(built, record, onnx, checkpoint, cfg.DATA.get("MAX_TEXT_LEN"))
    built.use_network(OnnxNetwork(path, device=built.device))
    return path
