import pytest
import yaml

from lib.config import ConfigError, load_config, merge_yaml, save_config
from lib.config.merge import experiment_yaml


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def test_yaml_overrides_defaults_and_leaves_other_keys(tmp_path):
    path = write_yaml(tmp_path / "x.yaml", {"DATA": {"SEARCH": {"SIZE": 128}}, "TRAIN": {"LR": 1}})
    cfg = load_config("ostrack", str(path))
    assert cfg.DATA.SEARCH.SIZE == 128
    assert cfg.TRAIN.LR == 1.0 and isinstance(cfg.TRAIN.LR, float)  # int promoted to the default's float
    assert cfg.DATA.SEARCH.FACTOR == 4.0


def test_unknown_key_names_key_file_and_valid_keys(tmp_path):
    path = write_yaml(tmp_path / "bad.yaml", {"DATA": {"SEARCH": {"SIZ": 128}}})
    with pytest.raises(ConfigError) as err:
        load_config("ostrack", str(path))
    msg = str(err.value)
    assert "DATA.SEARCH.SIZ" in msg and "bad.yaml" in msg and "CENTER_JITTER" in msg and "SIZE" in msg


def test_wrong_type_is_an_error(tmp_path):
    path = write_yaml(tmp_path / "bad.yaml", {"TRAIN": {"AMP": "yes"}})
    with pytest.raises(ConfigError, match="TRAIN.AMP"):
        load_config("ostrack", str(path))


def test_defaults_are_fresh_per_call(tmp_path):
    a = load_config("ostrack")
    a.DATA.SEARCH.SIZE = 1
    a.DATA.TRAIN.DATASETS_NAME.append("X")
    b = load_config("ostrack")
    assert b.DATA.SEARCH.SIZE == 256 and "X" not in b.DATA.TRAIN.DATASETS_NAME


def test_saved_config_round_trips(tmp_path):
    cfg = load_config("ostrack")
    cfg.DATA.SEARCH.SIZE = 192
    out = save_config(cfg, tmp_path / "run" / "config.yaml")
    again = merge_yaml(load_config("ostrack"), out)
    assert again == cfg
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_missing_experiment_lists_known_configs():
    with pytest.raises(FileNotFoundError, match="no_such_config"):
        experiment_yaml("ostrack", "no_such_config")


def test_unknown_family():
    with pytest.raises(ConfigError, match="nofamily"):
        load_config("nofamily")
