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


# -- value types ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("train", [{"EPOCH": 1.5}, {"BATCH_SIZE": 16.5}, {"EPOCH": True}, {"EPOCH": "3"},
                                   {"EPOCH": None}])
def test_int_key_refuses_non_integers(tmp_path, train):
    path = write_yaml(tmp_path / "bad.yaml", {"TRAIN": train})
    key = next(iter(train))
    with pytest.raises(ConfigError) as err:
        load_config("ostrack", str(path))
    assert f"TRAIN.{key}" in str(err.value) and "bad.yaml" in str(err.value) and "int" in str(err.value)


def test_integral_float_is_accepted_as_int(tmp_path):
    """yaml writes 6.0e+4 as a float: a whole number is taken as the int it is."""
    path = write_yaml(tmp_path / "x.yaml", {"TRAIN": {"EPOCH": 2.0}, "DATA": {"TRAIN": {"SAMPLE_PER_EPOCH": 6.0e4}}})
    cfg = load_config("ostrack", str(path))
    assert cfg.TRAIN.EPOCH == 2 and type(cfg.TRAIN.EPOCH) is int
    assert cfg.DATA.TRAIN.SAMPLE_PER_EPOCH == 60000 and type(cfg.DATA.TRAIN.SAMPLE_PER_EPOCH) is int


@pytest.mark.parametrize("data, key", [
    ({"DATA": {"TRAIN": {"DATASETS_RATIO": ["one"]}}}, "DATA.TRAIN.DATASETS_RATIO"),
    ({"DATA": {"TRAIN": {"DATASETS_NAME": [3]}}}, "DATA.TRAIN.DATASETS_NAME"),
    ({"MODEL": {"BACKBONE": {"CE_LOC": [3, 6.5]}}}, "MODEL.BACKBONE.CE_LOC"),        # empty default: declared int
    ({"MODEL": {"BACKBONE": {"CE_KEEP_RATIO": ["0.7"]}}}, "MODEL.BACKBONE.CE_KEEP_RATIO"),
    ({"TRAIN": {"CHECKPOINT_MILESTONES": [[1]]}}, "TRAIN.CHECKPOINT_MILESTONES"),
    ({"DATA": {"TRAIN": {"DATASETS_RATIO": 1}}}, "DATA.TRAIN.DATASETS_RATIO"),     # a scalar where a list goes
])
def test_list_elements_are_checked(tmp_path, data, key):
    path = write_yaml(tmp_path / "bad.yaml", data)
    with pytest.raises(ConfigError) as err:
        load_config("ostrack", str(path))
    assert key in str(err.value) and "bad.yaml" in str(err.value)


def test_list_elements_are_promoted_like_scalars(tmp_path):
    path = write_yaml(tmp_path / "x.yaml", {"DATA": {"TRAIN": {"DATASETS_NAME": ["LASOT", "COCO17"],
                                                              "DATASETS_RATIO": [2, 0.5]}},
                                           "MODEL": {"BACKBONE": {"CE_LOC": [3], "CE_KEEP_RATIO": [1]}}})
    cfg = load_config("ostrack", str(path))
    assert cfg.DATA.TRAIN.DATASETS_RATIO == [2.0, 0.5] and all(type(v) is float for v in cfg.DATA.TRAIN.DATASETS_RATIO)
    assert cfg.MODEL.BACKBONE.CE_KEEP_RATIO == [1.0] and type(cfg.MODEL.BACKBONE.CE_KEEP_RATIO[0]) is float


@pytest.mark.parametrize("family", ["ostrack", "avltrack"])
def test_every_empty_list_default_declares_its_element_type(family):
    import importlib

    from lib.config.merge import flatten
    config = importlib.import_module(f"lib.config.{family}.config")
    empty = {key for key, value in flatten(config.DEFAULTS).items() if value == []}
    assert empty and empty <= set(config.LIST_ELEMENT_TYPES)


def test_mixed_list_default_accepts_any_of_its_element_types():
    from lib.config.merge import _merge
    from easydict import EasyDict
    cfg = EasyDict({"MIXED": [1, "auto"], "NUMBERS": [1, 0.5]})
    _merge(cfg, {"MIXED": ["auto", 3, 4.0], "NUMBERS": [2]}, "x.yaml")
    assert cfg.MIXED == ["auto", 3, 4] and cfg.NUMBERS == [2.0] and type(cfg.NUMBERS[0]) is float
    with pytest.raises(ConfigError, match=r"MIXED\[0\]"):
        _merge(cfg, {"MIXED": [True]}, "x.yaml")


@pytest.mark.parametrize("part", ["TRAIN", "VAL"])
def test_unknown_dataset_name_names_file_key_and_valid_names(tmp_path, part):
    path = write_yaml(tmp_path / "bad.yaml", {"DATA": {part: {"DATASETS_NAME": ["SYNTH_UAV_tran"],
                                                             "DATASETS_RATIO": [1]}}})
    with pytest.raises(ConfigError) as err:
        load_config("ostrack", str(path))
    msg = str(err.value)
    assert "bad.yaml" in msg and f"DATA.{part}.DATASETS_NAME" in msg and "SYNTH_UAV_tran" in msg
    assert "SYNTH_UAV_train" in msg and "GOT10K_train" in msg


def test_dataset_names_and_ratios_must_pair_up(tmp_path):
    path = write_yaml(tmp_path / "bad.yaml", {"DATA": {"TRAIN": {"DATASETS_NAME": ["LASOT", "COCO17"],
                                                                "DATASETS_RATIO": [1]}}})
    with pytest.raises(ConfigError, match=r"bad\.yaml.*DATA\.TRAIN.*2 .*DATASETS_NAME.*1 .*DATASETS_RATIO"):
        load_config("ostrack", str(path))


def test_experiment_configs_load():
    for name in ("synth_tiny", "vitb_256_mae_ce_32x4_ep300"):
        load_config("ostrack", name)
