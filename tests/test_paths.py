from pathlib import Path

import pytest

from lib import paths


@pytest.fixture
def clean_env(monkeypatch):
    for var in list(paths.os.environ):
        if var.startswith("TRACKING_"):
            monkeypatch.delenv(var)
    return monkeypatch


def test_defaults_live_in_the_project(clean_env):
    assert paths.data_root() == paths.PROJECT_ROOT / "data"
    assert paths.output_root() == paths.PROJECT_ROOT / "output"
    assert paths.dataset_root("DTB70-NLP", must_exist=False) == paths.PROJECT_ROOT / "data" / "DTB70-NLP"


def test_env_then_cli_precedence(clean_env, tmp_path):
    clean_env.setenv("TRACKING_DATA_ROOT", str(tmp_path / "env"))
    assert paths.data_root() == tmp_path / "env"
    paths.apply_cli_roots(str(tmp_path / "cli"), str(tmp_path / "out"))
    assert paths.data_root() == (tmp_path / "cli").resolve()
    assert paths.output_root() == (tmp_path / "out").resolve()


def test_per_dataset_override_by_key(clean_env, tmp_path):
    clean_env.setenv("TRACKING_DATA_DTB70_NLP", str(tmp_path))
    assert paths.env_var("DTB70-NLP") == "TRACKING_DATA_DTB70_NLP"
    assert paths.dataset_root("dtb70_nlp") == tmp_path
    assert paths.env_var("VisDrone2019-SOT-test-dev") == "TRACKING_DATA_VISDRONE2019_SOT_TEST_DEV"
    assert paths.env_var("WebUAV-3M") == "TRACKING_DATA_WEBUAV_3M"


def test_missing_root_error_is_actionable(clean_env, tmp_path):
    clean_env.setenv("TRACKING_DATA_ROOT", str(tmp_path))
    with pytest.raises(paths.DatasetNotFoundError) as err:
        paths.dataset_root("UAVDark135")
    msg = str(err.value)
    assert "UAVDark135" in msg and str(tmp_path / "UAVDark135") in msg
    assert "TRACKING_DATA_UAVDARK135" in msg and "data_seq" in msg


def test_every_issue_dataset_is_known():
    keys = {"got10k", "lasot", "trackingnet", "coco", "refcocog", "tnl2k", "webuav_3m", "otb99_lang", "nat2021",
            "darktrack2021", "uavdark135", "dtb70", "dtb70_nlp", "uav123", "uav123_10fps", "uav20l", "uav20l_nlp",
            "uavdt", "uavdt_nlp", "visdrone2019_sot_test_dev", "visdrone_nlp", "synth_uav"}
    assert {paths.dataset_key(f) for f in paths.DATASET_LAYOUTS} == keys


def test_unknown_dataset_lists_known():
    with pytest.raises(KeyError, match="UAV123"):
        paths.dataset_root("nope")
