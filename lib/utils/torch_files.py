"""Reading a user's torch file safely: ``torch.load(weights_only=True)`` with an error that names the file and says
what is wrong with it (empty, not a torch file at all, truncated, or holding objects that are not weights).

torch's own messages for these cases name no file (a zero-byte file gives an empty message) and advise
``weights_only=False``, i.e. running code from the file; ours never do.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Iterable, Mapping

import torch

ZIP_MAGIC = b"PK\x03\x04"                       # torch.save's format since torch 1.6
LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"  # older format: a pickle of torch's magic number
_GLOBAL_RE = re.compile(r"GLOBAL ([\w.]+)")


class NotATorchFileError(ValueError):
    """A file that should hold torch weights cannot be loaded as such; the message names it and says why."""


def _describe_start(head: bytes) -> str:
    text = head.decode("utf-8", errors="ignore")  # (a character cut at the end is dropped)
    if len(text) >= len(head) // 2 and all(c.isprintable() or c.isspace() for c in text):
        return f"the text {' '.join(text.split())[:40]!r} (a web page or error message from a failed download?)"
    return f"the bytes {head[:12]!r}"


def load_weights_file(path: str | os.PathLike, map_location: str | torch.device = "cpu",
                      allowed_globals: Iterable[type] = (), kind: str = "checkpoint"):
    """``torch.load(path, weights_only=True)`` (no code runs from the file); ``allowed_globals`` are extra classes
    the file may hold (e.g. ``argparse.Namespace`` in MAE / DeiT releases). Raises ``NotATorchFileError`` saying
    the file is not a ``kind``."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(64)
    if not head:
        raise NotATorchFileError(f"{path} is not a {kind}: it is empty (0 bytes; an interrupted download or "
                                 f"copy?)")
    if not head.startswith((ZIP_MAGIC, LEGACY_MAGIC)):
        raise NotATorchFileError(f"{path} is not a {kind}: torch files are zip archives, this one starts with "
                                 f"{_describe_start(head)}")
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # torch's text advises weights_only=False: never pass it on
        found = _GLOBAL_RE.search(str(err))
        what = f"objects of class {found.group(1)}" if found else "Python objects"
        raise NotATorchFileError(f"{path} is not a {kind} that loads without running code from it: it holds "
                                 f"{what}, not only tensors and plain containers; load it where it was made and "
                                 f"save its state dict with torch.save(model.state_dict(), path)") from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        reason = str(err).split(". ")[0] or type(err).__name__
        raise NotATorchFileError(f"{path} is not a readable {kind}: a truncated or corrupt torch file ({reason})"
                                 ) from None


def _some(names: list[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (f", ... ({len(names)} in all)" if len(names) > shown else "")


def weights_mismatch(net: torch.nn.Module, weights: Mapping) -> str:
    """What keeps ``weights`` from loading strictly into ``net`` ('' if nothing): a few names of each kind."""
    own = net.state_dict()
    common = [k for k in own if k in weights]
    kinds = {
        "missing weights": [k for k in own if k not in weights],
        "unexpected weights": [k for k in weights if k not in own],
        # ``*._extra_state``: a module's own plain data (e.g. the identity of a frozen text encoder), not a tensor
        "not tensors": [k for k in common
                        if not isinstance(weights[k], torch.Tensor) and not k.endswith("._extra_state")],
        "shapes (checkpoint vs config)": [f"{k} {list(weights[k].shape)} vs {list(own[k].shape)}" for k in common
                                          if isinstance(weights[k], torch.Tensor) and weights[k].shape != own[k].shape],
    }
    return "; ".join(f"{kind}: {_some(names)}" for kind, names in kinds.items() if names)
