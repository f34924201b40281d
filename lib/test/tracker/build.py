"""Build a test-time tracker from (tracker family, config name) and a trained checkpoint."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import torch

from lib.config import load_config
from lib.families import family_names, load_part
from lib.config.merge import experiment_yaml
from lib.models import build_network
from lib.models.avltrack import has_halting
from lib.paths import output_root
from lib.train.run_training import config_name_of
from lib.train.trainers.checkpoint import CheckpointError, checkpoint_path, load_checkpoint
from lib.train.trainers.logging import RunDirs
from lib.utils.io import file_digest
from lib.utils.torch_files import weights_mismatch

BACKENDS = ("pytorch", "onnxruntime")  # what runs a tracker's network each frame


def default_checkpoint(tracker: str, param: str, epoch: int) -> Path:
    """Where ``tracking/train.py`` left epoch ``epoch`` (TEST.EPOCH) of this config under the output root."""
    return checkpoint_path(RunDirs.for_run(output_root(), tracker, config_name_of(param)).checkpoint_dir, epoch)


def _baselines() -> dict:
    from lib.test.tracker.baselines import BASELINES
    return BASELINES


def tracker_names() -> list[str]:
    return family_names() + sorted(_baselines())


def resolve_checkpoint(tracker: str, param: str, checkpoint: str | None = None) -> Path | None:
    """The checkpoint a trained tracker will load (None for the untrained baselines); a clear error if missing."""
    if tracker in _baselines():
        return None
    if tracker not in family_names():
        raise KeyError(f"unknown tracker {tracker!r}; known: {', '.join(tracker_names())}")
    if checkpoint:
        path = Path(checkpoint)
    else:
        path = default_checkpoint(tracker, param, load_config(tracker, param).TEST.EPOCH)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}; train it with 'python tracking/train.py --script "
                                f"{tracker} --config {param}', or pass --checkpoint PATH")
    return path


class TrackerBuildError(ValueError):
    """A checkpoint that does not load into a config's network; the message names both."""


def load_tracker_weights(net: torch.nn.Module, path: Path, tracker: str, param: str) -> None:
    """Strictly load a training checkpoint's weights into ``net``; a ``TrackerBuildError`` names the checkpoint,
    the config and what does not fit (never a wall of load_state_dict text)."""
    def error(reason) -> TrackerBuildError:
        return TrackerBuildError(f"cannot build {tracker}/{param} ({experiment_yaml(tracker, param)}): {reason}")
    try:
        weights = load_checkpoint(path).get("net")
    except CheckpointError as err:
        raise error(err) from None
    if not isinstance(weights, Mapping):
        raise error(f"checkpoint {path} holds no network weights ('net')")
    mismatch = weights_mismatch(net, weights)
    if mismatch:
        raise error(f"checkpoint {path} does not fit this config: {mismatch}")
    try:
        net.load_state_dict(weights)
    except ValueError as err:  # a module's own check, e.g. a checkpoint made with another text encoder
        raise error(f"checkpoint {path}: {err}") from None


def test_config(tracker: str, param: str, halting: bool | None = None):
    """The config a trained tracker is tested with: the yaml's, with ``halting`` (``tracking/test.py --halting``)
    in place of ``TEST.HALTING``; a model without token halting refuses it."""
    if tracker not in _baselines() and tracker not in family_names():
        raise KeyError(f"unknown tracker {tracker!r}; known: {', '.join(tracker_names())}")
    cfg = load_config(tracker, param) if tracker not in _baselines() else None
    if halting is not None:
        if cfg is None or not has_halting(cfg):
            why = "a baseline" if cfg is None else f"MODEL.HALTING.ENABLED false in {experiment_yaml(tracker, param)}"
            raise ValueError(f"--halting {'on' if halting else 'off'}: {tracker}/{param} has no token halting "
                             f"({why}); only AVLTrack configs with MODEL.HALTING.ENABLED true take --halting")
        cfg.TEST.HALTING = bool(halting)
    return cfg


def test_halting(tracker: str, param: str, halting: bool | None = None) -> bool | None:
    """Whether the tracker's tokens halt at test time: ``halting`` or the config's TEST.HALTING; None for a model
    without token halting (and a usage error if ``halting`` is given for one)."""
    cfg = test_config(tracker, param, halting)
    return bool(cfg.TEST.HALTING) if cfg is not None and has_halting(cfg) else None


def build_tracker(tracker: str, param: str, checkpoint: str | None = None, device: str = "cpu",
                  halting: bool | None = None, enhancer: str | None = None, backend: str = "pytorch",
                  onnx: str | None = None):
    """A ready tracker: a trained one (config + checkpoint, default epoch TEST.EPOCH) or a baseline by name;
    ``halting`` overrides TEST.HALTING (models with token halting only); ``enhancer`` (DarkLighter weights) puts a
    low-light enhancer in front of the network, as MLKD's teacher sees the night; ``backend`` 'onnxruntime' runs
    each frame's network from the ONNX file ``onnx`` (default: exported next to the checkpoint, ``lib/deploy``)."""
    cfg = test_config(tracker, param, halting)
    check_backend(tracker, backend, onnx)
    if tracker in _baselines():
        if enhancer:
            raise ValueError(f"--enhancer: {tracker} is a baseline without a network; only trained trackers take it")
        return _baselines()[tracker](device=device)
    path = resolve_checkpoint(tracker, param, checkpoint)
    net = build_network(cfg, load_pretrained=False)
    load_tracker_weights(net, path, tracker, param)
    built = load_part(tracker, "tracker")(net, cfg, device)
    if enhancer:
        from lib.models.enhancer import FrozenEnhancer
        built.use_enhancer(FrozenEnhancer.from_file(enhancer))
    if backend == "onnxruntime":
        from lib.deploy.onnx_backend import attach_onnx_backend  # onnx and onnxruntime load only here
        attach_onnx_backend(built, tracker, cfg, path, onnx)
    return built


def check_backend(tracker: str, backend: str, onnx: str | None) -> None:
    """A usage error for an unknown backend, an ONNX file without onnxruntime, or a baseline under onnxruntime."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    if onnx and backend != "onnxruntime":
        raise ValueError("--onnx FILE is read by the onnxruntime backend only: add --backend onnxruntime")
    if backend != "pytorch" and tracker in _baselines():
        raise ValueError(f"--backend {backend}: {tracker} is a baseline without a network; only trained trackers "
                         f"export")


def tracker_identity(tracker: str, param: str, checkpoint: str | Path | None, language: str = "given",
                     halting: bool | None = None, enhancer: str | Path | None = None, backend: str = "pytorch"
                     ) -> dict:
    """What determines a tracker's results: the weights (by content), the test-time settings (``TEST``, with
    ``halting`` applied; TEST.HALTING only for models that halt, so other models' run.json files stay valid),
    which sentences it was given, which enhancer saw its crops (``lib.test.evaluation.variants``) and which backend
    ran its network (recorded only when not PyTorch, so earlier run.json files stay valid)."""
    cfg = test_config(tracker, param, halting)
    if cfg is None:
        return {"tracker": tracker, "language": language}
    settings = dict(cfg.TEST)
    if not has_halting(cfg):
        settings.pop("HALTING", None)
    identity = {"tracker": tracker, "checkpoint_blake2b": file_digest(checkpoint), "test_settings": settings,
                "language": language}
    if enhancer:  # only then: the run.json files of runs without one stay valid
        from lib.models.backbones.pretrained import resolve_pretrained_path
        identity["enhancer_blake2b"] = file_digest(resolve_pretrained_path(enhancer))
    if backend != "pytorch":
        identity["backend"] = backend
    return identity
