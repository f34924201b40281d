"""The DarkTrack2021 validation hold-out (lib/utils/holdout.py): the training side and the test side see the same
split, disjoint and covering every sequence, so MLKD-Track can be chosen without a test set."""
from __future__ import annotations

import pytest
from conftest import make_data_seq

from lib.test.evaluation.datasets import get_dataset
from lib.train.dataset import build_dataset
from lib.utils.holdout import holdout_part


def test_every_tenth_sorted_name_is_held_out():
    names = [f"seq{k:02d}" for k in range(25, 0, -1)]
    assert holdout_part(names, "val") == ["seq10", "seq20"]
    assert sorted(holdout_part(names, "train") + holdout_part(names, "val")) == holdout_part(names, "all")
    with pytest.raises(ValueError, match="'test'"):
        holdout_part(names, "test")


def test_training_and_test_sides_agree_on_darktrack2021(tmp_path, monkeypatch):
    names = [f"night{k:03d}" for k in range(23)]
    make_data_seq(tmp_path / "DarkTrack2021", names=names, n=2)
    monkeypatch.setenv("TRACKING_DATA_ROOT", str(tmp_path))
    train = build_dataset("DARKTRACK2021_train")
    val = build_dataset("DARKTRACK2021_val")
    train_names = {train.get_sequence_name(i) for i in range(train.get_num_sequences())}
    val_names = {val.get_sequence_name(i) for i in range(val.get_num_sequences())}
    assert val_names == {"night009", "night019"} and not train_names & val_names
    assert len(train_names) + len(val_names) == build_dataset("DARKTRACK2021").get_num_sequences() == 23
    assert {seq.name for seq in get_dataset("darktrack2021_val")} == val_names
