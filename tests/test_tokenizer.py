import pickle
import shutil

import pytest
import torch

from lib.models.language import TextTokenizer, default_vocab_dir


@pytest.fixture(scope="module")
def tokenizer():
    return TextTokenizer(max_len=12)


def test_known_ids_for_a_short_sentence(tokenizer):
    out = tokenizer("The car left of the truck")
    expected = [101, 1996, 2482, 2187, 1997, 1996, 4744, 102]   # bert-base-uncased WordPiece ids
    assert out["ids"].dtype == torch.long and out["mask"].dtype == torch.long
    assert out["ids"].tolist() == expected + [0] * 4
    assert out["mask"].tolist() == [1] * 8 + [0] * 4
    assert out["valid"] is True


def test_long_sentence_is_truncated_with_sep_last(tokenizer):
    out = tokenizer(" ".join(["vehicle"] * 200))
    assert out["ids"].shape == (12,) and out["ids"][0] == 101 and out["ids"][-1] == 102
    assert out["mask"].sum() == 12 and out["valid"]


@pytest.mark.parametrize("sentence", [None, "", "   \n\t"])
def test_missing_sentence_gives_cls_sep_and_invalid(tokenizer, sentence):
    out = tokenizer(sentence)
    assert out["valid"] is False
    assert int(out["mask"].sum()) == 2
    assert out["ids"][:3].tolist() == [101, 102, 0]


def test_batch_matches_single(tokenizer):
    sentences = ["a white car", None, "the leftmost boat"]
    batch = tokenizer.batch(sentences)
    assert batch["ids"].shape == (3, 12) and batch["valid"].tolist() == [True, False, True]
    for i, sentence in enumerate(sentences):
        assert torch.equal(batch["ids"][i], tokenizer(sentence)["ids"])


def test_pickles_small_and_works_after(tokenizer):
    tokenizer("warm up the lazy load")
    data = pickle.dumps(tokenizer)
    assert len(data) < 2000                      # the HF tokenizer itself is not shipped to workers
    assert torch.equal(pickle.loads(data)("a red car")["ids"], tokenizer("a red car")["ids"])


def test_user_vocab_folder_and_missing_folder(tmp_path):
    shutil.copy(default_vocab_dir() / "vocab.txt", tmp_path / "vocab.txt")   # a bert-base-uncased style folder
    assert TextTokenizer(max_len=8, vocab_dir=tmp_path)("a person")["ids"].tolist()[:4] == [101, 1037, 2711, 102]
    missing = tmp_path / "no_such_bert"
    with pytest.raises(FileNotFoundError, match="no_such_bert"):
        TextTokenizer(vocab_dir=missing)
