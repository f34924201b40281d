"""A tracker's per-frame network (``frame_network.FrameNetwork``) exported as ONNX, and the checks on such a file.

The file records what it was made from (``metadata_props``): the checkpoint's digest and the network settings that
change the graph (crop sizes, halting, the student of an MLKD checkpoint). ``check_onnx_file`` refuses a file whose
record does not match the checkpoint and settings about to be used, so a stale export never runs silently.
"""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch

from lib.deploy.frame_network import OUTPUT_NAMES, FrameNetwork
from lib.models.layers.linear import packed_linear
from lib.utils.io import atomic_path

OPSET = 18
RECORD_KEY = "tracker_record"  # metadata_props key holding the JSON record


class OnnxFileError(ValueError):
    """A missing, unreadable or stale ONNX file; the message names the file and what to do."""


def export_frame_network(frame_net: FrameNetwork, inputs: tuple, path: str | Path, record: dict) -> Path:
    """Export ``frame_net`` traced on ``inputs`` to ``path`` (written atomically), with ``record`` and the opset in its
    metadata, and check it with ``onnx.checker``. The text length is a dynamic axis ("words").

    The TorchScript-based exporter (``dynamo=False``), not torch.export: A-ViT's pruned path keeps a data-dependent
    number of tokens per block (``nonzero``), which the tracer turns into dynamic shapes the runtime follows, while
    torch.export stops at every shape test on such a count (SDPA's broadcasting checks, empty sequences)."""
    import onnx  # only deployment tools need it
    path = Path(path)
    dynamic_axes = {"text_tokens": {1: "words"}, "text_mask": {1: "words"}} if frame_net.reads_text else None
    buffer = io.BytesIO()
    # packed_linear(False): the MKL-packed Linear is an eager-only op
    with packed_linear(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings on shape reads (dynamic in the graph) and deprecation
        torch.onnx.export(frame_net.eval(), inputs, buffer, input_names=list(frame_net.input_names),
                          output_names=list(OUTPUT_NAMES), opset_version=OPSET, dynamo=False, dynamic_axes=dynamic_axes)
    model = onnx.load_model_from_string(buffer.getvalue())
    entry = model.metadata_props.add()
    entry.key = RECORD_KEY
    entry.value = json.dumps(dict(record, opset=OPSET, torch=torch.__version__.split("+")[0]), sort_keys=True)
    onnx.checker.check_model(model, full_check=True)
    with atomic_path(path) as tmp:
        onnx.save_model(model, str(tmp))
    return path


def read_record(path: str | Path) -> dict:
    """The record an exported file carries; an ``OnnxFileError`` for a missing file or one not made here."""
    import onnx
    path = Path(path)
    if not path.is_file():
        raise OnnxFileError(f"ONNX file not found: {path}; export one with 'python tracking/export_onnx.py TRACKER "
                            f"PARAM --out {path}', or leave --onnx out to export next to the checkpoint")
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as err:  # onnx raises DecodeError and others for a file that is not a model
        raise OnnxFileError(f"{path} is not a readable ONNX model: {err}") from None
    props = {p.key: p.value for p in model.metadata_props}
    if RECORD_KEY not in props:
        raise OnnxFileError(f"{path} carries no tracker record (metadata '{RECORD_KEY}'): it was not made by "
                            f"tracking/export_onnx.py; export it again")
    return json.loads(props[RECORD_KEY])


def check_onnx_file(path: str | Path, expected: dict) -> dict:
    """``path``'s record if it matches ``expected`` (every key of it); else an ``OnnxFileError`` naming each
    difference (e.g. exported from another checkpoint)."""
    record = read_record(path)
    differences = [f"{key}: file has {record.get(key)!r}, expected {value!r}" for key, value in expected.items()
                   if record.get(key) != value]
    if differences:
        raise OnnxFileError(f"stale ONNX file {path}: it was exported from other weights or settings "
                            f"({'; '.join(differences)}); export it again from this checkpoint")
    return record
